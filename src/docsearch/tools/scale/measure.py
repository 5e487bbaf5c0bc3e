"""Measuring one corpus size: indexing throughput and memory per stage, disk, and query latency
beside the bm25s and exact-FAISS baselines; a search process's start and memory; cold start."""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from docsearch.config import Settings
from docsearch.engine import DocSearch
from docsearch.retrieval.query import analyze
from docsearch.tools.scale.corpus import COMMON_QUERIES, size_label, synthetic_articles


# Forced fusion weight for "hybrid" rows: both retrievers always run (the default weight for
# Chinese questions is 0, which would make hybrid the same as keyword).
HYBRID_WEIGHT = 0.45
NPROBE_SWEEP = (16, 32, 64, 128, 256, 512)


class _Timed:
    """Wraps an iterator and adds up the time spent inside it (corpus generation)."""

    def __init__(self, it: Iterator):
        self.it = it
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        t = time.perf_counter()
        try:
            return next(self.it)
        finally:
            self.seconds += time.perf_counter() - t


# -- memory ---------------------------------------------------------------------------------------
def _reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so each size gets its own peak."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (the worker pool)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _dir_size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


# -- timing ---------------------------------------------------------------------------------------
def _latency(fn: Callable[[str], object], queries: list[str], warm: int = 3) -> dict:
    for q in queries[:warm]:
        fn(q)
    times, cpu = [], []
    for q in queries:
        c, t = time.process_time(), time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    # CPU time beside wall time: on a shared machine, wall time includes waiting for a core.
    return {**_summary(times), "cpu_median_ms": round(statistics.median(cpu), 2)}


def _summary(times: list[float]) -> dict:
    times = sorted(times)
    return {"median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], 2),
            "n": len(times)}


# -- baselines ------------------------------------------------------------------------------------
class BM25sBaseline:
    """bm25s (default parameters) over the jieba tokens the index stored for each passage."""

    def __init__(self, ds):
        import bm25s

        vocab: dict[str, int] = {}
        self.ids: list[int] = []
        docs: list[list[int]] = []
        for pid, words in ds.store.passage_words():
            # setdefault returns the one int object per token: lists hold pointers, not new ints.
            docs.append([vocab.setdefault(w, len(vocab)) for w in words.split()])
            self.ids.append(pid)
        vocab.setdefault("", len(vocab))
        self.vocab = vocab
        self.retriever = bm25s.BM25()
        self.retriever.index(bm25s.tokenization.Tokenized(ids=docs, vocab=vocab), show_progress=False)

    def search(self, query: str, k: int = 10) -> list[int]:
        from docsearch.text import segment
        from docsearch.text.normalize import canonical

        toks = [self.vocab[w] for w in segment.words(canonical(query)) if w in self.vocab]
        if not toks:
            return []
        import bm25s

        docs, _ = self.retriever.retrieve(bm25s.tokenization.Tokenized(ids=[toks], vocab=self.vocab),
                                          k=min(k, len(self.ids)), show_progress=False, n_threads=1)
        return [self.ids[i] for i in docs[0]]


class ExactDense:
    """faiss.IndexFlatIP over the same vectors as the index (ground truth for recall@10)."""

    def __init__(self, vectors):
        import faiss

        ids, vecs = vectors.all_vectors()
        self.ids = ids
        self.index = faiss.IndexFlatIP(vecs.shape[1])
        self.index.add(np.ascontiguousarray(vecs))

    def search(self, vector: np.ndarray, k: int = 10) -> list[int]:
        _, idx = self.index.search(vector.reshape(1, -1).astype(np.float32), k)
        return [int(self.ids[i]) for i in idx[0] if i >= 0]


# -- one size ---------------------------------------------------------------------------------
def bench_settings(settings: Settings, backend: str, size: int, work: Path) -> Settings:
    """Settings of one (size, backend) cell: its own index folder; on Milvus its own Lite file
    in that folder, or, when a server URI is configured, its own collections on that server."""
    index_dir = work / f"index-{size_label(size)}-{backend}"
    out = replace(settings, backend=backend, index_dir=index_dir, corpus_dir=index_dir / "no-corpus")
    if backend == "milvus":
        from docsearch.storage.milvus.connection import is_server_uri

        server = settings.milvus_uri if is_server_uri(settings.milvus_uri) else ""
        out = replace(out, milvus_uri=server, milvus_collection=f"docsearch_bench_{size_label(size)}")
    return out


