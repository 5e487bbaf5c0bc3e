"""The `docsearch` command line. Presentation only: all work goes through engine.DocSearch."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Iterator

from .config import Settings, load_settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def _progress_factory():
    from tqdm import tqdm

    def make(total: int, desc: str):
        # disable=None: the bar shows on a terminal and stays quiet in pipes and CI logs.
        return tqdm(total=total, desc=desc, unit="it", file=sys.stderr, disable=None, leave=False)
    return make


def _global_options(p: argparse.ArgumentParser, suppress: bool) -> None:
    d = {"default": argparse.SUPPRESS} if suppress else {"default": None}
    p.add_argument("--index-dir", help="index folder (default index/, env DOCSEARCH_INDEX_DIR)", **d)
    p.add_argument("--corpus-dir", help="corpus folder (default corpus/, env DOCSEARCH_CORPUS_DIR)", **d)
    p.add_argument("--model", help="embedding model: built-in name, local folder or hub name "
                                   "(env DOCSEARCH_MODEL)", **d)
    p.add_argument("--dense-weight", type=float, help="weight of the dense list in fusion, 0..1 "
                                                      "(default: the value calibrated for the model)", **d)
    p.add_argument("--config", help="TOML settings file (default ./docsearch.toml, env DOCSEARCH_CONFIG)", **d)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="docsearch", description="Bilingual Chinese/English document search "
                                 "and extractive question answering.")
    _global_options(ap, suppress=False)
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _global_options(p, suppress=True)
        return p

    p = cmd("index", "build or refresh the index from the corpus folder")
    p.add_argument("--rebuild", action="store_true", help="re-derive passages, keyword index and vectors "
                   "of every stored article too")
    p = cmd("add", "add articles from .txt/.md files or a .jsonl of articles")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p = cmd("remove", "remove an article by id")
    p.add_argument("article_id")
    p = cmd("list", "list the articles in the library")
    p.add_argument("--json", action="store_true")
    p = cmd("show", "print one article with paragraph numbers")
    p.add_argument("article_id")
    p.add_argument("--json", action="store_true")
    for name, what in (("search", "ranked passages for a query"), ("ask", "answer sentences with citations")):
        p = cmd(name, what + " (QUERY '-' reads one per line from stdin)")
        p.add_argument("query", metavar="QUERY" if name == "search" else "QUESTION")
        p.add_argument("-k", type=int, default=10 if name == "search" else 5, help="how many passages")
        p.add_argument("--json", action="store_true")
    p = cmd("lookup", "every passage that contains a keyword, in corpus order")
    p.add_argument("keyword")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p = cmd("verify", "check that database, keyword index and vectors agree (exit 1 if not)")
    p = cmd("eval", "retrieval and answer figures on the public benchmarks and seed questions")
    p.add_argument("bench_dir", nargs="?", default=None, help="benchmark folder (default ../shared/bench)")
    p.add_argument("--tune", action="store_true", help="measure fusion weights and store them for the model")
    p.add_argument("--sample", type=int, default=0, help="use every Nth question (quick runs)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p = cmd("bench", "query latency on the current index (median and p95); with --sizes, the scale "
                     "benchmark on synthetic corpora of those sizes")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--sizes", help="scale mode: corpus sizes in passages, e.g. 10k,100k,1m")
    p.add_argument("--bench-dir", help="benchmark folder (default ../shared/bench)")
    p.add_argument("--out", default="docs/bench", help="scale mode: folder for scale.json/.md/.png")
    p.add_argument("--work-dir", help="scale mode: where the indexes are built (default: a temp folder)")
    p.add_argument("--no-cold", action="store_true", help="scale mode: skip the cold-start timing")
    return ap


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return _run(args)
    except CLIError as exc:
        _error(str(exc))
        return exc.code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        from .embed import ModelUnavailable
        from .engine import IndexFormatError
        from .ingest import IngestError
        from .search import QueryError

        if os.environ.get("DOCSEARCH_DEBUG"):
            raise
        if isinstance(exc, (QueryError, IngestError)):
            _error(str(exc))
            return EXIT_USAGE
        if isinstance(exc, (ModelUnavailable, IndexFormatError)):
            _error(str(exc))
            return EXIT_FAIL
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            _error("the index is busy (another docsearch is writing to it); try again in a moment")
            return EXIT_FAIL
        _error(f"{type(exc).__name__}: {exc}".splitlines()[0])
        return EXIT_FAIL


def _error(message: str) -> None:
    print(f"docsearch: error: {message}", file=sys.stderr)


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(getattr(args, "config", None), index_dir=getattr(args, "index_dir", None),
                             corpus_dir=getattr(args, "corpus_dir", None), model=getattr(args, "model", None),
                             dense_weight=getattr(args, "dense_weight", None))
    except (OSError, ValueError) as exc:
        raise CLIError(f"settings: {exc}") from exc


def _engine(settings: Settings, ready: bool = True):
    from .engine import DocSearch

    ds = DocSearch(settings, progress=_progress_factory())
    if ready:
        ds.ensure_ready()
    return ds


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    handler: Callable[[argparse.Namespace, Settings], int] = globals()[f"_cmd_{args.command}"]
    return handler(args, settings)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


# -- commands -----------------------------------------------------------------------------
def _cmd_index(args, settings: Settings) -> int:
    ds = _engine(settings, ready=False)
    stats = ds.index(rebuild=args.rebuild)
    n = len(ds.articles())
    print(f"index {settings.index_dir}: {n} articles, {ds.store.passage_count()} passages "
          f"(corpus: {stats['added']} added, {stats['updated']} updated, {stats['removed']} removed, "
          f"{stats['unchanged']} unchanged" + (f"; {stats['rederived']} re-derived" if args.rebuild else "") + ")")
    return EXIT_OK


def _cmd_add(args, settings: Settings) -> int:
    ds = _engine(settings)
    report = ds.add_paths(Path(p) for p in args.paths)
    if args.json:
        _print_json({"added": [{"article_id": a} for a in report.added],
                     "duplicates": [{"what": w, "article_id": a} for w, a in report.duplicates],
                     "refused": [{"what": w, "reason": r} for w, r in report.refused]})
    else:
        for aid in report.added:
            art = ds.article(aid)
            print(f"added {aid}\t{art.title if art else ''}")
        for what, existing in report.duplicates:
            print(f"unchanged: {what} is already in the library as {existing}; nothing added")
    for what, reason in report.refused:
        print(f"docsearch: refused: {reason}" if reason.startswith(what) else f"docsearch: refused: {what}: {reason}",
              file=sys.stderr)
    if report.refused and not report.added and not report.duplicates:
        return EXIT_USAGE
    return EXIT_FAIL if report.refused else EXIT_OK


def _cmd_remove(args, settings: Settings) -> int:
    ds = _engine(settings)
    if not ds.remove(args.article_id):
        raise CLIError(f"no article with id {args.article_id!r} (see `docsearch list`)", EXIT_FAIL)
    print(f"removed {args.article_id}")
    return EXIT_OK


def _article_json(a) -> dict:
    return {"id": a.id, "title": a.title, "source": a.source, "date": a.date, "url": a.url, "script": a.script,
            "original_file": a.original_file, "origin": a.origin, "added_at": a.added_at, "passages": a.passages}


def _cmd_list(args, settings: Settings) -> int:
    ds = _engine(settings)
    arts = ds.articles()
    if args.json:
        _print_json({"articles": [_article_json(a) for a in arts]})
        return EXIT_OK
    for a in arts:
        print(f"{a.id}\t{a.script}\t{a.date or '-'}\t{a.passages:>4} passages\t{a.title}  ({a.source or 'no source'})")
    print(f"{len(arts)} articles", file=sys.stderr)
    return EXIT_OK


def _cmd_show(args, settings: Settings) -> int:
    ds = _engine(settings)
    art = ds.article(args.article_id)
    if art is None:
        raise CLIError(f"no article with id {args.article_id!r} (see `docsearch list`)", EXIT_FAIL)
    paras = ds.article_paragraphs(art.id)
    if args.json:
        _print_json({**_article_json(art), "paragraphs": [{"paragraph": n, "text": t} for n, t in paras]})
        return EXIT_OK
    print(f"{art.title}\n{art.source} {art.date}".rstrip())
    for n, t in paras:
        print(f"\n¶{n}  {t}")
    return EXIT_OK


def _queries(arg: str) -> Iterator[str]:
    if arg != "-":
        yield arg
        return
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line.strip():
            yield line


def _batch(args, run: Callable[[str], dict], show: Callable[[dict], None]) -> int:
    from .search import QueryError

    batch = args.query == "-"
    for q in _queries(args.query):
        try:
            out = run(q)
        except QueryError as exc:
            if not batch:
                raise
            out = {"query": q, "results": [], "error": str(exc)}
        if args.json:
            _print_json(out)
        else:
            show(out)
        if batch:
            sys.stdout.flush()
    return EXIT_OK


def _notes(out: dict) -> None:
    for note in out.get("notes", []):
        print(f"docsearch: note: {note}", file=sys.stderr)


def _query_command(args, settings: Settings, method: str, show: Callable[[dict], None]) -> int:
    """search and ask: one query or a batch from stdin, JSON lines or plain text."""
    ds = _engine(settings)

    def run(q: str) -> dict:
        out = getattr(ds, method)(q, k=args.k).to_json()
        _notes(out)
        return out
    return _batch(args, run, show)


def _show_understood(out: dict) -> None:
    for t in out.get("translations", []):
        print(f"translated: {t['english']} -> {' / '.join(t['chinese'])}")
    print(f"understood as: {' '.join(out['understood_as'])}")


def _show_search(out: dict) -> None:
    print(f"query: {out['query']}")
    _show_understood(out)
    if not out["results"]:
        print("no passages found")
    for r in out["results"]:
        print(f"\n{r['rank']}. {r['citation']}  (score {r['score']:.3f})\n   {_one_line(r['text'])}")
    print()


def _show_ask(out: dict) -> None:
    print(f"question: {out['question']}")
    _show_understood(out)
    if not out["answer"]:
        print("no answer found")
    for n, a in enumerate(out["answer"], 1):
        print(f"[{n}] {a['text']}\n    — {a['citation']}")
    print("\npassages:")
    for p in out["passages"]:
        text, a, b = p["text"], p["answer_start"], p["answer_end"]
        print(f"\n{p['rank']}. {p['citation']}\n   {_one_line(text[:a])}【{_one_line(text[a:b])}】{_one_line(text[b:])}")
    print()


def _cmd_search(args, settings: Settings) -> int:
    return _query_command(args, settings, "search", _show_search)


def _cmd_ask(args, settings: Settings) -> int:
    return _query_command(args, settings, "ask", _show_ask)


def _cmd_lookup(args, settings: Settings) -> int:
    ds = _engine(settings)
    resp = ds.lookup(args.keyword, limit=args.limit)
    if args.json:
        _print_json(resp.to_json())
        return EXIT_OK
    print(f"keyword: {resp.keyword}  (forms: {', '.join(resp.forms)})")
    for h in resp.results:
        marked, last = [], 0
        for a, b in h.matches:
            marked += [h.text[last:a], "【", h.text[a:b], "】"]
            last = b
        marked.append(h.text[last:])
        print(f"\n{h.citation}\n   {_one_line(''.join(marked))}")
    counts = ", ".join(f"{a}: {n}" for a, n in resp.counts.items())
    print(f"\n{len(resp.results)} passages" + (f"; occurrences per article: {counts}" if counts else ""))
    return EXIT_OK


def _cmd_verify(args, settings: Settings) -> int:
    ds = _engine(settings, ready=False)
    problems = ds.verify()
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"verify: {len(problems)} problems in {settings.index_dir}", file=sys.stderr)
        return EXIT_FAIL
    print(f"verify: ok ({len(ds.articles())} articles, {ds.store.passage_count()} passages, "
          f"keyword index and vectors agree)")
    return EXIT_OK


def _cmd_eval(args, settings: Settings) -> int:
    from . import evaluate

    return evaluate.run_cli(args, settings)


def _cmd_bench(args, settings: Settings) -> int:
    if not args.sizes:
        from . import evaluate

        return evaluate.run_latency_cli(args, settings)
    from . import scalebench
    from .evaluate import default_bench_dir

    try:
        sizes = scalebench.parse_sizes(args.sizes)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    if not (bench / "DRCD_dev.json").exists():
        raise CLIError(f"no benchmark at {bench} (expected DRCD_dev.json, cmrc2018_dev.json, xquad_zh_en.jsonl); "
                       "give its folder with --bench-dir")
    res = scalebench.run(sizes, settings, bench, bench.parent / "seeds", Path(args.out),
                         Path(args.work_dir) if args.work_dir else None, args.queries, cold=not args.no_cold,
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    print(scalebench.format_table(res["sizes"], res["machine"]))
    if "cold_start" in res:
        print(f"cold start (docsearch search on the seed corpus, new process): {res['cold_start']['cold_median_s']} s")
    print(f"written: {Path(args.out) / 'scale.json'}, scale.md, scale.png")
    return EXIT_OK


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
