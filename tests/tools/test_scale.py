"""Scale: bulk adds through the worker pool, the vector index switching type by size, common
terms under the keyword postings budget, and a small scale benchmark run. No timing asserts.
The libraries use the static model, the large-library path these mechanics serve."""
import json
import shutil

import numpy as np
import pytest

from docsearch.config import STATIC_MODEL
from helpers import BENCH, CORPUS, needs_bench, settings_for as _settings_for
from docsearch.tools.scale import corpus as scale_corpus, run as scale_run
from docsearch.engine import DocSearch


def settings_for(index_dir, **kw):
    return _settings_for(index_dir, **{"model": STATIC_MODEL, **kw})


def seed_paragraphs() -> list[str]:
    return [line.strip() for f in sorted(CORPUS.glob("0*.md"))
            for line in f.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 40]


def build(tmp_path, name: str, n: int, **kw) -> DocSearch:
    ds = DocSearch(settings_for(tmp_path / name, **kw))
    ds.add_articles(scale_corpus.synthetic_articles(seed_paragraphs(), n, seed=1))
    return ds


def test_synthetic_passages_vary_and_keep_their_number():
    arts = list(scale_corpus.synthetic_articles(seed_paragraphs(), 300, seed=3))
    texts = [p for a in arts for p in a.text.split("\n\n")]
    assert len(texts) == 300
    assert len(set(texts)) == 300                          # no exact duplicates
    assert len({a.content_hash for a in arts}) == len(arts)
    assert max(len(t) for t in texts) <= 800               # one passage per paragraph


def test_pool_and_in_process_indexing_store_the_same(tmp_path):
    pooled = build(tmp_path, "pool", 400, index_workers=2, index_batch_passages=60)
    inline = build(tmp_path, "inline", 400, index_workers=1)
    assert pooled.last_add_stats.workers == 2 and inline.last_add_stats.workers == 1
    assert pooled.store.passage_count() == inline.store.passage_count() == 400
    rows = "SELECT rowid, words, grams FROM passage_fts ORDER BY rowid"
    assert pooled.store.db.execute(rows).fetchall() == inline.store.db.execute(rows).fetchall()
    a, b = pooled.vectors.all_vectors(), inline.vectors.all_vectors()
    assert np.array_equal(np.sort(a[0]), np.sort(b[0]))
    assert np.allclose(a[1][np.argsort(a[0])], b[1][np.argsort(b[0])], atol=1e-6)
    stats = pooled.last_add_stats.to_json()
    assert set(stats["seconds"]) == {"normalize", "segment", "embed", "store", "vectors"}
    assert pooled.verify() == []


def test_vector_index_switches_to_ivf_and_still_removes_by_id(tmp_path):
    ds = build(tmp_path, "ivf", 900, vector_exact_max=500, ivf_nprobe=64)
    meta = json.loads(ds.store.get_meta("vector_index"))
    n = ds.store.passage_count()  # about 900: a generated paragraph can read as a heading and merge
    assert n > 500 and meta["type"] == "ivf_flat" and meta["ntotal"] == n and meta["nlist"] >= 1
    victim = ds.articles()[3]
    gone = [p.id for p in ds.store.article_passages(victim.id)]
    assert ds.remove(victim.id)
    ids = set(ds.vectors.ids().tolist())
    assert not ids & set(gone) and len(ids) == n - len(gone)
    assert ds.verify() == []
    # Reopened from disk: still IVF, with the configured nprobe; dense search finds a passage's own text.
    ds.close()
    again = DocSearch(settings_for(tmp_path / "ivf", vector_exact_max=500, ivf_nprobe=64))
    assert again.vectors.describe()["type"] == "ivf_flat"
    p = again.store.passages([again.store.passage_ids()[10]])
    pid, row = next(iter(p.items()))
    hits = again.dense_ranked(again.embedder.encode([row.text])[0], 5)
    assert hits[0][0] == pid


def test_small_corpus_stays_exact(tmp_path):
    ds = build(tmp_path, "flat", 120)
    assert json.loads(ds.store.get_meta("vector_index"))["type"] == "flat"


def test_common_terms_under_a_small_postings_budget(tmp_path):
    full = build(tmp_path, "common", 600)
    budget = DocSearch(settings_for(tmp_path / "common", keyword_postings_budget=40))
    df = full.store.column_frequencies(["美国"])
    assert df[("words", "美国")] > 40                      # the budget really binds
    for query in ("美国", "供应链", "美国的供应链"):
        res = budget.search(query, k=10, dense_weight=0.0).results
        assert res, query
    # a lone common term: only its newest rows are ranked, and every hit holds it
    res = budget.search("美国", k=10, dense_weight=0.0).results
    assert all(budget.highlight_spans(r.text, ["美国"]) for r in res)
    # with a budget every term fits in, ranking is exactly the unlimited one
    roomy = DocSearch(settings_for(tmp_path / "common", keyword_postings_budget=10**9))
    nolimit = DocSearch(settings_for(tmp_path / "common", keyword_postings_budget=0))
    for query in ("美国制造业回流的主要来源地是哪里?", "供应链韧性"):
        assert [r.passage_id for r in roomy.search(query, k=10, dense_weight=0.0).results] == \
               [r.passage_id for r in nolimit.search(query, k=10, dense_weight=0.0).results]


