"""Build the tokenizer and train the docsearch static zh/en embedding model.

    OMP_NUM_THREADS=1 python training/train_static_model.py --out src/docsearch/models/docsearch-static-zh-en

Everything is local and deterministic (fixed seeds, 1 CPU thread). Steps:
 1. Tokenizer (tokenizers.Tokenizer, no custom code):
    - normalizer: a sentencepiece-style precompiled char map = NFKC + lowercase + OpenCC t2s
      character table, so Traditional and Simplified text map to the same tokens;
    - pre-tokenizer: whitespace split, then isolate Han runs / latin words / digit runs / other chars;
    - model: WordPiece with an empty continuing prefix => greedy longest-match segmentation of Han
      runs over a vocabulary of CC-CEDICT headwords and jieba words of the training text,
      all Han characters seen, English words (CEDICT glosses, UN English), numbers, punctuation.
 2. Initial embeddings: IDF-scaled random vectors for Chinese/other tokens (a lexical TF-IDF
    random projection), English words initialised as the frequency-weighted mean of the vectors
    of the CC-CEDICT headwords they gloss (dictionary translation in embedding space).
 3. Contrastive training (symmetric in-batch-negatives / MNRL loss, sparse Adam) on pairs from:
    DRCD/CMRC dev questions -> paragraph (non-held-out articles only), CEDICT-translated
    "pseudo-English" questions/sentences -> paragraph, sentence -> rest of paragraph (train articles
    and seed corpus), CC-CEDICT gloss <-> headword, UN en <-> zh, PAWS-X zh paraphrases
    (label 1), with OpenCC script augmentation (s2twp / docsearch-normalized Simplified).
 4. Save as a plain sentence-transformers model: StaticEmbedding + Normalize, float16 weights.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (TRAIN, cc, cedict_entries, docsearch_normalize, is_held_out, load_squad_all,  # noqa: E402
                    read_jsonl, seed_paragraphs, split_sentences)

HAN_RX = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
WORD_RX = re.compile(r"[a-z]+")
EN_STOP = set("""a an the of to in on at for by with from and or as is are was were be been being it its this that these
those which who whom whose what when where why how do does did has have had not no can could will would shall should may
might must one ones sb sth etc e g i ie used also into than then there their they them he she his her we you your our
about up out so such all any some more most other very""".split())
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("。、《》「」『』“”‘’【】〈〉…—～·・￥")


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ----------------------------------------------------------------------------- tokenizer
def build_charsmap(workdir: Path) -> bytes:
    """NFKC + lowercase + OpenCC t2s (character table) as a sentencepiece precompiled char map."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    t2s = cc("t2s")
    rules = []
    for a, b in [(0x20, 0xD800), (0xE000, 0x10000), (0x20000, 0x2FA20)]:
        for cp in range(a, b):
            c = chr(cp)
            t = unicodedata.normalize("NFKC", c).lower()
            if any(0x3400 <= ord(x) <= 0x9FFF or 0xF900 <= ord(x) <= 0xFAFF or ord(x) >= 0x20000 for x in t):
                t = "".join(t2s.convert(x) for x in t)
            if t and t != c:
                rules.append((c, t))
    tsv = workdir / "norm_rules.tsv"
    with open(tsv, "w", encoding="utf-8") as f:
        for c, t in rules:
            f.write(" ".join("%X" % ord(x) for x in c) + "\t" + " ".join("%X" % ord(x) for x in t) + "\n")
    inp = workdir / "spm_dummy.txt"
    inp.write_text("hello world 你好 世界\n" * 50 + "abc def ghi\n" * 50, encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(inp), model_prefix=str(workdir / "spm_norm"), vocab_size=30,
                                   normalization_rule_tsv=str(tsv), hard_vocab_limit=False, minloglevel=2)
    m = pb.ModelProto()
    m.ParseFromString((workdir / "spm_norm.model").read_bytes())
    return m.normalizer_spec.precompiled_charsmap


def make_tokenizer(vocab: dict, charsmap: bytes):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="",
                                     max_input_chars_per_word=10000))
    tok.normalizer = normalizers.Precompiled(charsmap)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(r"[\p{Han}]+|[a-z]+|[0-9]+|[^\s]"), behavior="isolated"),
    ])
    return tok


