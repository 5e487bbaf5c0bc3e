"""Experiment (not shipped): a cross-encoder re-ranker / answerability reader on multilingual-e5-small.
Report and figures: training/rerank_experiment.md.

The model reads "query: QUESTION" and "passage: WINDOW" (a window = consecutive sentences of a
passage, at most 150 characters; both sides in canonical Simplified form) and scores how well the
window answers. A passage's score is the best of its two windows that share most character
bigrams with the question. Lower 8 layers frozen (their output cached once), top 4 layers and a
linear head over mean pooling trained with a softmax over [positive, 3 negatives].

Training data: the non-held-out 70% of DRCD + CMRC 2018 dev (as written). Positive: the window of
the gold paragraph holding the answer; negatives: the window of the same paragraph without the
answer that shares most words with the question (on topic, another detail), then the best
windows of BM25 neighbours that do not hold the answer.

    python3 training/rerank_experiment.py data  /tmp/rr/train.jsonl
    python3 training/rerank_experiment.py train /tmp/rr/train.jsonl /tmp/rr/ce.pt 3500   # ~20 min, 2 cores
    python3 training/rerank_experiment.py eval  /tmp/rr/ce.pt /tmp/rr/eval.pkl             # ~15 min
    python3 training/rerank_experiment.py report /tmp/rr/eval.pkl
    python3 training/rerank_experiment.py ship   /tmp/rr/ce.pt     # -> src/docsearch/data/reranker_e5.npz
"""
from __future__ import annotations

import json
import math
import os
import pickle
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from docsearch.config import load_settings  # noqa: E402
from docsearch.models.reranker import MAX_TOKENS  # noqa: E402
from docsearch.retrieval.rerank import WINDOW_CHARS, grams, windows  # noqa: E402 - the windows the product reads
from docsearch.text.normalize import canonical, converter  # noqa: E402
from docsearch.tools.benchdata import default_bench_dir, load_mixed_dev, load_seed_questions, load_xquad  # noqa: E402

NEGATIVES = 3
TRAINED_LAYERS = int(os.environ.get("RERANK_TRAINED_LAYERS", "6"))  # run 1 trained 4, run 2 six


# -- model ----------------------------------------------------------------------------------
def load_model(layers: int = 12):
    import torch.nn as nn
    from tokenizers import Tokenizer
    from transformers import BertModel

    from docsearch.models.e5 import ensure_model_folder

    folder = ensure_model_folder()

    class CrossEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
            self.head = nn.Linear(self.bert.config.hidden_size, 1)
            nn.init.normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)

        def pool(self, h, mask):
            m = mask.unsqueeze(-1).to(h.dtype)
            return self.head((h * m).sum(1) / m.sum(1).clamp(min=1)).squeeze(-1)

        def forward(self, ids, mask):
            import torch
            h = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            return self.pool(h, mask)

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
    tok.no_padding()
    return CrossEncoder(), tok


def encode_pairs(tok, pairs, pad_id: int = 1):
    import torch
    encs = tok.encode_batch([("query: " + q, "passage: " + p) for q, p in pairs])
    n = max(len(e.ids) for e in encs)
    ids = torch.full((len(encs), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encs), n), dtype=torch.long)
    for i, e in enumerate(encs):
        ids[i, :len(e.ids)] = torch.tensor(e.ids)
        mask[i, :len(e.ids)] = 1
    return ids, mask


def additive(mask):
    return (1.0 - mask[:, None, None, :].float()) * -1e4


# -- steps ------------------------------------------------------------------------------------
def make_data(out_path: str, seed: int = 0) -> None:
    import bm25s
    rnd = random.Random(seed)
    dev = load_mixed_dev(default_bench_dir())
    text_c = [canonical(a["text"]) for a in dev.articles]
    wins = [[canonical(a["text"][x:y]) for x, y in windows(a["text"])] for a in dev.articles]
    index_of = {a["id"]: i for i, a in enumerate(dev.articles)}
    toks = lambda s: list(s.replace(" ", "")) + sorted(grams(s))  # noqa: E731
    bm25 = bm25s.BM25()
    bm25.index([toks(t) for t in text_c], show_progress=False)
    rows = []
    for q in dev.questions:
        if q.group not in ("drcd", "cmrc") or q.heldout:
            continue
        qc, gi = canonical(q.text), index_of[next(iter(q.gold))]
        answers = [canonical(a) for a in q.answers if a]
        holds = lambda w: any(a in w for a in answers)  # noqa: E731
        overlap = lambda w: len(grams(qc) & grams(w))  # noqa: E731
        pos = [w for w in wins[gi] if holds(w)]
        if not pos:
            continue
        same = [w for w in wins[gi] if not holds(w)]
        negs = [max(same, key=overlap)] if same else []
        qt = [t for t in toks(qc) if t in bm25.vocab_dict]
        docs = [int(d) for d in bm25.retrieve([qt], k=12, show_progress=False)[0][0]] if qt else []
        other = [max(wins[d], key=overlap) for d in docs[:9] if d != gi and not holds(text_c[d])]
        rnd.shuffle(other)
        negs = (negs + other)[:NEGATIVES]
        while len(negs) < NEGATIVES:
            negs.append(rnd.choice(text_c)[:WINDOW_CHARS])
        rows.append({"q": qc, "pos": max(pos, key=overlap), "neg": negs})
    rnd.shuffle(rows)
    Path(out_path).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} training groups -> {out_path}")


