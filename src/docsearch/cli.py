"""The `docsearch` command line. Presentation only: all work goes through engine.DocSearch."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Iterator

from .config import BACKENDS, Settings, load_settings

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
    p.add_argument("--backend", choices=("embedded", "milvus"), help="where the library lives: embedded "
                   "SQLite + FAISS in the index folder (default) or Milvus (env DOCSEARCH_BACKEND)", **d)
    p.add_argument("--milvus-uri", help="Milvus server (http://host:19530) or Milvus Lite file path "
                   "(default INDEX_DIR/milvus.db, env DOCSEARCH_MILVUS_URI)", **d)
    p.add_argument("--milvus-token", help="token for a secured Milvus server (env DOCSEARCH_MILVUS_TOKEN)", **d)


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
    p = cmd("add", "add articles from .txt/.md/.html/.docx/.pdf files or a .jsonl of articles")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true")
    for flag, what in (("title", "the title (input of one article only)"), ("source", "the source"),
                       ("date", "the date"), ("url", "the URL")):
        p.add_argument(f"--{flag}", help=f"{what}, instead of what the file says")
    p = cmd("export", "write every article as JSONL that `add` takes back unchanged")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
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
    p = cmd("repair", "rebuild passages, keyword index and vectors from the stored articles where damaged")
    p = cmd("migrate", "copy the library to the other backend (articles with ids, metadata and text; "
            "re-running copies nothing twice)")
    p.add_argument("--to", required=True, choices=("embedded", "milvus"),
                   help="target backend; the source is the library on the other one (same --index-dir, "
                        "--milvus-uri)")
    p = cmd("editor-password", "set the password editors sign in with in the app (readers can then "
            "only ask, look up and read); reads it from stdin when not on a terminal")
    p.add_argument("--clear", action="store_true", help="remove it: everyone may edit again")
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
    p.add_argument("--backends", help="scale mode: comma-separated backends measured side by side on the "
                                      "same corpora, e.g. embedded,milvus (default: --backend)")
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
        from .backend import BackendError
        from .embed import ModelUnavailable
        from .engine import IndexCorrupt, IndexFormatError
        from .ingest import IngestError
        from .lock import IndexBusy
        from .search import QueryError

        if os.environ.get("DOCSEARCH_DEBUG"):
            raise
        if isinstance(exc, (QueryError, IngestError)):
            _error(str(exc))
            return EXIT_USAGE
        if isinstance(exc, (ModelUnavailable, IndexFormatError, IndexBusy, IndexCorrupt, BackendError)):
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
                             dense_weight=getattr(args, "dense_weight", None),
                             backend=getattr(args, "backend", None), milvus_uri=getattr(args, "milvus_uri", None),
                             milvus_token=getattr(args, "milvus_token", None))
    except (OSError, ValueError) as exc:
        raise CLIError(f"settings: {exc}") from exc


def _engine(settings: Settings, ready: bool = True):
    from .engine import DocSearch

    ds = DocSearch(settings, progress=_progress_factory())
    _healed_notes(ds.healed)
    if ready:
        ds.ensure_ready()
    return ds


def _healed_notes(fixed: list[str]) -> None:
    for f in fixed:
        print(f"docsearch: note: finished an interrupted write: {f}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    handler: Callable[[argparse.Namespace, Settings], int] = globals()[f"_cmd_{args.command.replace('-', '_')}"]
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
    overrides = {k: getattr(args, k) for k in ("title", "source", "date", "url")}
    report = ds.add_paths((Path(p) for p in args.paths), overrides)
    if args.json:
        added = []
        for aid in report.added:
            art = ds.article(aid)
            added.append({"article_id": aid, "title": art.title if art else "", "file": report.files.get(aid, ""),
                          "encoding": report.encodings.get(aid, ""), "script": art.script if art else ""})
        _print_json({"added": added,
                     "duplicates": [{"what": w, "article_id": a} for w, a in report.duplicates],
                     "refused": [{"what": w, "reason": r} for w, r in report.refused]})
    else:
        for aid in report.added:
            art = ds.article(aid)
            enc = report.encodings.get(aid)
            print(f"added {aid}\t{art.title if art else ''}" + (f"\t(encoding {enc})" if enc else ""))
        for what, existing in report.duplicates:
            print(f"unchanged: {what} is already in the library as {existing}; nothing added")
    for what, reason in report.refused:
        print(f"docsearch: refused: {reason}" if reason.startswith(what) else f"docsearch: refused: {what}: {reason}",
              file=sys.stderr)
    if len(args.paths) > 1 and not args.json:
        refused = "".join(f"; refused: {w}" for w, _ in report.refused)
        print(f"summary: {len(report.added)} added, {len(report.duplicates)} already in the library, "
              f"{len(report.refused)} refused{refused}")
    if report.refused and not report.added and not report.duplicates:
        return EXIT_USAGE
    return EXIT_FAIL if report.refused else EXIT_OK


def _cmd_export(args, settings: Settings) -> int:
    ds = _engine(settings)
    if not args.output:
        n = _write_jsonl(ds.export(), sys.stdout)
    else:
        # Written beside the target and renamed, so an interrupted export never leaves half a file.
        target = Path(args.output)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                n = _write_jsonl(ds.export(), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise CLIError(f"cannot write {target}: {exc.strerror or exc}", EXIT_FAIL) from exc
        finally:
            tmp.unlink(missing_ok=True)
    print(f"exported {n} articles" + (f" to {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def _write_jsonl(records, fh) -> int:
    n = 0
    for rec in records:
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


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
    n_healed = len(ds.healed)
    problems = ds.verify()
    _healed_notes(ds.healed[n_healed:])  # a writer that died while verify waited for it
    if problems:
        for p in problems:
            print(f"problem: {p}")
        print(f"verify: {len(problems)} problems in {settings.index_dir}; `docsearch repair` rebuilds "
              "what is derived from the stored articles", file=sys.stderr)
        return EXIT_FAIL
    print(f"verify: ok ({len(ds.articles())} articles, {ds.store.passage_count()} passages, "
          f"keyword index and vectors agree; format {ds.store.get_meta('format_version')}, "
          f"model {settings.model})")
    return EXIT_OK


def _cmd_repair(args, settings: Settings) -> int:
    ds = _engine(settings, ready=False)
    n_before = len(ds.articles())
    fixed = ds.repair()
    for f in fixed:
        print(f"fixed: {f}")
    problems = ds.verify()
    for p in problems:
        print(f"problem: {p}")
    if problems:
        print(f"repair: {len(problems)} problems remain in {settings.index_dir}", file=sys.stderr)
        return EXIT_FAIL
    print(f"repair: {'nothing to fix' if not fixed else f'{len(fixed)} fixes'}; "
          f"{len(ds.articles())} articles (before: {n_before}), verify ok")
    return EXIT_OK


def _cmd_migrate(args, settings: Settings) -> int:
    from . import migrate

    src_settings, dst_settings = migrate.endpoints(settings, args.to)
    source = _engine(src_settings, ready=False)
    if source.is_empty():
        raise CLIError(f"no library on the {src_settings.backend} backend to copy "
                       f"({_where(src_settings)})", EXIT_FAIL)
    target = _engine(dst_settings, ready=False)
    report = migrate.migrate(source, target)
    for what, why in report.conflicts:
        print(f"docsearch: not copied: {what}: {why}", file=sys.stderr)
    print(f"migrate {_where(src_settings)} -> {_where(dst_settings)}: {len(report.copied)} articles copied, "
          f"{len(report.unchanged)} already there, {len(report.conflicts)} not copied")
    for p in report.problems:
        print(f"problem: {p}")
    print(f"verify on the target: {'ok' if not report.problems else f'{len(report.problems)} problems'} "
          f"({len(target.articles())} articles, {target.store.passage_count()} passages)")
    return EXIT_FAIL if report.problems or report.conflicts else EXIT_OK


def _where(settings: Settings) -> str:
    if settings.backend == "milvus":
        from .milvus_backend import resolve_uri

        return f"milvus {resolve_uri(settings)} ({settings.milvus_collection})"
    return f"embedded {settings.index_dir}"


def _cmd_editor_password(args, settings: Settings) -> int:
    from . import access

    ds = _engine(settings, ready=False)
    if args.clear:
        access.set_credential(ds.store, None)
        print("editor password removed: everyone using the app may add and remove articles")
        return EXIT_OK
    if sys.stdin.isatty():
        import getpass

        secret = getpass.getpass("new editor password: ")
        if getpass.getpass("again: ") != secret:
            raise CLIError("the two passwords differ; nothing changed")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if len(secret) < 8:
        raise CLIError("the editor password needs at least 8 characters; nothing changed")
    access.set_credential(ds.store, secret)
    print("editor password set: adding and removing articles in the app now needs signing in")
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
    backends = [b.strip() for b in (args.backends or settings.backend).split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise CLIError(f"unknown backend {', '.join(unknown) or '(none)'}; choose from {', '.join(BACKENDS)}")
    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    if not (bench / "DRCD_dev.json").exists():
        raise CLIError(f"no benchmark at {bench} (expected DRCD_dev.json, cmrc2018_dev.json, xquad_zh_en.jsonl); "
                       "give its folder with --bench-dir")
    res = scalebench.run(sizes, settings, bench, bench.parent / "seeds", Path(args.out),
                         Path(args.work_dir) if args.work_dir else None, args.queries, cold=not args.no_cold,
                         log=lambda m: print(m, file=sys.stderr, flush=True), backends=backends)
    print(scalebench.format_table(res["sizes"], res["machine"]))
    if "cold_start" in res:
        print(f"cold start (docsearch search on the seed corpus, new process): {res['cold_start']['cold_median_s']} s")
    print(f"written: {Path(args.out) / 'scale.json'}, scale.md, scale.png")
    return EXIT_OK


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