# ----------------------------------------------------------------------------- data
def clean_def(d: str):
    d0 = d.strip()
    low = d0.lower()
    if (low.startswith(("variant of", "old variant", "see ", "cl:", "surname ", "abbr. for", "also written",
                        "used in ", "erhua variant", "japanese variant", "(old)", "archaic variant"))
            or "variant of" in low or not d0):
        return None
    d0 = re.sub(r"\([^)]*\)", " ", d0)
    d0 = re.sub(r"\[[^\]]*\]", " ", d0)
    d0 = re.sub(r"\b[a-z]+\d\b", " ", d0)  # pinyin
    d0 = re.sub(r"^\s*to\s+", "", d0)
    d0 = re.sub(r"\s+", " ", d0).strip(" ;,.")
    if not re.search(r"[A-Za-z]", d0) or re.search(r"[\u3400-\u9fff]", d0):
        return None
    return d0


def load_everything(rng: random.Random):
    import jieba

    jieba.setLogLevel(60)
    N = lambda s: docsearch_normalize(s)  # noqa: E731
    S2T = cc("s2twp")

    # --- SQuAD-style dev sets, non-held-out articles only
    paras = [p for p in load_squad_all() if not is_held_out(p["title"])]
    log(f"train paragraphs {len(paras)}, questions {sum(len(p['questions']) for p in paras)}")
    seeds = seed_paragraphs()
    un = read_jsonl(TRAIN / "un_parallel_dev_test_en_zh.jsonl")
    paws = read_jsonl(TRAIN / "pawsx_zh_dev_test.jsonl")
    ced = cedict_entries()
    return paras, seeds, un, paws, ced, N, S2T, jieba


