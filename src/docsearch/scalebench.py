"""`docsearch bench --sizes 10k,100k,1m`: how indexing and query cost grow with corpus size.

For each size a synthetic corpus is built from the public DRCD / CMRC 2018 dev paragraphs and
the seed articles, varied so that no passage is an exact copy of another:
- every passage recombines sentences: a run from one source paragraph, interleaved with
  sentences drawn from other paragraphs, partly shuffled, up to a length drawn from the real
  paragraph lengths (so passages are as long as real ones);
- every digit run is replaced by a random number of the same length;
- a third of the passages are converted to Traditional, a third to Simplified (OpenCC), the
  rest kept as written;
- articles hold 1-4 such paragraphs (one passage each).
The corpus goes through the facade's add path (DocSearch.add_articles, the real pipeline) as a
generator; the time spent generating it is measured and left out of indexing throughput.

Then, on that index, in the same process: query latency (median, p95) for keyword, dense,
hybrid search and ask over benchmark questions and a few very common terms; the same queries
against two baselines over the same data: bm25s over the stored jieba tokens (keyword) and an
exact faiss.IndexFlatIP over the same vectors (dense), which also gives dense recall@10.
"""
from __future__ import annotations

import json
import os
import random
import re
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

from .config import Settings

# Queries whose terms occur in a large share of passages: FTS5's slow spot.
COMMON_QUERIES = ["供应链", "美国", "中国", "经济发展", "美國的歷史", "国家"]
# Forced fusion weight for "hybrid" rows: both retrievers always run (the default weight for
# Chinese questions is 0, which would make hybrid the same as keyword).
HYBRID_WEIGHT = 0.45
NPROBE_SWEEP = (16, 32, 64, 128, 256, 512)


def parse_sizes(text: str) -> list[int]:
    """'10k,100k,1m' -> [10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        num = part[:-1] if part[-1] in "km" else part
        try:
            out.append(int(float(num) * mult))
        except ValueError as exc:
            raise ValueError(f"bad size {part!r} (use e.g. 10k,100k,1m)") from exc
    if not out or min(out) <= 0:
        raise ValueError("sizes must be positive, e.g. 10k,100k,1m")
    return sorted(out)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# -- corpus -------------------------------------------------------------------------------------
def source_paragraphs(bench: Path, seeds: Path | None) -> list[str]:
    """DRCD and CMRC dev paragraphs, and the seed articles' paragraphs (longer than 40 chars)."""
    paras: dict[str, None] = {}
    for name in ("DRCD_dev.json", "cmrc2018_dev.json"):
        data = json.loads((bench / name).read_text(encoding="utf-8"))["data"]
        for art in data:
            for p in art["paragraphs"]:
                paras.setdefault(p["context"].strip(), None)
    if seeds and seeds.is_dir():
        for f in sorted(seeds.glob("*.txt")):
            for line in f.read_text(encoding="utf-8").splitlines():
                if len(line.strip()) > 40:
                    paras.setdefault(line.strip(), None)
    return list(paras)


def synthetic_articles(paragraphs: list[str], n_passages: int, seed: int = 0) -> Iterator:
    """Articles holding about `n_passages` passages in all (see the module docstring)."""
    from .chunk import sentence_spans
    from .ingest import Article
    from .normalize import _converter

    rng = random.Random(seed)
    sentences = [[p[a:b] for a, b in sentence_spans(p)] for p in paragraphs]
    sentences = [s for s in sentences if s]
    lengths = [min(len(p), 760) for p in paragraphs]
    to_trad, to_simp = _converter("s2t"), _converter("t2s")
    digits = re.compile(r"\d+")

    def number(m: re.Match) -> str:
        return str(rng.randrange(10 ** (len(m.group(0)) - 1), 10 ** len(m.group(0))))

    def paragraph() -> str:
        base = rng.choice(sentences)
        target = max(60, rng.choice(lengths))
        pos = rng.randrange(len(base))
        out: list[str] = []
        size = 0
        while (size < target or len(out) < 2) and len(out) < 40:
            if rng.random() < 0.5:
                sent = base[pos % len(base)]
                pos += 1
            else:
                sent = rng.choice(rng.choice(sentences))
            if size + len(sent) > 780 and out:
                break
            out.append(sent[:780])
            size += len(sent)
        if len(out) > 2 and rng.random() < 0.3:
            rng.shuffle(out)
        text = digits.sub(number, "".join(out))
        r = rng.random()
        return to_trad.convert(text) if r < 1 / 3 else to_simp.convert(text) if r < 2 / 3 else text

    seen: set[int] = set()

    def fresh_paragraph() -> str:
        # A short source pool can repeat a recombination: draw again (hashes only, 8 bytes each).
        for _ in range(100):
            text = paragraph()
            if hash(text) not in seen:
                break
        seen.add(hash(text))
        return text

    made = 0
    n = 0
    while made < n_passages:
        k = min(rng.randint(1, 4), n_passages - made)
        paras = [fresh_paragraph() for _ in range(k)]
        made += k
        title = f"合成文章 {n} · " + paras[0][:12]
        yield Article(title=title, text="\n\n".join(paras), id=f"syn-{n:07d}", source="synthetic")
        n += 1


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


