"""The scale benchmark over several sizes and backends, written to scale.json/.md/.png."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

from docsearch.config import Settings
from docsearch.tools.scale.corpus import COMMON_QUERIES, bench_queries, source_paragraphs
from docsearch.tools.scale.measure import HYBRID_WEIGHT, bench_settings, bench_size, cold_start
from docsearch.tools.scale.report import write


def run(sizes: list[int], settings: Settings, bench: Path, seeds: Path | None, out_dir: Path,
        work: Path | None = None, n_queries: int = 200, cold: bool = True,
        log: Callable[[str], None] = print, backends: list[str] | None = None) -> dict:
    """Every size in turn, on each backend (the same corpus for each); JSON, table and plot
    written to out_dir after each (so a run stopped during the largest size keeps the rest)."""
    backends = backends or [settings.backend]
    out_dir.mkdir(parents=True, exist_ok=True)
    own_work = work is None
    work = Path(work or tempfile.mkdtemp(prefix="docsearch-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    paragraphs = source_paragraphs(bench, seeds)
    queries = bench_queries(bench, n_queries)
    machine = f"{os.cpu_count()} cores, {_mem_gb()} GB RAM, Python {sys.version.split()[0]}"
    out: dict = {"machine": machine, "model": settings.model, "hybrid_weight": HYBRID_WEIGHT,
                 "settings": {k: getattr(settings, k) for k in (
                     "index_batch_passages", "index_workers", "vector_exact_max", "ivf_nlist", "ivf_nprobe",
                     "keyword_postings_budget")},
                 "source_paragraphs": len(paragraphs), "queries": len(queries),
                 "common_queries": COMMON_QUERIES, "backends": backends, "sizes": []}
    if cold:
        out["cold_start"] = cold_start(settings, Path(settings.corpus_dir))
        log(f"cold start: {out['cold_start']}")
    try:
        for size in sizes:
            for backend in backends:
                out["sizes"].append(bench_size(size, paragraphs, queries, settings, work, log, backend))
                write(out, out_dir)
                shutil.rmtree(bench_settings(settings, backend, size, work).index_dir, ignore_errors=True)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return out


def _mem_gb() -> int:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (ValueError, OSError):
        return 0