def train(data: str, out: str, limit: int = 3500, lr: float = 5e-5, groups_per_step: int = 8) -> None:
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(2)
    rows = [json.loads(line) for line in open(data, encoding="utf-8")][:limit]
    model, tok = load_model()
    model.eval()
    low = len(model.bert.encoder.layer) - TRAINED_LAYERS
    t0, cache = time.time(), []
    with torch.no_grad():   # the frozen layers' output, once
        for g in rows:
            ids, mask = encode_pairs(tok, [(g["q"], g["pos"])] + [(g["q"], n) for n in g["neg"]])
            h = model.bert.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))
            for layer in model.bert.encoder.layer[:low]:
                h = layer(h, attention_mask=additive(mask))
            cache.append((h.half(), mask))
    print(f"cached lower layers: {time.time() - t0:.0f}s", flush=True)
    top = model.bert.encoder.layer[low:]
    params = list(top.parameters()) + list(model.head.parameters())
    opt = torch.optim.AdamW([{"params": list(top.parameters()), "lr": lr},
                             {"params": list(model.head.parameters()), "lr": lr * 20}], weight_decay=0.01)
    steps = math.ceil(len(rows) / groups_per_step)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * (steps - s) / steps)
    model.train()
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)
    for step in range(steps):
        idx = order[step * groups_per_step:(step + 1) * groups_per_step]
        n = max(cache[i][0].shape[1] for i in idx)
        h = torch.cat([F.pad(cache[i][0].float(), (0, 0, 0, n - cache[i][0].shape[1])) for i in idx])
        mask = torch.cat([F.pad(cache[i][1], (0, n - cache[i][1].shape[1])) for i in idx])
        for layer in top:
            h = layer(h, attention_mask=additive(mask))
        logits = model.pool(h, mask).view(len(idx), -1)
        loss = F.cross_entropy(logits, torch.zeros(len(idx), dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    torch.save(model.state_dict(), out)


def evaluate(ckpt: str, out: str, k: int = 8, windows_per_passage: int = 2) -> None:
    import torch
    from docsearch.engine import DocSearch
    from docsearch.retrieval.compose import asked_text
    from docsearch.retrieval.query import analyze
    from docsearch.tools.evaluate import build_index
    torch.set_num_threads(2)
    bench = default_bench_dir()
    settings = replace(load_settings(None), model="multilingual-e5-small")
    t2s = converter("t2s")

    def candidates(ds, text):
        q = analyze(text, 2000)
        g = grams(canonical(asked_text(q)))
        out = []
        for r in ds.ranker.results(ds.ranker.ranked(q, k, None, None)):
            ws = sorted((canonical(r.text[a:b]) for a, b in windows(r.text)), key=lambda w: -len(g & grams(w)))
            out.append((r.article_id, t2s.convert(r.text), ws[:windows_per_passage]))
        return out

    sets = {}
    dev = load_mixed_dev(bench)
    ds = build_index(dev, settings)
    sets["dev_heldout"] = [(q.text, q.gold, None, candidates(ds, q.text))
                           for q in [q for q in dev.questions if q.group in ("drcd", "cmrc") and q.heldout][::5]]
    xq = load_xquad(bench)
    ds = build_index(xq, settings)
    for lang in ("en", "zh"):
        sets[f"xquad_{lang}"] = [(q.text, q.gold, None, candidates(ds, q.text))
                                 for q in xq.questions[::3] if q.group == f"xquad:{lang}"]
    seed = DocSearch(replace(settings, index_dir=Path(tempfile.mkdtemp()), corpus_dir=REPO / "corpus"))
    seed.index()
    for name, path in (("seed", None), ("reworded", REPO / "tests/data/reworded_seed_qa.jsonl"),
                       ("seed_check", REPO / "tests/data/seed_check_qa.jsonl")):
        sets[name] = [(q.text, None, q.gold_strings, candidates(seed, q.text))
                      for q in load_seed_questions(bench, path, name)]
    rows = [json.loads(line) for line in (REPO / "tests/data/abstain_qa.jsonl").open(encoding="utf-8")]
    sets["abstain"] = [(r["q"], r, None, candidates(seed, r["q"])) for r in rows]
    model, tok = load_model()
    model.load_state_dict(torch.load(ckpt))
    model.eval()
    scores = {}
    with torch.no_grad():
        for name, items in sets.items():
            scores[name] = []
            for text, _, _, cands in items:
                pairs = [(canonical(text), w) for _, _, ws in cands for w in ws]
                logits = model(*encode_pairs(tok, pairs)).tolist() if pairs else []
                per, i = [], 0
                for _, _, ws in cands:
                    per.append(logits[i:i + len(ws)])
                    i += len(ws)
                scores[name].append(per)
    pickle.dump({"sets": sets, "scores": scores}, open(out, "wb"))


def report(path: str) -> None:
    from sklearn.metrics import roc_auc_score
    d = pickle.load(open(path, "rb"))

    def r_at(name, top_k, prior):
        ranks = []
        for (text, gold, golds, cands), per in zip(d["sets"][name], d["scores"][name]):
            n = min(top_k, len(cands))
            s = [max(per[i]) - (prior or 0.0) * math.log(i + 1) if per[i] else -99 for i in range(n)]
            order = (sorted(range(n), key=lambda i: -s[i]) if prior is not None else list(range(n))) + \
                list(range(n, len(cands)))
            rel = [(c[0] in gold) if gold is not None else any(g in c[1] for g in golds) for c in cands]
            ranks.append(next((p + 1 for p, i in enumerate(order) if rel[i]), None))
        return (np.mean([r == 1 for r in ranks]), np.mean([r is not None and r <= 5 for r in ranks]))

    for name in d["sets"]:
        if name != "abstain":
            row = [f"{name} (n={len(d['sets'][name])}): as ranked {'%.3f/%.3f' % r_at(name, 8, None)}"]
            row += [f"top-{k} prior {g}: {'%.3f/%.3f' % r_at(name, k, g)}" for k in (5, 8) for g in (0.0, 1.0, 2.0)]
            print(" | ".join(row))
    y, s = [], []
    for (text, r, _, cands), per in zip(d["sets"]["abstain"], d["scores"]["abstain"]):
        if r["answerable"] or r["topic"] == "on":
            y.append(int(r["answerable"]))
            s.append(max((max(p) for p in per if p), default=-99.0))
    print(f"abstain, on-topic unanswerable vs answerable: AUC of the best window score {roc_auc_score(y, s):.3f}")


def ship(ckpt: str, out: str = str(REPO / "src/docsearch/data/reranker_e5.npz")) -> None:
    """What the product needs from a checkpoint: the trained top layers and the head, fp16
    (models/reranker.py joins them to the derived e5's lower layers)."""
    import torch
    state = torch.load(ckpt)
    n_layers = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("bert.encoder.layer."))
    low = n_layers - TRAINED_LAYERS
    kept = {k.removeprefix("bert."): v for k, v in state.items()
            if k.startswith("head.") or (k.startswith("bert.encoder.layer.") and int(k.split(".")[3]) >= low)}
    np.savez_compressed(out, **{k: v.numpy().astype(np.float16) for k, v in kept.items()})
    print(f"{len(kept)} tensors (layers {low}-{n_layers - 1} and the head) -> {out}")


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    {"data": make_data, "train": lambda d, o, n="3500": train(d, o, int(n)), "eval": evaluate,
     "report": report, "ship": ship}[step](*rest)