def _peak_rss_mb() -> float:
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


def bench_queries(bench: Path, n: int, seed: int = 0) -> list[str]:
    """n questions: DRCD / CMRC dev questions as written and in the other script, and XQuAD
    English questions (the ones that use the dense side by default)."""
    from .evaluate import load_mixed_dev, load_xquad

    rng = random.Random(seed)
    zh = [q.text for q in load_mixed_dev(bench).questions]
    en = [q.text for q in load_xquad(bench).questions if q.group == "xquad:en"]
    n_en = max(1, n // 5)
    return rng.sample(zh, min(len(zh), n - n_en)) + rng.sample(en, min(len(en), n_en))


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
        from . import segment
        from .normalize import canonical

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
def _bench_settings(settings: Settings, backend: str, size: int, work: Path) -> Settings:
    """Settings of one (size, backend) cell: its own index folder; on Milvus its own Lite file
    in that folder, or, when a server URI is configured, its own collections on that server."""
    index_dir = work / f"index-{size_label(size)}-{backend}"
    out = replace(settings, backend=backend, index_dir=index_dir, corpus_dir=index_dir / "no-corpus")
    if backend == "milvus":
        from .milvus_backend import is_server_uri

        server = settings.milvus_uri if is_server_uri(settings.milvus_uri) else ""
        out = replace(out, milvus_uri=server, milvus_collection=f"docsearch_bench_{size_label(size)}")
    return out


def bench_size(size: int, paragraphs: list[str], queries: list[str], settings: Settings, work: Path,
               log: Callable[[str], None], backend: str = "embedded") -> dict:
    from .engine import DocSearch
    from .search import analyze

    cell = _bench_settings(settings, backend, size, work)
    index_dir = Path(cell.index_dir)
    shutil.rmtree(index_dir, ignore_errors=True)
    ds = DocSearch(cell)
    if backend == "milvus":
        ds.backend.drop_library()  # a server keeps collections of an earlier run under this name
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
            "peak_rss_mb": _peak_rss_mb(), "worker_peak_rss_mb": round(children, 1),
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
        return ds._results(ds.dense_ranked(emb.encode_query(analyze(q, 2000).text), 10))

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
        ds.backend.drop_library()  # a server would keep it; a Lite file goes with its folder
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
from docsearch.scalebench import _peak_rss_mb  # after the timing: its imports are not a search's
print(json.dumps({"first_result_s": round(first or 0.0, 2), "peak_rss_mb": _peak_rss_mb()}))
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


# -- report -----------------------------------------------------------------------------------------
def format_table(results: list[dict], machine: str) -> str:
    def pp(d: dict) -> str:
        return f"{d['median_ms']:.1f} / {d['p95_ms']:.1f}"

    loads = [f"{r['label']} {r['load_avg_1m_before']}" for r in results if "load_avg_1m_before" in r]
    lines = [f"scale benchmark ({machine}; wall-clock"
             + (f"; 1-minute load average before each size: {', '.join(loads)})" if loads else ")"), "",
             "| size | backend | passages/s | CPU ms per passage (passages/s on 2 idle cores) | peak RSS MB, main + workers "
             "| disk MB | vector index |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ix, vi = r["index"], r["vector_index"]
        vdesc = vi["type"] + (f" nlist={vi['nlist']} nprobe={vi['nprobe']}" if "nlist" in vi else "")
        lines.append(f"| {r['label']} | {r.get('backend', 'embedded')} | {ix['passages_per_s']:.0f} | {ix.get('cpu_ms_per_passage', 0):.2f} "
                     f"({ix.get('passages_per_s_on_2_idle_cores', 0):.0f}) | {ix['peak_rss_mb']:.0f} + "
                     f"{ix['stages'].get('workers', 0)}×{ix['worker_peak_rss_mb']:.0f} | {r['disk_mb']:.0f} | {vdesc} |")
    n_q = results[0]["latency"]["keyword"]["n"] if results else 0
    lines += ["", f"query latency, ms, median / p95 ({n_q} questions; common terms: "
              + " ".join(COMMON_QUERIES) + ")", "",
              "| size | backend | keyword | keyword, FTS stage only | bm25s | keyword ÷ bm25s | common terms p50: keyword / bm25s "
              "| dense | exact flat | dense recall@10 | hybrid | ask |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lat, base = r["latency"], r["baselines"]
        fts = lat.get("keyword_fts_only")
        lines.append(
            f"| {r['label']} | {r.get('backend', 'embedded')} | {pp(lat['keyword'])} | {pp(fts) if fts else '–'} | {pp(base['bm25s'])} "
            f"| {r['ratios']['keyword_vs_bm25s_median']:.2f}× | {lat['keyword_common_terms']['median_ms']:.1f} / "
            f"{base['bm25s_common_terms']['median_ms']:.1f} | {pp(lat['dense'])} | {pp(base['faiss_flat'])} "
            f"| {r['dense_recall_at_10']:.3f} | {pp(lat['hybrid'])} | {pp(lat['ask'])} |")
    lines += ["", "indexing seconds per stage (normalize/segment: seconds inside the workers):"]
    for r in results:
        st = r["index"]["stages"]
        lines.append(f"  {r['label']} {r.get('backend', 'embedded')}: " + ", ".join(f"{k} {v:.0f} s ({st['passages_per_s'][k]}/s)"
                                                  for k, v in st.get("seconds", {}).items()))
    for r in results:
        if r.get("serving"):
            lines.append(f"  {r['label']} {r.get('backend', 'embedded')}: a new search process (page cache warm) gives its "
                         f"first result in {r['serving']['first_result_s']} s and peaks at "
                         f"{r['serving']['peak_rss_mb']:.0f} MB RSS over {SERVING_SEARCHES} searches")
    for r in results:
        if r.get("nprobe_sweep"):
            lines.append(f"  {r['label']} IVF nprobe → recall@10 (dense median ms): " + ", ".join(
                f"{x['nprobe']} → {x['recall_at_10']:.3f} ({x['median_ms']:.1f})" for x in r["nprobe_sweep"]))
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> bool:
    """Latency and throughput against corpus size (PNG); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    # One line per series against size: the embedded engine's rows when there are others too.
    results = [r for r in results if r.get("backend", "embedded") == "embedded"] or results
    sizes = [r["passages"] for r in results]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [("keyword", lambda r: r["latency"]["keyword"]), ("bm25s baseline", lambda r: r["baselines"]["bm25s"]),
              ("dense", lambda r: r["latency"]["dense"]), ("exact flat baseline", lambda r: r["baselines"]["faiss_flat"]),
              ("hybrid", lambda r: r["latency"]["hybrid"]), ("ask", lambda r: r["latency"]["ask"])]
    for name, get in series:
        style = "--" if "baseline" in name else "-"
        a.plot(sizes, [get(r)["median_ms"] for r in results], style, marker="o", label=f"{name} p50")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("passages")
    a.set_ylabel("latency, ms (median)")
    a.set_title("query latency")
    a.legend(fontsize=7)
    b.plot(sizes, [r["index"]["passages_per_s"] for r in results], marker="o", label="end to end (wall)")
    b.plot(sizes, [r["index"].get("passages_per_s_on_2_idle_cores", 0) for r in results], ":", marker="o",
           label="from CPU time, 2 idle cores")
    b.set_ylim(bottom=0)
    b.set_xscale("log")
    b.set_xlabel("passages")
    b.set_ylabel("passages / s")
    b.set_title("indexing throughput")
    b2 = b.twinx()
    b2.plot(sizes, [r["index"]["peak_rss_mb"] / 1024 for r in results], "r--", marker="s", label="peak RSS (GB)")
    b2.set_ylim(bottom=0)
    b2.set_ylabel("peak RSS, GB (main process)")
    b.legend(loc="lower left", fontsize=7)
    b2.legend(loc="lower right", fontsize=7)
    fig.suptitle("docsearch scale benchmark (2 cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


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
                shutil.rmtree(_bench_settings(settings, backend, size, work).index_dir, ignore_errors=True)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return out


def write(out: dict, out_dir: Path) -> None:
    (out_dir / "scale.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "scale.md").write_text(format_table(out["sizes"], out["machine"]) + "\n", encoding="utf-8")
    plot(out["sizes"], out_dir / "scale.png")


def _mem_gb() -> int:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    except (ValueError, OSError):
        return 0
