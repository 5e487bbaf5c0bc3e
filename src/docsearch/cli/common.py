"""What every command shares: exit codes, errors, settings from flags, the engine with tqdm
progress bars, and output helpers."""
from __future__ import annotations

import argparse
import json
import sys

from docsearch.config import Settings, load_settings


EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def progress_factory():
    from tqdm import tqdm

    def make(total: int, desc: str):
        # disable=None: the bar shows on a terminal and stays quiet in pipes and CI logs.
        return tqdm(total=total, desc=desc, unit="it", file=sys.stderr, disable=None, leave=False)
    return make


def error(message: str) -> None:
    print(f"docsearch: error: {message}", file=sys.stderr)


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(getattr(args, "config", None), index_dir=getattr(args, "index_dir", None),
                             corpus_dir=getattr(args, "corpus_dir", None), model=getattr(args, "model", None),
                             dense_weight=getattr(args, "dense_weight", None),
                             rerank_depth=getattr(args, "rerank_depth", None),
                             backend=getattr(args, "backend", None), milvus_uri=getattr(args, "milvus_uri", None),
                             milvus_token=getattr(args, "milvus_token", None))
    except (OSError, ValueError) as exc:
        raise CLIError(f"settings: {exc}") from exc


def engine(settings: Settings, ready: bool = True):
    from docsearch.engine import DocSearch

    ds = DocSearch(settings, progress=progress_factory())
    healed_notes(ds.healed)
    if ready:
        ds.ensure_ready()
    return ds


def healed_notes(fixed: list[str]) -> None:
    for f in fixed:
        print(f"docsearch: note: finished an interrupted write: {f}", file=sys.stderr)


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def one_line(text: str) -> str:
    return " ".join(text.split())