def test_parse_sizes():
    assert scale_corpus.parse_sizes("100k,10k,1m") == [10_000, 100_000, 1_000_000]
    assert scale_corpus.parse_sizes("2000") == [2000]
    with pytest.raises(ValueError):
        scale_corpus.parse_sizes("lots")


@needs_bench()
def test_small_scale_bench_writes_json_with_baselines_and_recall(tmp_path):
    """Both backends side by side on the same synthetic corpus, as `bench --backends embedded,milvus`."""
    from docsearch.config import Settings

    settings = Settings(index_dir=tmp_path / "unused", corpus_dir=CORPUS, vector_exact_max=1500,
                        model=STATIC_MODEL)
    out = tmp_path / "out"
    res = scale_run.run([2000], settings, BENCH, BENCH.parent / "seeds", out, tmp_path / "work",
                         n_queries=20, cold=False, log=lambda m: None, backends=["embedded", "milvus"])
    data = json.loads((out / "scale.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(res, ensure_ascii=False))
    embedded, milvus = data["sizes"]
    assert (embedded["backend"], milvus["backend"]) == ("embedded", "milvus")
    assert embedded["vector_index"]["type"] == "ivf_flat" and milvus["vector_index"]["type"] == "milvus:flat"
    for size in (embedded, milvus):
        assert size["passages"] == 2000 and size["articles"] == embedded["articles"]
        assert 0.0 <= size["dense_recall_at_10"] <= 1.0
        for mode in ("keyword", "dense", "hybrid", "ask", "keyword_common_terms"):
            assert size["latency"][mode]["median_ms"] <= size["latency"][mode]["p95_ms"]
        assert {"bm25s", "faiss_flat", "bm25s_common_terms"} <= set(size["baselines"])
        assert set(size["ratios"]) >= {"keyword_vs_bm25s_median", "dense_vs_flat_median"}
        assert size["index"]["passages_per_s"] > 0 and size["disk_mb"] > 0
        assert set(size["index"]["stages"]["seconds"]) == {"normalize", "segment", "embed", "store", "vectors"}
    # a separate search process opened the library and answered (not on Milvus Lite: one process per file)
    assert embedded["serving"]["first_result_s"] > 0 and embedded["serving"]["peak_rss_mb"] > 50
    assert "serving" not in milvus
    assert milvus["dense_recall_at_10"] == 1.0  # a FLAT Milvus index is exact
    table = (out / "scale.md").read_text(encoding="utf-8")
    assert "| 2k | embedded |" in table and "| 2k | milvus |" in table
    assert not list((tmp_path / "work").glob("index-*"))  # indexes are removed after measuring
    shutil.rmtree(tmp_path / "work", ignore_errors=True)


def test_ivf_lists_are_retrained_as_the_index_grows(tmp_path):
    from docsearch.storage.embedded.faiss_vectors import FaissVectors, IndexPolicy

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1400, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    v = FaissVectors(tmp_path / "v.faiss", 32, IndexPolicy(exact_max=500, nprobe=8))
    v.add(np.arange(600), x[:600])
    first = v.describe()
    assert first["type"] == "ivf_flat"
    v.add(np.arange(600, 1400), x[600:])
    assert v.describe()["nlist"] >= 2 * first["nlist"]
    assert np.array_equal(v.ids(), np.arange(1400))
    ids, vecs = v.all_vectors()   # what a retrain reads back: every vector under its id
    assert np.array_equal(np.sort(ids), np.arange(1400)) and np.array_equal(vecs[np.argsort(ids)], x)
    v.remove([5, 6])
    assert len(v) == 1398 and 5 not in set(v.ids().tolist())
    assert v.search(x[100], 1)[0][0] == 100


def test_cached_counts_follow_writes_from_this_and_other_connections(fresh):
    from docsearch.ingest import Article
    from docsearch.storage.embedded.sqlite import SQLiteStore

    before = fresh.store.column_frequencies(["鲸鱼"]).get(("words", "鲸鱼"), 0)
    phrase_before = fresh.store.phrase_frequencies(["鲸鱼"])["鲸鱼"]
    fresh.add_articles([Article(title="鲸", text="座头鲸鱼在港口外出现,鲸鱼很大。", id="whale")])
    assert fresh.store.column_frequencies(["鲸鱼"])[("words", "鲸鱼")] == before + 1
    assert fresh.store.phrase_frequencies(["鲸鱼"])["鲸鱼"] == phrase_before + 1
    other = SQLiteStore(fresh.store.path)   # another connection (another process would be the same)
    other.remove_article("whale")
    assert fresh.store.column_frequencies(["鲸鱼"]).get(("words", "鲸鱼"), 0) == before
    other.close()
