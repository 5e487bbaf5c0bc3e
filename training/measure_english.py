"""XQuAD English (and Chinese, as a no-change check) keyword and hybrid figures only: the part of
`docsearch eval` that the dictionary side changes, fast enough to run before and after a change.

Reuses eval's cached benchmark index; the dense lists (which translation never touches) are kept
in a file per model so repeated runs only recompute the keyword side.

    PYTHONPATH=src python3 training/measure_english.py [--model NAME] [--sample N] [--show N]
"""
from __future__ import annotations

import argparse
import json
import pickle
import statistics
import time
from pathlib import Path

from docsearch.config import cache_dir, load_settings
from docsearch.retrieval.query import QueryError, analyze
from docsearch.tools.benchdata import default_bench_dir, load_xquad
from docsearch.tools.evaluate import _passage_articles, _passage_text_t2s, _seed_index, build_index, rank_lists
from docsearch.tools.ranks import Lists, metrics, ranks_for


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--sample", type=int, default=1)
    ap.add_argument("--zh", action="store_true", help="also the Chinese questions (unchanged check)")
    ap.add_argument("--seed", action="store_true", help="also the English seed questions (shipped corpus)")
    ap.add_argument("--weights", action="store_true", help="hybrid R@1/R@5 over translated-query dense weights")
    ap.add_argument("--dump", default="", help="write per-question ranks as JSON")
    ap.add_argument("--set", action="append", default=[], help="module.NAME=value, e.g. senses.KEEP_RATIO=0.5")
    args = ap.parse_args()
    import importlib
    for item in args.set:
        target, value = item.split("=")
        mod, name = target.rsplit(".", 1)
        setattr(importlib.import_module(f"docsearch.text.{mod}"), name, int(value) if value.isdigit() else float(value))
    settings = load_settings(**({"model": args.model} if args.model else {}))
    bench = default_bench_dir()
    xq = load_xquad(bench)
    ds = build_index(xq, settings)
    owner = _passage_articles(ds)
    labels = ["xquad:en"] + (["xquad:zh"] if args.zh else [])
    out = {}
    for label in labels:
        qs = [q for q in xq.questions if q.group == label][::args.sample]
        dense_file = cache_dir() / "sense-eval" / f"{settings.model}-{label}-{args.sample}.pkl"
        if dense_file.exists():
            dense = pickle.loads(dense_file.read_bytes())
        else:
            vecs = ds.embedder.encode_queries([q.text for q in qs])
            dense = [ds.dense_ranked(v, 100) for v in vecs]
            dense_file.parent.mkdir(parents=True, exist_ok=True)
            dense_file.write_bytes(pickle.dumps(dense))
        lists, times = [], []
        for q, dn in zip(qs, dense):
            t = time.perf_counter()
            try:
                a = analyze(q.text, settings.max_query_chars)
            except QueryError:
                a = None
            times.append((time.perf_counter() - t) * 1000)
            kw = ds.keyword_ranked(a, 100) if a else []
            lists.append(Lists(kw, dn, bool(a and a.groups)))
        w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
        rel = lambda q: (lambda pid: owner.get(pid) in q.gold)
        res = {mode: metrics(ranks_for(lists, qs, rel, w, mode, w_en)) for mode in ("keyword", "hybrid")}
        res["analyze_ms_median"] = round(statistics.median(times), 3)
        out[label] = res
        print(f"{settings.model} {label} n={len(qs)}  keyword R@1 {res['keyword']['R@1']:.3f} R@5 {res['keyword']['R@5']:.3f}"
              f"  hybrid R@1 {res['hybrid']['R@1']:.3f} R@5 {res['hybrid']['R@5']:.3f}"
              f"  MRR {res['hybrid']['MRR@10']:.3f}  analyze {res['analyze_ms_median']} ms", flush=True)
        if args.weights:
            for wt in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7):
                m = metrics(ranks_for(lists, qs, rel, w, "hybrid", wt))
                print(f"   translated weight {wt:.2f}: hybrid R@1 {m['R@1']:.3f} R@5 {m['R@5']:.3f}", flush=True)
        if args.dump:
            ranks = ranks_for(lists, qs, rel, w, "hybrid", w_en)
            kranks = ranks_for(lists, qs, rel, w, "keyword", w_en)
            Path(args.dump.replace('.json', f'-{label[-2:]}.json')).write_text(json.dumps([{"q": q.text, "hybrid": r, "keyword": k} for q, r, k in zip(qs, ranks, kranks)],
                                                  ensure_ascii=False, indent=0), encoding="utf-8")
    if args.seed:
        seed_ds, seed_q = _seed_index(settings, bench, None)
        text = _passage_text_t2s(seed_ds)
        en = [q for q in seed_q if q.group == "seed:en"]
        lists = rank_lists(seed_ds, en, with_dense=True)
        rel = lambda q: (lambda pid: any(g in text.get(pid, "") for g in q.gold_strings))  # noqa: E731
        w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
        for mode in ("keyword", "hybrid"):
            m = metrics(ranks_for(lists, en, rel, w, mode, w_en))
            print(f"{settings.model} seed:en n={len(en)} {mode} R@1 {m['R@1']:.3f} R@5 {m['R@5']:.3f}", flush=True)


if __name__ == "__main__":
    main()
