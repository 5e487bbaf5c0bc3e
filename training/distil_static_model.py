"""Distil multilingual-e5-small (the encoder) into the docsearch static zh/en model (issue 15).

    PYTHONPATH=src OMP_NUM_THREADS=1 python3 training/distil_static_model.py --eval \
        --out training/work/static-distil

(defaults = the shipped configuration; `--init both` re-measures the vocabulary-distillation start.)
Output: a drop-in replacement for src/docsearch/models/docsearch-static-zh-en (StaticEmbedding +
Normalize, float16 `embeddings` safetensors, the SAME tokenizer.json), so nothing at run time changes.

Steps (deterministic: fixed seeds, one torch thread; e5 targets are cached in --work, so a rerun
costs ~2 minutes of torch, not ~14 minutes of e5):
 1. Texts (openly licensed only): question -> paragraph pairs of the NON-held-out DRCD/CMRC dev
    articles (`is_held_out`, exactly as train_static_model.py), CMRC 2018 test question -> paragraph,
    UN en -> zh (3,000) and Tatoeba en -> zh (6,000) sentence pairs (subsampled to fit the e5
    budget), PAWS-X zh label-1 paraphrases. Never XQuAD, the seed questions or held-out articles.
 2. Targets: e5 vectors of every text in the role docsearch uses at search time: the anchor of a
    pair (question, English sentence) with the "query: " prompt, the positive (paragraph, Chinese
    sentence) with "passage: " -- so the teacher's similarities are exactly the query->passage
    scores e5 ranks with (English query over Chinese text included).
 3. Start table: the current static model's table (default), or (--init vocab) a vocabulary
    distillation: each of the 55k tokens embedded by e5, centred, SIF-weighted by corpus frequency,
    embedded in 512 dims by a fixed random orthogonal map. Measured (dense, quick eval): as a start
    it is far worse (held-out dev R@1 0.34 vs 0.70, XQuAD en 0.01 vs 0.50) and stays worse after the
    same training (0.48 / 0.23), so the current table is the start.
 4. Loss, per batch of pairs (a_i, p_i) from one source:
      hard  = symmetric in-batch-negatives cross-entropy on 20*cos(a_i, p_j) (the loss the current
              model was trained with, so its retrieval does not drift);
      soft  = KL(softmax(e5_sim / tau) || softmax(s*cos)) over the same query x passage matrix,
              rows and columns, weight 0.3, with a learnt student scale s.
    Why the similarity structure rather than the vectors: the student is 512-d and the teacher
    384-d; regressing onto e5 vectors would need a 512->384 map the runtime does not have (the
    runtime only mean-pools the 512-d table). Matching the in-batch similarity distributions needs
    no map and is what retrieval consumes (relative order of passages per query). Cross-lingual
    batches (UN/Tatoeba: English anchors, Chinese positives) carry e5's en<->zh alignment over.
    tau = 0.02: e5's own contrastive temperature (0.01) softened a little.
    Batches are k-means clusters of e5's passage vectors (in-batch negatives are e5 neighbours,
    where its soft preferences say something); sparse Adam, lr 5e-4, 8 epochs. The configuration
    was chosen on the dense quick figures of the held-out dev split and XQuAD (10 runs, ~1.5 min
    each), so those are development figures; the loss weights barely moved them (+-1 point).
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import TRAIN, is_held_out, load_squad_all, read_jsonl  # noqa: E402

REPO = HERE.parent
CURRENT = REPO / "src" / "docsearch" / "models" / "docsearch-static-zh-en"
Pair = tuple[str, str, str]   # (anchor, positive, group key: pairs sharing a key are not negatives)


def log(*a: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ----------------------------------------------------------------------------- data
def load_pairs(seed: int, n_un: int, n_tatoeba: int) -> dict[str, list[Pair]]:
    """Training pairs per source, anchors in query role, positives in passage role."""
    rng = random.Random(seed)
    src: dict[str, list[Pair]] = collections.defaultdict(list)
    for pi, p in enumerate(load_squad_all()):
        if is_held_out(p["title"]):     # the held-out 30% is the evaluation: never trained on
            continue
        for q in p["questions"]:
            src["qp"].append((q, p["context"], f"d{pi}"))
    cmrc = json.load(open(TRAIN / "cmrc2018_test.json", encoding="utf-8"))["data"]
    for art in cmrc:
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                src["qp_test"].append((qa["question"], p["context"], f"t{p['id']}"))
    un = read_jsonl(TRAIN / "un_parallel_dev_test_en_zh.jsonl")
    rng.shuffle(un)
    src["un"] = [(r["en"], r["zh"], f"u{i}") for i, r in enumerate(un[:n_un])]
    tat = []
    for line in open(TRAIN / "tatoeba_en_zh.tsv", encoding="utf-8-sig"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 2 and len(parts[0]) >= 12:   # skip "Hi." / "Run.": little signal
            tat.append((parts[0], parts[1]))
    rng.shuffle(tat)
    # one key per English sentence: its alternative translations are not negatives of each other
    src["tatoeba"] = [(e, z, f"e{hashlib.sha1(e.encode()).hexdigest()[:12]}") for e, z in tat[:n_tatoeba]]
    for i, r in enumerate(read_jsonl(TRAIN / "pawsx_zh_dev_test.jsonl")):
        if r["label"] == 1:
            src["paws"].append((r["sentence1"], r["sentence2"], f"w{i}"))
    return dict(src)


# ----------------------------------------------------------------------------- e5 targets
def e5_encode_cached(texts: list[str], role: str, work: Path, tag: str) -> np.ndarray:
    """e5 vectors (float16 on disk) for texts, cached by content so reruns skip e5."""
    h = hashlib.sha1(("\n".join(texts) + role).encode("utf-8")).hexdigest()[:16]
    path = work / f"e5-{tag}-{role}-{h}.npy"
    if path.exists():
        return np.load(path).astype(np.float32)
    from docsearch.models.embedding import embedder_for

    emb = embedder_for("multilingual-e5-small")
    t = time.time()
    # encode_queries adds "query: ", encode adds "passage: "; both canonicalise the text first
    vec = emb.encode_queries(texts) if role == "query" else emb.encode(texts)
    log(f"e5 {tag}/{role}: {len(texts)} texts in {time.time() - t:.0f}s")
    np.save(path, vec.astype(np.float16))
    return vec.astype(np.float32)


def targets(src: dict[str, list[Pair]], work: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for k, pairs in src.items():
        # distinct texts only (a paragraph has several questions)
        anchors = sorted({a for a, _, _ in pairs})
        pos = sorted({p for _, p, _ in pairs})
        qa = e5_encode_cached(anchors, "query", work, k)
        pp = e5_encode_cached(pos, "passage", work, k)
        ai = {t: i for i, t in enumerate(anchors)}
        pi = {t: i for i, t in enumerate(pos)}
        out[k] = (qa[[ai[a] for a, _, _ in pairs]], pp[[pi[p] for _, p, _ in pairs]])
    return out


# ----------------------------------------------------------------------------- student
def load_current(folder: Path):
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    w = load_file(str(folder / "model.safetensors"))
    W = w["embeddings"].astype(np.float32) * w["weights"].astype(np.float32)[:, None]
    return tok, torch.tensor(W)


def encode_ids(tok, texts: list[str]) -> list[list[int]]:
    from docsearch.text.normalize import canonical

    # the runtime embeds canonical(text) (models/embedding.py): train on exactly that form
    return [e.ids for e in tok.encode_batch([canonical(t) for t in texts], add_special_tokens=False)]


def vocab_init(tok, corpus_ids: list[list[int]], dim: int, seed: int, work: Path) -> torch.Tensor:
    """Vocabulary distillation (model2vec-style): e5 vector of each token string, centred,
    SIF-weighted a/(a+p(token)) so frequent tokens do not dominate a mean, then a fixed random
    orthogonal 384 -> dim embedding (cosines preserved)."""
    vocab = tok.get_vocab()
    inv = sorted(vocab.items(), key=lambda x: x[1])
    words = [w if w not in ("[UNK]", "[PAD]") else "" for w, _ in inv]
    E = e5_encode_cached(words, "passage", work, "vocab")
    E = E - E.mean(axis=0, keepdims=True)
    cnt = np.bincount(np.concatenate([np.asarray(x, dtype=np.int64) for x in corpus_ids if x]),
                      minlength=len(words)).astype(np.float64)
    p = (cnt + 1) / (cnt.sum() + len(words))
    sif = 1e-4 / (1e-4 + p)
    E = E * sif[:, None]
    g = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(g.standard_normal((dim, E.shape[1])))   # dim x 384, orthonormal columns
    W = (E @ Q.T).astype(np.float32)
    W[vocab["[PAD]"]] = 0
    W[vocab["[UNK]"]] = 0
    return torch.tensor(W)


def to_st(tok, W: torch.Tensor):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, StaticEmbedding

    se = StaticEmbedding(tok, embedding_weights=W.half().float())   # evaluate what is shipped: fp16
    return SentenceTransformer(modules=[se, Normalize()], device="cpu")


def quick_eval(tok, W: torch.Tensor) -> dict[str, float]:
    import evaluate_model

    return {k: round(v, 4) for k, v in evaluate_model.quick(to_st(tok, W)).items()}


def save(tok, W: torch.Tensor, out: Path, info: dict) -> None:
    """Same layout as train_static_model.save_model: float16 embeddings + all-ones weights."""
    import shutil

    from safetensors.torch import save_file

    to_st(tok, W).save(str(out))
    save_file({"embeddings": W.half().contiguous(), "weights": torch.ones(W.shape[0], dtype=torch.float32)},
              str(out / "model.safetensors"))
    shutil.copyfile(CURRENT / "tokenizer.json", out / "tokenizer.json")   # byte-identical tokenizer
    (out / "training_info.json").write_text(json.dumps(info, indent=2))


# ----------------------------------------------------------------------------- training
def bag(ids_list: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    offs = torch.tensor(np.cumsum([0] + [len(x) for x in ids_list[:-1]]), dtype=torch.long)
    return torch.tensor([i for x in ids_list for i in x], dtype=torch.long), offs


def cluster_order(T: np.ndarray, idx: list[int], bs: int, rng: random.Random) -> list[int]:
    """Reorder idx so each run of bs items is a k-means cluster of the teacher's positive vectors:
    in-batch negatives then are near neighbours in e5's space, where e5's soft preferences carry
    information (with random batches its distribution is almost one-hot on the positive)."""
    k = max(1, len(idx) // bs)
    X = T[idx]
    g = np.random.default_rng(rng.randrange(1 << 30))
    C = X[g.choice(len(X), k, replace=False)]
    for _ in range(8):
        lab = np.argmax(X @ C.T, axis=1)
        for c in range(k):
            if (lab == c).any():
                C[c] = X[lab == c].mean(0)
        C /= np.linalg.norm(C, axis=1, keepdims=True) + 1e-9
    groups = [[idx[i] for i in np.flatnonzero(lab == c)] for c in range(k)]
    rng.shuffle(groups)
    for gr in groups:
        rng.shuffle(gr)
    return [i for gr in groups for i in gr]


def train(args: argparse.Namespace, W0: torch.Tensor, data: dict) -> torch.Tensor:
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed + 1)
    emb = torch.nn.EmbeddingBag(W0.shape[0], W0.shape[1], mode="mean", sparse=True)
    with torch.no_grad():
        emb.weight.copy_(W0)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=args.lr)
    # The student's scale in the soft term is learnt: cosines of a mean of token vectors live on
    # another scale than e5's, and a fixed scale would force a sharpness mismatch into the table.
    # Only rank order reaches the runtime, so the scalar is dropped after training.
    log_scale = torch.nn.Parameter(torch.tensor(math.log(args.scale)))
    opt_s = torch.optim.Adam([log_scale], lr=0.01)
    weights = json.loads(args.source_weights)
    soft_sources = set(args.soft_sources.split(",")) if args.soft_sources else set(data)
    plan = []
    for _ in range(args.epochs):
        ep = []
        for k, d in data.items():
            n = len(d["A"])
            m = int(round(n * weights.get(k, 1.0)))
            idx: list[int] = []
            while len(idx) < m:
                perm = list(range(n))
                rng.shuffle(perm)
                idx += perm
            if args.cluster:
                idx = cluster_order(d["TP"], idx, args.bs, rng)
            ep += [(k, idx[i:i + args.bs]) for i in range(0, m - args.bs // 4, args.bs)]
        rng.shuffle(ep)
        plan.append(ep)
    total, step, t0 = sum(len(p) for p in plan), 0, time.time()
    for e, batches in enumerate(plan):
        losses = collections.defaultdict(list)
        for k, idx in batches:
            d = data[k]
            lr = args.lr * min(1.0, (step + 1) / 30) * max(0.05, 1 - step / total)
            for gp in opt.param_groups:
                gp["lr"] = lr
            a = F.normalize(emb(*bag([d["A"][i] for i in idx])), dim=-1)
            p = F.normalize(emb(*bag([d["P"][i] for i in idx])), dim=-1)
            kk = d["key"][idx]
            same = torch.tensor((kk[:, None] == kk[None, :]) & ~np.eye(len(idx), dtype=bool))
            s = (a @ p.T * args.scale).masked_fill(same, -1e4)
            lab = torch.arange(len(idx))
            hard = F.cross_entropy(s, lab) + args.sym * F.cross_entropy(s.T, lab)
            t = torch.tensor(d["TA"][idx] @ d["TP"][idx].T / args.tau).masked_fill(same, -1e4)
            ss = (a @ p.T * (log_scale.exp() if args.learn_scale else args.scale)).masked_fill(same, -1e4)
            soft = F.kl_div(F.log_softmax(ss, 1), F.log_softmax(t, 1), log_target=True, reduction="batchmean")
            soft = soft + args.sym * F.kl_div(F.log_softmax(ss.T, 1), F.log_softmax(t.T, 1), log_target=True,
                                              reduction="batchmean")
            if k not in soft_sources:
                soft = soft * 0
            loss = args.w_hard * hard + args.w_soft * soft
            opt.zero_grad()
            opt_s.zero_grad()
            loss.backward()
            opt.step()
            opt_s.step()
            losses[k].append((hard.item(), soft.item()))
            step += 1
        msg = " ".join(f"{k}=h{np.mean([x[0] for x in v]):.3f}/s{np.mean([x[1] for x in v]):.3f}"
                       for k, v in sorted(losses.items()))
        log(f"epoch {e + 1}/{args.epochs} steps {step} {time.time() - t0:.0f}s scale {log_scale.exp().item():.1f} {msg}")
    return emb.weight.detach().clone()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="training/work/static-distil")
    ap.add_argument("--work", default="training/work")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--init", choices=("current", "vocab", "both"), default="current")
    ap.add_argument("--n_un", type=int, default=3000)
    ap.add_argument("--n_tatoeba", type=int, default=6000)
    ap.add_argument("--targets_only", action="store_true", help="compute and cache the e5 targets, then stop")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.0005)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--tau", type=float, default=0.02)
    ap.add_argument("--sym", type=float, default=0.5)
    ap.add_argument("--w_hard", type=float, default=1.0)
    ap.add_argument("--w_soft", type=float, default=0.3)
    ap.add_argument("--source_weights", default='{"qp": 1.0, "qp_test": 1.0, "un": 1.0, "tatoeba": 1.0, "paws": 1.0}')
    ap.add_argument("--cluster", type=int, default=1, help="batches from k-means clusters of e5 vectors")
    ap.add_argument("--learn_scale", type=int, default=1)
    ap.add_argument("--soft_sources", default="", help="comma list of sources with the soft term (default all)")
    ap.add_argument("--eval", action="store_true", help="dense-only quick eval of start and result")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    src = load_pairs(args.seed, args.n_un, args.n_tatoeba)
    for k, v in src.items():
        log(f"source {k}: {len(v)} pairs")
    tok, W_cur = load_current(CURRENT)
    tg = targets(src, work)
    data = {}
    for k, pairs in src.items():
        A, P = encode_ids(tok, [a for a, _, _ in pairs]), encode_ids(tok, [p for _, p, _ in pairs])
        keep = [i for i in range(len(pairs)) if A[i] and P[i]]
        data[k] = {"A": [A[i] for i in keep], "P": [P[i] for i in keep], "TA": tg[k][0][keep],
                   "TP": tg[k][1][keep], "key": np.array([pairs[i][2] for i in keep])}
    starts = {"current": W_cur}
    if args.init in ("vocab", "both"):
        corpus = [x for d in data.values() for x in d["A"] + d["P"]]
        starts["vocab"] = vocab_init(tok, corpus, W_cur.shape[1], args.seed, work)
        if args.init == "vocab":
            del starts["current"]
    if args.targets_only:
        log(f"targets cached; {time.time() - t0:.0f}s")
        return
    results, tables = {}, {}
    for name, W0 in starts.items():
        if args.eval:
            results[f"{name}/start"] = quick_eval(tok, W0)
            log(name, "start", results[f"{name}/start"])
        tables[name] = train(args, W0, data)
        if args.eval:
            results[f"{name}/trained"] = quick_eval(tok, tables[name])
            log(name, "trained", results[f"{name}/trained"])
    # keep the start whose trained table retrieves best (mean of the dense quick figures)
    best = max(tables, key=lambda n: np.mean(list(results[f"{n}/trained"].values())) if args.eval else 0)
    info = {"args": vars(args), "chosen_init": best, "quick_dense": results, "seconds": round(time.time() - t0),
            "pairs": {k: len(d["A"]) for k, d in data.items()}}
    save(tok, tables[best], Path(args.out), info)
    log(f"saved {args.out} (init {best}); total {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