def build(args):
    rng = random.Random(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    paras, seeds, un, paws, ced, N, S2T, jieba = load_everything(rng)

    charsmap = build_charsmap(work)
    from tokenizers import normalizers
    NORM = normalizers.Precompiled(charsmap)
    tnorm = NORM.normalize_str

    # ---------------- texts (docsearch-normalized Simplified)
    para_n = [N(p["context"]) for p in paras]
    seed_n = [N(t) for _, t in seeds]
    un_zh = [N(r["zh"]) for r in un]
    un_en = [r["en"] for r in un]
    paws_n = [(N(r["sentence1"]), N(r["sentence2"]), r["label"]) for r in paws]

    # ---------------- CEDICT
    ced_n = []  # (simplified_norm, traditional, [clean defs])
    for trad, simp, defs in ced:
        cd = [c for c in (clean_def(d) for d in defs) if c]
        ced_n.append((tnorm(simp), trad, cd))
    jieba_freq = {}
    jd = Path(jieba.__file__).parent / "dict.txt"
    for line in open(jd, encoding="utf-8"):
        w, f = line.split()[:2]
        w = tnorm(w)
        jieba_freq[w] = max(jieba_freq.get(w, 0), int(f))

    # ---------------- vocab
    zh_texts = para_n + seed_n + un_zh + [a for a, _, _ in paws_n] + [b for _, b, _ in paws_n]
    word_cnt = collections.Counter()
    for t in zh_texts:
        for w in jieba.lcut(tnorm(t)):
            if HAN_RX.match(w):
                word_cnt[w] += 1
    chars = set()
    for t in zh_texts:
        chars.update(c for c in tnorm(t) if HAN_RX.match(c))
    for s, _, _ in ced_n:
        chars.update(c for c in s if HAN_RX.match(c))
    for w in jieba_freq:
        chars.update(c for c in w if HAN_RX.match(c))
    cand = {}
    for w, c in word_cnt.items():
        if len(w) >= 2 and (c >= 2 or w in jieba_freq):
            cand[w] = 1e6 * c + jieba_freq.get(w, 0)
    for s, _, cd in ced_n:
        if 2 <= len(s) <= 4 and HAN_RX.match(s) and cd:
            cand[s] = max(cand.get(s, 0), jieba_freq.get(s, 0) + 5)
    for w, f in jieba_freq.items():
        if 2 <= len(w) <= 4 and HAN_RX.match(w) and f >= args.jieba_min_freq:
            cand[w] = max(cand.get(w, 0), f)
    zh_words = [w for w, _ in sorted(cand.items(), key=lambda x: (-x[1], x[0]))][: args.zh_words]
    en_cnt = collections.Counter()
    for _, _, cd in ced_n:
        for d in cd:
            en_cnt.update(WORD_RX.findall(d.lower()))
    for t in un_en:
        en_cnt.update(WORD_RX.findall(t.lower()))
    en_words = [w for w, c in en_cnt.most_common() if len(w) > 1][: args.en_words]
    vocab_list = ["[UNK]", "[PAD]"] + sorted(chars) + [str(i) for i in range(0, 2101)] + ["%02d" % i for i in range(10)]
    vocab_list += list("abcdefghijklmnopqrstuvwxyz") + PUNCT
    vocab_list += ["s", "es", "ed", "ing", "ly", "er", "ers", "ies", "ied", "tion", "tions", "al", "ment", "ness"]
    vocab_list += zh_words + en_words
    seen, vocab = set(), {}
    for w in vocab_list:
        w = tnorm(w) if w not in ("[UNK]", "[PAD]") else w
        if w and w not in seen and not w.isspace():
            seen.add(w)
            vocab[w] = len(vocab)
    log(f"vocab {len(vocab)} (chars {len(chars)}, zh words {len(zh_words)}, en words {len(en_words)})")
    tok = make_tokenizer(vocab, charsmap)
    V = len(vocab)

    def enc(texts):
        return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]

    # ---------------- pseudo-English translation via CEDICT
    zh2en = {}
    for s, _, cd in ced_n:
        if cd and s not in zh2en:
            zh2en[s] = [d for d in cd[:3] if len(d.split()) <= 4] or cd[:1]

    def pseudo_en(text, keep_zh=0.15):
        out = []
        for w in jieba.lcut(text):
            if w.strip() == "":
                continue
            if w in zh2en:
                c = zh2en[w]
                out.append(c[0] if (len(c) == 1 or rng.random() < 0.6) else rng.choice(c[1:]))
            elif re.match(r"^[0-9A-Za-z.%]+$", w):
                out.append(w)
            elif HAN_RX.match(w):
                if len(w) > 1 and all(ch in zh2en for ch in w) and rng.random() < 0.5:
                    out.append(" ".join(zh2en[ch][0] for ch in w))
                elif rng.random() < keep_zh:
                    out.append(w)
        return " ".join(out)

    def aug(t):  # script augmentation: docsearch Simplified or Taiwan Traditional
        return S2T.convert(t) if rng.random() < args.trad_p else t

    # ---------------- pairs: source -> list of (anchor, positive, key)
    src = collections.defaultdict(list)
    for pi, (p, pn) in enumerate(zip(paras, para_n)):
        for q in p["questions"]:
            qn = N(q)
            for r in range(args.qp_rep):
                src["qp"].append((aug(qn), aug(pn), ("p", pi)))
            for r in range(args.pseudo_rep):
                src["qp_en"].append((pseudo_en(qn), aug(pn), ("p", pi)))
        sents = split_sentences(pn)
        if len(sents) >= 2:
            for si, s in enumerate(sents):
                rest = "".join(sents[:si] + sents[si + 1:])
                src["sp"].append((aug(s), aug(rest), ("p", pi)))
                src["sp_en"].append((pseudo_en(s), aug(pn), ("p", pi)))
    for si, t in enumerate(seed_n):
        sents = split_sentences(t)
        if len(sents) >= 2:
            for k, s in enumerate(sents):
                rest = "".join(sents[:k] + sents[k + 1:])
                for r in range(2):
                    src["sp"].append((aug(s), aug(rest), ("s", si)))
                src["sp_en"].append((pseudo_en(s), aug(t), ("s", si)))
    for i, (e, z) in enumerate(zip(un_en, un_zh)):
        src["un"].append((e, aug(z), ("u", i)))
    for i, (a, b, l) in enumerate(paws_n):
        if l == 1:
            src["paws"].append((aug(a), aug(b), ("w", i)))
    for i, (s, trad, cd) in enumerate(ced_n):
        if not cd or not HAN_RX.match(s):
            continue
        gloss = "; ".join(cd[:4])
        z = trad if rng.random() < args.trad_p else s
        src["cedict"].append((gloss, z, ("c", s)))
    for k, v in src.items():
        log(f"source {k}: {len(v)} pairs")

    # ---------------- tokenize pairs
    data = {}
    for k, v in src.items():
        A = enc([a for a, _, _ in v])
        P = enc([p for _, p, _ in v])
        keys = [hash(x) for _, _, x in v]
        keep = [i for i in range(len(v)) if A[i] and P[i]]
        data[k] = ([A[i] for i in keep], [P[i] for i in keep], np.array([keys[i] for i in keep]))
    # ---------------- IDF and initial embeddings
    docs = enc(zh_texts) + enc(un_en) + enc(["; ".join(cd) for _, _, cd in ced_n if cd])
    df = np.zeros(V)
    for ids in docs:
        df[list(set(ids))] += 1
    idf = np.log((len(docs) + 1) / (df + 1))
    idf = idf / idf.max()
    g = torch.Generator().manual_seed(args.seed)
    W = torch.randn(V, args.dim, generator=g) / math.sqrt(args.dim)
    W = W * torch.tensor(idf, dtype=torch.float32)[:, None]
    W[vocab["[UNK]"]] *= 0.1
    W[vocab["[PAD]"]] = 0
    for p in PUNCT:
        if tnorm(p) in vocab:
            W[vocab[tnorm(p)]] *= 0.1
    # English words := weighted mean of the vectors of the CEDICT headwords they gloss
    en_ids = {w: vocab[w] for w in en_words if w in vocab}
    rows, cols, vals = [], [], []
    heads = []
    for s, _, cd in ced_n:
        if not cd or not HAN_RX.match(s):
            continue
        hw = math.log(2 + jieba_freq.get(s, 0))
        h = len(heads)
        heads.append(s)
        for di, d in enumerate(cd[:6]):
            ws = [w for w in WORD_RX.findall(d.lower()) if w not in EN_STOP]
            for w in set(ws):
                if w in en_ids:
                    rows.append(en_ids[w])
                    cols.append(h)
                    vals.append(hw / len(ws) / (1 + di))
    H = enc(heads)
    offs = torch.tensor(np.cumsum([0] + [len(x) for x in H[:-1]]))
    HE = F.embedding_bag(torch.tensor([i for x in H for i in x]), W, offs, mode="mean")
    M = torch.sparse_coo_tensor(torch.tensor([rows, cols]), torch.tensor(vals, dtype=torch.float32), (V, len(heads)))
    EN = torch.sparse.mm(M.coalesce(), HE)
    has = torch.zeros(V, dtype=torch.bool)
    has[torch.tensor(rows)] = True
    en_idf = torch.tensor(idf, dtype=torch.float32)
    tgt_norm = W.norm(dim=1).mean() * en_idf / en_idf.mean()
    EN = F.normalize(EN, dim=1) * tgt_norm[:, None]
    W[has] = EN[has]
    # inflected English forms without their own CEDICT gloss: copy the lemma's vector
    n_lem = 0
    for w, i in en_ids.items():
        if has[i]:
            continue
        for suf, rep in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("es", ""), ("ed", ""), ("ed", "e"),
                         ("s", ""), ("d", ""), ("ly", ""), ("er", ""), ("ers", "")):
            if w.endswith(suf) and len(w) - len(suf) >= 3:
                lem = w[: -len(suf)] + rep
                j = vocab.get(lem)
                if j is not None and has[j]:
                    W[i] = W[j]
                    n_lem += 1
                    break
    log(f"english inflections initialised from lemma: {n_lem}")
    for w in EN_STOP:
        if w in vocab:
            W[vocab[w]] *= 0.1
    log(f"init done; english words initialised from CEDICT: {int(has.sum())}")
    return tok, vocab, W, data


