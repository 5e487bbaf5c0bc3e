"""Bulk indexing: passages in batches, normalize + segment in a worker pool, time per stage.

Every add runs through here (indexing.adding.add_articles), one article or
a million: text is normalized once (the canonical form feeds both the keyword tokens and the
embedding model), batches of passages are stored in one transaction each, and the seconds and
peak memory of each stage are counted so `docsearch bench` can report them.

A pool pays only when there is more than one batch: starting a worker costs ~1-2 s (OpenCC and
jieba dictionaries), more than a small add takes in-process.
"""
from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import chain
from typing import Iterable, Iterator, TypeVar

from docsearch.text import segment
from docsearch.text.normalize import aligned_simplified, canonical
from docsearch.text.tokens import PassageTokens, tokens_of

STAGES = ("normalize", "segment", "embed", "store", "vectors")
T = TypeVar("T")


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class StageStats:
    """Seconds spent in each stage (worker seconds for stages run in the pool) and the largest
    RSS of the main process seen right after each stage."""
    seconds: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})
    peak_rss: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STAGES})
    passages: int = 0
    workers: int = 0

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        self.peak_rss[stage] = max(self.peak_rss.get(stage, 0), rss_bytes())

    def to_json(self) -> dict:
        return {"passages": self.passages, "workers": self.workers,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "passages_per_s": {k: round(self.passages / v, 1) if v > 0 else None
                                   for k, v in self.seconds.items()},
                "peak_rss_mb": {k: round(v / 2**20, 1) for k, v in self.peak_rss.items()}}


@dataclass
class Tokenized:
    canonical: list[str]
    tokens: list[PassageTokens]
    seconds: dict[str, float]


def tokenize(texts: list[str]) -> Tokenized:
    """Canonical form and keyword tokens of passages (runs in a worker process or inline)."""
    t0 = time.perf_counter()
    canon = [canonical(t) for t in texts]
    aligned = [aligned_simplified(t) for t in texts]
    t1 = time.perf_counter()
    tokens = [tokens_of(c, a) for c, a in zip(canon, aligned)]
    t2 = time.perf_counter()
    return Tokenized(canon, tokens, {"normalize": t1 - t0, "segment": t2 - t1})


def _warm_worker() -> None:
    segment.words("预热")  # load jieba once per worker, before the first batch is timed


def _texts(batch: list) -> list[str]:
    return [c.text for _, chunks in batch for c in chunks]


def tokenized_batches(batches: Iterable[list], workers: int) -> Iterator[tuple[list, Tokenized, int]]:
    """Yield (batch, its tokens, workers used) in order. With workers > 1 and more than one batch,
    a pool tokenizes ahead while the caller embeds and stores."""
    it = iter(batches)
    head = [b for b in (next(it, None), next(it, None)) if b is not None]
    if workers <= 1 or len(head) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for b in chain(head, it):
            yield b, tokenize(_texts(b)), 1
        return
    # fork, not spawn: spawn re-imports the __main__ module (a Streamlit script, stdin). Children
    # only run OpenCC and jieba, none of the parent's threads (FAISS OpenMP, app sessions), and
    # jieba is loaded first so no child starts with its lock taken.
    _warm_worker()
    ctx = multiprocessing.get_context("fork")
    window: deque = deque()
    with ctx.Pool(workers) as pool:
        # A bounded window (not imap, which would read the whole input ahead): every worker busy
        # and one batch waiting, while the caller embeds and stores the oldest.
        for b in chain(head, it):
            window.append((b, pool.apply_async(tokenize, (_texts(b),))))
            if len(window) > workers:
                done, res = window.popleft()
                yield done, res.get(), workers
        while window:
            done, res = window.popleft()
            yield done, res.get(), workers


def batched(items: Iterable[T], size_of, limit: int) -> Iterator[list[T]]:
    """Group items into lists whose summed size_of stays near `limit` (at least one item each)."""
    batch: list[T] = []
    total = 0
    for item in items:
        batch.append(item)
        total += size_of(item)
        if total >= limit:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch
