"""Commands that read: search, ask (one query, or a batch from stdin) and lookup."""
from __future__ import annotations

import sys
from typing import Callable, Iterator

from docsearch.cli.common import EXIT_OK, engine, one_line, print_json
from docsearch.config import Settings
from docsearch.errors import QueryError
from docsearch.retrieval.filters import Filters


def filters_from(args) -> Filters:
    """The --article/--source/--since/--until flags (a bad date is a usage error)."""
    return Filters(tuple(args.article), args.source, args.since, args.until)


def _queries(arg: str) -> Iterator[str]:
    """The query, or with '-' every line of stdin, blank ones included: a batch's answers stay
    aligned with its lines (one output per input line, in order)."""
    if arg != "-":
        yield arg
        return
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _batch(args, run: Callable[[str], dict], show: Callable[[dict], None], failed: Callable[[str, str], dict]) -> int:
    batch = args.query == "-"
    for n, q in enumerate(_queries(args.query), 1):
        try:
            out = run(q)
        except QueryError as exc:
            if not batch:
                raise
            out = failed(q, str(exc))
            if not args.json:
                print(f"docsearch: line {n}: {exc}", file=sys.stderr)
        if args.json:
            print_json(out)
        elif "error" not in out:
            show(out)
        if batch:
            sys.stdout.flush()
    return EXIT_OK


def _notes(out: dict) -> None:
    for note in out.get("notes", []):
        print(f"docsearch: note: {note}", file=sys.stderr)


def _query_command(args, settings: Settings, method: str, show: Callable[[dict], None]) -> int:
    """search and ask: one query or a batch from stdin, JSON lines or plain text."""
    filters = filters_from(args)
    ds = engine(settings)

    extra = {"rerank": args.rerank} if method == "search" else {}

    def run(q: str) -> dict:
        out = getattr(ds, method)(q, k=args.k, filters=filters, **extra).to_json()
        _notes(out)
        return out
    return _batch(args, run, show, _FAILED[method])


# What a batch writes for a line that cannot be run: the command's own shape, with the reason.
_FAILED = {
    "search": lambda q, why: {"query": q, "results": [], "understood_as": [], "error": why},
    "ask": lambda q, why: {"question": q, "answer": [], "passages": [], "understood_as": [], "error": why},
}


def _show_understood(out: dict) -> None:
    for t in out.get("translations", []):
        print(f"translated: {t['english']} -> {' / '.join(t['chinese'])}")
    print(f"understood as: {' '.join(out['understood_as'])}")
    if out.get("not_in_library"):
        print(f"not in the library: {' '.join(out['not_in_library'])}"
              + (" (ranked mainly by meaning)" if out.get("ranked_by_meaning") else ""))


def _show_search(out: dict) -> None:
    print(f"query: {out['query']}")
    _show_understood(out)
    if not out["results"]:
        print("no passages found")
    for r in out["results"]:
        print(f"\n{r['rank']}. {r['citation']}  (score {r['score']:.3f})\n   {one_line(r['text'])}")
    print()


def _show_ask(out: dict) -> None:
    print(f"question: {out['question']}")
    _show_understood(out)
    if out.get("off_topic"):
        print("no reliable answer in the library: the question is far from everything it holds (perhaps a "
              "subject it does not cover); the passages below are only the nearest reading")
    elif not out.get("answered", bool(out["answer"])):
        print(f"no reliable answer in the library (confidence {out.get('confidence', 0):.2f}); "
              "the passages below are related reading")
    elif not out["answer"]:
        print("no answer found")
    for n, a in enumerate(out["answer"], 1):
        print(f"[{n}] {a['text']}\n    — {a['citation']}")
    print("\npassages:")
    for p in out["passages"]:
        text, a, b = p["text"], p["answer_start"], p["answer_end"]
        print(f"\n{p['rank']}. {p['citation']}\n   {one_line(text[:a])}【{one_line(text[a:b])}】{one_line(text[b:])}")
    print()


def _cmd_search(args, settings: Settings) -> int:
    return _query_command(args, settings, "search", _show_search)


def _cmd_ask(args, settings: Settings) -> int:
    return _query_command(args, settings, "ask", _show_ask)


def _cmd_lookup(args, settings: Settings) -> int:
    filters = filters_from(args)
    ds = engine(settings)
    if len(args.keyword) == 1:
        resp = ds.lookup(args.keyword[0], limit=args.limit, filters=filters)
    else:
        resp = ds.lookup_words(args.keyword, filters=filters, every=args.all)
        resp.results = resp.results[:args.limit] if args.limit else resp.results
    if args.json:
        print_json(resp.to_json())
        return EXIT_OK
    print(f"keyword: {resp.keyword}  (forms: {', '.join(resp.forms)})")
    if resp.per_keyword:
        print(f"passages containing {'every one' if resp.combine == 'all' else 'any'} of: " + "; ".join(
            f"{k['keyword']} ({k['passages']} passages, {k['occurrences']} occurrences)" for k in resp.per_keyword))
    for h in resp.results:
        marked, last = [], 0
        for a, b in h.matches:
            marked += [h.text[last:a], "【", h.text[a:b], "】"]
            last = b
        marked.append(h.text[last:])
        print(f"\n{h.citation}\n   {one_line(''.join(marked))}")
    counts = ", ".join(f"{a}: {n}" for a, n in resp.counts.items())
    print(f"\n{len(resp.results)} passages" + (f"; occurrences per article: {counts}" if counts else ""))
    return EXIT_OK


COMMANDS = {"search": _cmd_search, "ask": _cmd_ask, "lookup": _cmd_lookup}