# ----------------------------------------------------------------------------- training
def batches_for_epoch(data, weights, bs, rng):
    out = []
    for k, (A, P, keys) in data.items():
        n = len(A)
        m = int(round(n * weights.get(k, 1.0)))
        idx = []
        while len(idx) < m:
            perm = list(range(n))
            rng.shuffle(perm)
            idx += perm
        idx = idx[:m]
        for i in range(0, len(idx) - bs // 4, bs):
            out.append((k, idx[i:i + bs]))
    rng.shuffle(out)
    return out


def bag(ids_list):
    offs = torch.tensor(np.cumsum([0] + [len(x) for x in ids_list[:-1]]), dtype=torch.long)
    flat = torch.tensor([i for x in ids_list for i in x], dtype=torch.long)
    return flat, offs


def train(args, tok, vocab, W, data, eval_fn=None):
    torch.set_num_threads(1)
    rng = random.Random(args.seed + 1)
    emb = torch.nn.EmbeddingBag(W.shape[0], W.shape[1], mode="mean", sparse=True)
    with torch.no_grad():
        emb.weight.copy_(W)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=args.lr)
    weights = json.loads(args.source_weights)
    t0 = time.time()
    step = 0
    plan = [batches_for_epoch(data, weights, args.bs, rng) for _ in range(args.epochs)]
    total = sum(len(p) for p in plan)
    for ep, batches in enumerate(plan):
        losses = collections.defaultdict(list)
        for k, idx in batches:
            A, P, keys = data[k]
            lr = args.lr * min(1.0, (step + 1) / 50) * max(0.05, 1 - step / total)
            for gp in opt.param_groups:
                gp["lr"] = lr
            a = F.normalize(emb(*bag([A[i] for i in idx])), dim=-1)
            p = F.normalize(emb(*bag([P[i] for i in idx])), dim=-1)
            kk = torch.tensor(keys[idx])
            same = (kk[:, None] == kk[None, :]) & ~torch.eye(len(idx), dtype=torch.bool)
            s = (a @ p.T) * args.scale
            s = s.masked_fill(same, -1e4)
            lab = torch.arange(len(idx))
            loss = F.cross_entropy(s, lab) + args.sym * F.cross_entropy(s.T, lab)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[k].append(loss.item())
            step += 1
        msg = " ".join(f"{k}={np.mean(v):.3f}" for k, v in sorted(losses.items()))
        log(f"epoch {ep + 1}/{args.epochs} steps {step} {time.time() - t0:.0f}s {msg}")
        if eval_fn and (ep + 1) % args.eval_every == 0:
            log("eval", eval_fn(emb.weight.detach().clone()))
    return emb.weight.detach().clone()