def bench_size(size: int, paragraphs: list[str], queries: list[str], settings: Settings, work: Path,
               log: Callable[[str], None], backend: str = "embedded") -> dict:

    cell = bench_settings(settings, backend, size, work)
    index_dir = Path(cell.index_dir)
    shutil.rmtree(index_dir, ignore_errors=True)
    ds = DocSearch(cell)
    if backend == "milvus":
        ds.drop_library()  # a server keeps collections of an earlier run under this name
        ds.close()
        ds = DocSearch(cell)
    tag = f"[{size_label(size)} {backend}]"
    load_before = round(os.getloadavg()[0], 2)  # wall-clock figures mean little on a busy machine
    _reset_peak_rss()
    # The same seed for every backend: each measures the same corpus.
    source = _Timed(synthetic_articles(paragraphs, size, seed=size))
    log(f"{tag} indexing {size} passages ...")
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    report = ds.add_articles(source)
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0 - source.seconds  # generation runs in this process too
    stats = ds.last_add_stats
    passages = ds.store.passage_count()
    indexing = wall - source.seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    res: dict = {
        "size": size, "label": size_label(size), "backend": backend, "load_avg_1m_before": load_before,
        "passages": passages, "articles": len(report.added),
        "duplicates": len(report.duplicates),
        "index": {
            "seconds": round(indexing, 1), "generation_seconds": round(source.seconds, 1),
            "passages_per_s": round(passages / indexing, 1),
            # CPU time of this process and its workers: what the rate would be on idle cores
            # (the benchmark machine is shared, so wall-clock rates depend on the neighbours).
            "cpu_ms_per_passage": round(cpu * 1000 / passages, 3),
            "passages_per_s_on_2_idle_cores": round(2 * passages / cpu, 1),
            "peak_rss_mb": peak_rss_mb(), "worker_peak_rss_mb": round(children, 1),
            "stages": stats.to_json() if stats else {},
        },
        "disk_mb": _dir_size_mb(index_dir),
        "vector_index": ds.vectors.describe(),
    }
    log(f"{tag} {passages} passages in {indexing:.0f} s "
        f"({res['index']['passages_per_s']}/s), peak RSS {res['index']['peak_rss_mb']} MB; measuring queries ...")
    ds.close()  # reopen: queries see the index as a fresh process would
    if backend == "embedded" or cell.milvus_uri:  # Milvus Lite keeps its file until this process exits
        res["serving"] = serving_probe(cell, queries[:SERVING_SEARCHES])
        log(f"{tag} new search process: first result {res['serving']['first_result_s']} s, "
            f"peak RSS {res['serving']['peak_rss_mb']} MB")
    ds = DocSearch(cell)
    emb = ds.embedder

    def keyword(q: str):
        return ds.search(q, k=10, dense_weight=0.0)

    def dense(q: str):
        return ds.results(ds.dense_ranked(emb.encode_query(analyze(q, 2000).text), 10))

    def hybrid(q: str):
        return ds.search(q, k=10, dense_weight=HYBRID_WEIGHT)

    def ask(q: str):
        return ds.ask(q, k=5)

    # One untimed pass first: at a million passages the first queries read the index from disk
    # (17 GB), and whichever mode came first was measured cold (keyword p95 338 ms, later 58).
    for q in queries:
        hybrid(q)
    lat = {"keyword": _latency(keyword, queries), "dense": _latency(dense, queries),
           "hybrid": _latency(hybrid, queries), "ask": _latency(ask, queries[: max(20, len(queries) // 2)])}
    lat["keyword_common_terms"] = _latency(keyword, COMMON_QUERIES * 3, warm=1)

    def fts_only(q: str):  # the part bm25s also does: tokenize the query, rank, top 100
        a = analyze(q, 2000)
        return ds.store.keyword_search(a.words, a.grams, 100, ds.keyword_weights, cell.keyword_postings_budget)
    lat["keyword_fts_only"] = _latency(fts_only, queries)
    lat["search_default"] = _latency(lambda q: ds.search(q, k=10), queries)
    res["latency"] = lat
    log(f"{tag} ours: " + ", ".join(f"{k} {v['median_ms']}/{v['p95_ms']} ms" for k, v in lat.items()))

    t = time.perf_counter()
    bm = BM25sBaseline(ds)
    bm_build = time.perf_counter() - t
    exact = ExactDense(ds.vectors)
    qvecs = {q: emb.encode_query(analyze(q, 2000).text) for q in queries}
    base = {"bm25s": _latency(bm.search, queries), "bm25s_common_terms": _latency(bm.search, COMMON_QUERIES * 3, 1),
            "faiss_flat": _latency(lambda q: exact.search(qvecs[q]), queries)}
    base["bm25s"]["index_seconds"] = round(bm_build, 1)
    recall = [len({i for i, _ in ds.dense_ranked(qvecs[q], 10)} & set(exact.search(qvecs[q], 10))) / 10
              for q in queries]
    res["baselines"] = base
    res["dense_recall_at_10"] = round(float(np.mean(recall)), 4)
    ivf = getattr(ds.vectors, "ivf", None)
    if ivf is not None:  # the measurement behind the nprobe setting
        configured, sweep = ivf.nprobe, []
        for nprobe in NPROBE_SWEEP:
            ivf.nprobe = min(nprobe, ivf.nlist)
            r = [len({i for i, _ in ds.dense_ranked(qvecs[q], 10)} & set(exact.search(qvecs[q], 10))) / 10
                 for q in queries]
            sweep.append({"nprobe": ivf.nprobe, "recall_at_10": round(float(np.mean(r)), 4),
                          **_latency(lambda q: ds.dense_ranked(qvecs[q], 10), queries)})
        ivf.nprobe = configured
        res["nprobe_sweep"] = sweep
        log(f"{tag} nprobe sweep: " + ", ".join(f"{x['nprobe']}: {x['recall_at_10']} "
                                                             f"({x['median_ms']} ms)" for x in sweep))
    res["ratios"] = {
        "keyword_vs_bm25s_median": round(lat["keyword"]["median_ms"] / base["bm25s"]["median_ms"], 2),
        "keyword_vs_bm25s_p95": round(lat["keyword"]["p95_ms"] / base["bm25s"]["p95_ms"], 2),
        "fts_only_vs_bm25s_median": round(lat["keyword_fts_only"]["median_ms"] / base["bm25s"]["median_ms"], 2),
        "common_terms_vs_bm25s_median": round(lat["keyword_common_terms"]["median_ms"]
                                              / base["bm25s_common_terms"]["median_ms"], 2),
        "dense_vs_flat_median": round(lat["dense"]["median_ms"] / base["faiss_flat"]["median_ms"], 2),
    }
    log(f"{tag} baselines: bm25s {base['bm25s']['median_ms']}/{base['bm25s']['p95_ms']} ms, "
        f"flat {base['faiss_flat']['median_ms']}/{base['faiss_flat']['p95_ms']} ms, recall@10 {res['dense_recall_at_10']}")
    del bm, exact
    if backend == "milvus":
        ds.drop_library()  # a server would keep it; a Lite file goes with its folder
    ds.close()
    return res


_SERVING_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from docsearch.config import Settings
from docsearch.engine import DocSearch
args = json.loads(sys.stdin.read())
ds = DocSearch(Settings().with_overrides(**args["settings"]))
first = None
for q in args["queries"]:
    ds.search(q, k=10)
    first = first or time.perf_counter() - t0
from docsearch.tools.scale.measure import peak_rss_mb  # after the timing: its imports are not a search's
print(json.dumps({"first_result_s": round(first or 0.0, 2), "peak_rss_mb": peak_rss_mb()}))
"""


SERVING_SEARCHES = 20


def serving_probe(cell: Settings, queries: list[str]) -> dict:
    """What a search process needs at this size: a new process opens the index (the page cache is
    warm from indexing) and runs default searches; seconds to its first result and its peak RSS."""
    import subprocess
    from dataclasses import asdict

    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cell).items()}
    done = subprocess.run([sys.executable, "-c", _SERVING_PROBE], capture_output=True, text=True,
                          input=json.dumps({"settings": settings, "queries": queries}, ensure_ascii=False))
    if done.returncode != 0:
        raise RuntimeError(f"the search process on {cell.index_dir} failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_start(settings: Settings, corpus_dir: Path, query: str = "美国制造业回流的主要来源地是哪里?") -> dict:
    """Seconds from `docsearch search` invocation to its result on the seed corpus, in a new
    process, index already built (the first run builds it and is reported apart)."""
    import subprocess

    tmp = Path(tempfile.mkdtemp(prefix="docsearch-cold-"))
    cmd = [sys.executable, "-m", "docsearch.cli", "--index-dir", str(tmp), "--corpus-dir", str(corpus_dir),
           "--model", settings.model, "search", query, "-k", "5"]
    out = {}
    try:
        for label in ("first_run_builds_index", "cold_1", "cold_2", "cold_3"):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            out[label] = round(time.perf_counter() - t, 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["cold_median_s"] = statistics.median([out["cold_1"], out["cold_2"], out["cold_3"]])
    return out
