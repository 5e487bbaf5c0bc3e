"""The command line's arguments."""
from __future__ import annotations

import argparse


def _count(text: str) -> int:
    """A whole number, 0 or more (argparse reports anything else as a usage error)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, not {n}")
    return n


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


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--article", action="append", default=[], metavar="ID",
                   help="only this article (repeat for several)")
    p.add_argument("--source", default="", metavar="TEXT", help="only articles whose source contains TEXT "
                   "(either script, any case)")
    p.add_argument("--since", default="", metavar="YYYY-MM-DD", help="only articles dated on or after this day "
                   "(undated articles are left out of a dated range)")
    p.add_argument("--until", default="", metavar="YYYY-MM-DD", help="only articles dated on or before this day")


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
    p = cmd("remove", "move an article to the trash (`restore` brings it back, `trash --empty` deletes it)")
    p.add_argument("article_id")
    p = cmd("restore", "bring an article back from the trash, with the same id and text")
    p.add_argument("article_id")
    p = cmd("trash", "list the articles in the trash; --empty deletes them for good")
    p.add_argument("--json", action="store_true")
    p.add_argument("--empty", action="store_true", help="delete every article in the trash for good")
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
        if name == "ask":
            p.add_argument("--rerank", type=_count, metavar="N", dest="rerank_depth",
                           help="best passages the cross-encoder re-reads before answering (default 5; "
                           "0 keeps the search order)")
        else:
            p.add_argument("--rerank", type=_count, metavar="N", default=0,
                           help="re-read the N best passages with the cross-encoder first, as ask does "
                           "(slower: ~0.05 s a passage; default 0)")
        _filter_options(p)
    p = cmd("lookup", "every passage that contains a keyword, in corpus order; with several keywords, "
            "every passage containing any of them (--all: every one of them), with each one's counts")
    p.add_argument("keyword", nargs="+", help="a word or phrase (quote a phrase with spaces)")
    p.add_argument("--all", action="store_true", help="several keywords: only passages containing every one")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", action="store_true")
    _filter_options(p)
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
    p = cmd("calibrate-abstain", "fit when `ask` declines to answer, on question sets about the shipped corpus; "
            "writes the model and its measured precision/recall to the package data")
    p.add_argument("data", nargs="*", help="JSONL question sets (default: tests/data/abstain_qa.jsonl, "
                   "abstain_extra_qa.jsonl, abstain_near_qa.jsonl and the in-house seed sets)")
    p.add_argument("--max-declined", type=float, help="share of answerable calibration "
                   "questions the threshold may decline (default 0.02)")
    p.add_argument("--gate-declined", type=float, help="share of answerable calibration questions "
                   "the topicality gate may decline, within --max-declined (default 0: none)")
    p.add_argument("--dry-run", action="store_true", help="measure and print, write nothing")
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