def to_model(tok, W, fp16=True):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding

    W = W.clone()
    se = StaticEmbedding(tok, embedding_weights=W.half().float() if fp16 else W)
    return SentenceTransformer(modules=[se, Normalize()], device="cpu")


def save_model(tok, W, out, fp16=True):
    from safetensors.torch import save_file

    m = to_model(tok, W, fp16)
    m.save(out)
    if fp16:
        # float16 storage, float32 at run time: StaticEmbedding.load() folds model2vec-style
        # {"embeddings", "weights"} tensors and promotes them to float32 (fast CPU EmbeddingBag).
        save_file({"embeddings": W.half().contiguous(), "weights": torch.ones(W.shape[0], dtype=torch.float32)},
                  os.path.join(out, "model.safetensors"))
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="src/docsearch/models/docsearch-static-zh-en")
    ap.add_argument("--work", default="training/work")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--zh_words", type=int, default=26000)
    ap.add_argument("--en_words", type=int, default=14000)
    ap.add_argument("--jieba_min_freq", type=int, default=30)
    ap.add_argument("--trad_p", type=float, default=0.3)
    ap.add_argument("--qp_rep", type=int, default=2)
    ap.add_argument("--pseudo_rep", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--bs", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.004)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--sym", type=float, default=0.5)
    ap.add_argument("--source_weights", default='{"cedict": 1.0, "qp": 1.0, "qp_en": 1.0, "sp": 1.0, '
                                                '"sp_en": 1.0, "un": 1.0, "paws": 1.0}')
    ap.add_argument("--eval_every", type=int, default=0)
    ap.add_argument("--no_fp16", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    tok, vocab, W, data = build(args)
    log(f"build {time.time() - t0:.0f}s")
    eval_fn = None
    if args.eval_every:
        import evaluate_model

        def eval_fn(Wc):
            return evaluate_model.quick(to_model(tok, Wc))
        log("eval init", eval_fn(W))
    else:
        args.eval_every = 10**9
    W = train(args, tok, vocab, W, data, eval_fn)
    save_model(tok, W, args.out, fp16=not args.no_fp16)
    info = {"args": vars(args), "seconds": time.time() - t0, "vocab": len(vocab)}
    Path(args.out, "training_info.json").write_text(json.dumps(info, indent=2))
    log(f"saved {args.out}; total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
