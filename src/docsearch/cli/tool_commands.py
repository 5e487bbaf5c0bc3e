"""Commands that measure: eval (the public benchmarks) and bench (latency, or the scale benchmark)."""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from docsearch.cli.common import EXIT_OK, CLIError, engine, progress_factory
from docsearch.config import BACKENDS, Settings
from docsearch.tools.benchdata import default_bench_dir, load_seed_questions
from docsearch.tools.eval_report import format_comparison, format_report
from docsearch.tools.evaluate import evaluate, latency


def _cmd_eval(args, settings: Settings) -> int:
    return _run_eval(args, settings)


def _cmd_bench(args, settings: Settings) -> int:
    if not args.sizes:
        return _run_latency(args, settings)
    from docsearch.tools.scale import corpus as scale_corpus, report as scale_report, run as scale_run

    try:
        sizes = scale_corpus.parse_sizes(args.sizes)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    backends = [b.strip() for b in (args.backends or settings.backend).split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise CLIError(f"unknown backend {', '.join(unknown) or '(none)'}; choose from {', '.join(BACKENDS)}")
    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    if not (bench / "DRCD_dev.json").exists():
        raise CLIError(f"no benchmark at {bench} (expected DRCD_dev.json, cmrc2018_dev.json, xquad_zh_en.jsonl); "
                       "give its folder with --bench-dir")
    res = scale_run.run(sizes, settings, bench, bench.parent / "seeds", Path(args.out),
                         Path(args.work_dir) if args.work_dir else None, args.queries, cold=not args.no_cold,
                         log=lambda m: print(m, file=sys.stderr, flush=True), backends=backends)
    print(scale_report.format_table(res["sizes"], res["machine"]))
    if "cold_start" in res:
        print(f"cold start (docsearch search on the seed corpus, new process): {res['cold_start']['cold_median_s']} s")
    print(f"written: {Path(args.out) / 'scale.json'}, scale.md, scale.png")
    return EXIT_OK


def _run_eval(args, settings: Settings) -> int:
    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    if not (bench / "DRCD_dev.json").exists():
        raise CLIError(f"no benchmark at {bench} (expected DRCD_dev.json, cmrc2018_dev.json, "
                       "xquad_zh_en.jsonl, seed_dev_qa.jsonl); give its folder as an argument")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if settings.backend != "embedded":
        if args.tune:
            raise CLIError("--tune measures the model, not the backend: run it with --backend embedded")
        # Side by side: the same questions on the embedded engine, then on the configured backend.
        log("embedded engine (SQLite + FAISS):")
        base = evaluate(replace(settings, backend="embedded"), bench, sample=args.sample, log=log,
                        progress=progress_factory())
        log(f"{settings.backend} backend:")
        res = evaluate(settings, bench, sample=args.sample, log=log, progress=progress_factory())
        res["embedded"] = base
        print(format_report(res))
        print(format_comparison(base, res, settings.backend))
    else:
        res = evaluate(settings, bench, sample=args.sample, tune=args.tune, log=log, progress=progress_factory())
        print(format_report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def _run_latency(args, settings: Settings) -> int:
    ds = engine(settings)
    bench = default_bench_dir()
    queries = [q.text for q in load_seed_questions(bench)] if (bench / "seed_dev_qa.jsonl").exists() else []
    queries = queries or ["美国制造业回流", "供应链韧性", "What share of US imports came from China?"]
    queries = (queries * (args.queries // len(queries) + 1))[:args.queries]
    lat = latency(ds, queries)
    ask_ms = _ask_median_ms(ds, queries[:20])
    depth = ds.reranker.depth
    ds.reranker.depth = 0     # side by side: the same questions without re-reading
    plain_ms = _ask_median_ms(ds, queries[:20])
    ds.reranker.depth = depth
    print(f"index {settings.index_dir}: {ds.store.passage_count()} passages, model {ds.model}, dense weight "
          f"{ds.dense_weight:.2f} (translated English questions {ds.settings.resolved_dense_weight_translated:.2f}, "
          f"Chinese worded unlike the library {ds.settings.resolved_dense_weight_unfamiliar:.2f})")
    print(f"search: median {lat['median']} ms, p95 {lat['p95']} ms over {lat['n']} queries (2 cores, warm)")
    print(f"ask: median {ask_ms:.1f} ms over {min(20, len(queries))} questions, re-reading the best "
          f"{depth} passages ({plain_ms:.1f} ms without re-reading)")
    return 0


def _ask_median_ms(ds, questions: list[str]) -> float:
    """Warm `ask` time: one question first loads what the rest reuse."""
    ds.ask(questions[0], k=5)
    times = []
    for q in questions:
        t = time.perf_counter()
        ds.ask(q, k=5)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _cmd_calibrate_abstain(args, settings: Settings) -> int:
    import tempfile

    from docsearch.tools import calibrate_abstain as cal

    data = [Path(p) for p in args.data] or cal.default_data(Path.cwd())
    if not data:
        raise CLIError("no question sets: give JSONL files, or run from the repository root (tests/data/)")
    missing = [str(p) for p in data if not p.exists()]
    if missing:
        raise CLIError(f"no such file: {missing[0]}")
    max_declined = cal.MAX_DECLINED if args.max_declined is None else args.max_declined
    gate_declined = cal.GATE_DECLINED if args.gate_declined is None else args.gate_declined
    if not 0 <= gate_declined <= max_declined < 1:
        raise CLIError("give 0 <= --gate-declined <= --max-declined < 1 (shares of the answerable questions)")
    with tempfile.TemporaryDirectory(prefix="docsearch-calibrate-") as tmp:
        ds = engine(replace(settings, index_dir=Path(tmp), backend="embedded"), ready=True)
        ds.confidence.params = {}    # evidence only: the model being fitted must not filter it
        fitted = cal.calibrate(ds, data, max_declined, gate_declined, log=lambda m: print(m, file=sys.stderr))
        ds.close()
    kind = "topicality gate, nearest passage, lexical features" if "gate" in fitted["entry"] else "lexical features"
    for name, entry in ((f'{fitted["model"]} ({kind})', fitted["entry"]), ("lexical features only", fitted["lexical"])):
        t = entry["test"]
        print(f"{name}: threshold {entry['threshold']:.4f}; held-out test split: declined "
              f"{t['unanswerable_declined']}/{t['unanswerable']} unanswerable, {t['answerable_declined']}/"
              f"{t['answerable']} answerable (decline precision {t['decline_precision']}, "
              f"recall {t['decline_recall']})")
    if not args.dry_run:
        cal.write_params(fitted)
        print(f"written: {cal.MODEL_FILE}")
    return EXIT_OK


COMMANDS = {"eval": _cmd_eval, "bench": _cmd_bench, "calibrate-abstain": _cmd_calibrate_abstain}
