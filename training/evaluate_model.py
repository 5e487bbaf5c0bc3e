"""Dense-only evaluation of the docsearch static embedding model.

    python training/evaluate_model.py --model src/docsearch/models/docsearch-static-zh-en

Tasks (cosine over L2-normalized embeddings, exact search with numpy):
 1. Held-out DRCD+CMRC: corpus = all 1,848 paragraphs of both dev sets, questions of the
    held-out articles only (sha1(title) % 10 < 3); also with every question converted to the
    other script (s2t / t2s).  Two text forms: "raw" (text as in the files) and "norm"
    (what docsearch feeds the model: OpenCC s2twp -> tw2sp, NFKC, on queries and passages).
 2. XQuAD zh/en: corpus = 240 distinct context_zh; question_en and question_zh.
 3. Seed questions (15) over the paragraphs of the two seed articles.
 4. Encoding speed (passages/s, 2 threads, ~300-char Chinese paragraphs) and folder size.
Writes training/eval_results.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BENCH, cc, docsearch_normalize, is_held_out, load_squad_all, read_jsonl,  # noqa: E402
                    seed_paragraphs)


def _metrics(ranks, ks=(1, 5, 10)):
    ranks = np.asarray(ranks)  # 1-based rank of first relevant, inf if none
    out = {f"R@{k}": float(np.mean(ranks <= k)) for k in ks}
    rr = np.where(ranks <= 10, 1.0 / ranks, 0.0)
    out["MRR@10"] = float(np.mean(rr))
    out["n"] = int(len(ranks))
    return out


def _encode(model, texts, bs=512):
    return np.asarray(model.encode(texts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True),
                      dtype=np.float32)


def _first_rel_rank(scores, rel_sets):
    order = np.argsort(-scores, axis=1)[:, :100]
    ranks = []
    for i, rel in enumerate(rel_sets):
        r = np.inf
        for j, d in enumerate(order[i]):
            if d in rel:
                r = j + 1
                break
        ranks.append(r)
    return ranks


def eval_squad(model, forms=("raw", "norm")):
    paras = load_squad_all()
    res = {}
    for form in forms:
        f = docsearch_normalize if form == "norm" else (lambda x: x)
        P = _encode(model, [f(p["context"]) for p in paras])
        qs, rel, ds = [], [], []
        for i, p in enumerate(paras):
            if not is_held_out(p["title"]):
                continue
            for q in p["questions"]:
                qs.append(q)
                rel.append({i})
                ds.append(p["ds"])
        for variant in ("orig", "other_script"):
            if variant == "orig":
                qv = qs
            else:  # DRCD questions are Traditional -> t2s; CMRC Simplified -> s2t
                qv = [cc("t2s").convert(q) if d == "drcd" else cc("s2t").convert(q) for q, d in zip(qs, ds)]
            Q = _encode(model, [f(q) for q in qv])
            ranks = np.asarray(_first_rel_rank(Q @ P.T, rel))
            dsa = np.asarray(ds)
            res[f"{form}/{variant}"] = {
                "all": _metrics(ranks),
                "drcd": _metrics(ranks[dsa == "drcd"]),
                "cmrc": _metrics(ranks[dsa == "cmrc"]),
            }
    return res


def eval_xquad(model, forms=("raw", "norm")):
    rows = read_jsonl(BENCH / "xquad_zh_en.jsonl")
    ctx = sorted({r["context_zh"] for r in rows})
    idx = {c: i for i, c in enumerate(ctx)}
    rel = [{idx[r["context_zh"]]} for r in rows]
    res = {}
    for form in forms:
        f = docsearch_normalize if form == "norm" else (lambda x: x)
        P = _encode(model, [f(c) for c in ctx])
        for lang in ("en", "zh"):
            Q = _encode(model, [f(r[f"question_{lang}"]) for r in rows])
            res[f"{form}/{lang}"] = _metrics(_first_rel_rank(Q @ P.T, rel))
    return res


def eval_seed(model):
    qs = read_jsonl(BENCH / "seed_dev_qa.jsonl")
    paras = [t for _, t in seed_paragraphs()]
    P = _encode(model, [docsearch_normalize(p) for p in paras])
    t2s = [cc("t2s").convert(p) for p in paras]
    out = []
    for q in qs:
        rel = {i for i, p in enumerate(t2s) if any(g in p for g in q["gold"])}
        Q = _encode(model, [docsearch_normalize(q["q"])])
        r = _first_rel_rank(Q @ P.T, [rel])[0]
        out.append({"id": q["id"], "lang": q["lang"], "rank": (None if r == np.inf else int(r)),
                    "n_relevant": len(rel)})
    return {"n_passages": len(paras), "questions": out}


def speed(model, n=4000, batch_size=1024):
    import torch

    torch.set_num_threads(2)
    os.environ["RAYON_NUM_THREADS"] = "2"
    paras = [p["context"] for p in load_squad_all()]
    base = [docsearch_normalize(p)[:300] for p in paras if len(p) >= 300]
    texts = (base * (n // len(base) + 1))[:n]
    model.encode(texts[:500], batch_size=batch_size)
    best = 1e9
    for _ in range(3):
        t = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
        best = min(best, time.perf_counter() - t)
    return {"passages": n, "chars_per_passage": 300, "seconds": best, "passages_per_s": n / best, "threads": 2,
            "batch_size": batch_size}


def folder_mb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 1e6


def quick(model):
    """Cheap numbers used while training (norm form only)."""
    s = eval_squad(model, forms=("norm",))
    x = eval_xquad(model, forms=("norm",))
    return {"squad_R1": s["norm/orig"]["all"]["R@1"], "squad_R5": s["norm/orig"]["all"]["R@5"],
            "squad_os_R1": s["norm/other_script"]["all"]["R@1"],
            "xq_en_R1": x["norm/en"]["R@1"], "xq_en_R5": x["norm/en"]["R@5"], "xq_en_MRR": x["norm/en"]["MRR@10"],
            "xq_zh_R1": x["norm/zh"]["R@1"], "xq_zh_R5": x["norm/zh"]["R@5"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="src/docsearch/models/docsearch-static-zh-en")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "eval_results.json"))
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(a.model, device="cpu")
    res = {"model": a.model, "squad_heldout": eval_squad(model), "xquad": eval_xquad(model),
           "seed": eval_seed(model), "speed": speed(model, batch_size=1024),
           "speed_bs256": speed(model, batch_size=256), "folder_MB": folder_mb(a.model)}
    Path(a.out).write_text(json.dumps(res, indent=2, ensure_ascii=False))
    print(format_table(res))


def format_table(res):
    L = []
    L.append("| task | text form | questions | n | R@1 | R@5 | R@10 | MRR@10 |")
    L.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for key, v in res["squad_heldout"].items():
        form, variant = key.split("/")
        for part in ("all", "drcd", "cmrc"):
            m = v[part]
            L.append(f"| DRCD+CMRC held-out ({part}) | {form} | {variant.replace('_', ' ')} | {m['n']} | "
                     f"{m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} |")
    for key, m in res["xquad"].items():
        form, lang = key.split("/")
        L.append(f"| XQuAD (240 zh paragraphs) | {form} | {lang} | {m['n']} | {m['R@1']:.3f} | {m['R@5']:.3f} | "
                 f"{m['R@10']:.3f} | {m['MRR@10']:.3f} |")
    L.append("")
    sd = res["seed"]
    L.append(f"Seed questions ({sd['n_passages']} passages, docsearch-normalized): rank of first relevant passage")
    L.append("| id | lang | rank |")
    L.append("| --- | --- | --- |")
    for q in sd["questions"]:
        L.append(f"| {q['id']} | {q['lang']} | {q['rank']} |")
    sp = res["speed"]
    L.append("")
    for sp in (res["speed"], res.get("speed_bs256")):
        if sp:
            L.append(f"Speed: {sp['passages_per_s']:.0f} passages/s ({sp['passages']} x {sp['chars_per_passage']}-char "
                     f"Chinese paragraphs, {sp['threads']} threads, batch_size={sp['batch_size']})")
    L.append(f"Folder size: {res['folder_MB']:.1f} MB")
    return "\n".join(L)


if __name__ == "__main__":
    main()
