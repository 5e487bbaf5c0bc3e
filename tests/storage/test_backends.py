"""The same library behaviour on both backends: embedded (SQLite + FAISS) and Milvus (Lite here,
or the server in DOCSEARCH_MILVUS_URI)."""
import json
import subprocess
import sys
import uuid

import pytest

from docsearch.engine import DocSearch
from docsearch.ingest import Article

from helpers import BENCH, CORPUS, MILVUS_SERVER, REPO, milvus_settings, needs_bench, needs_milvus

SEED_IDS = ["000_47721d1ce0619f18", "002_0d9808ada31baacb"]


def _article(text: str) -> Article:
    # A unique id and text per test: the Milvus library is shared by the session.
    tag = uuid.uuid4().hex[:8]
    return Article(title=f"测试文章 {tag}", text=f"{text}\n编号{tag}。", id=f"t-{tag}", source="测试", date="2025-01-02")


def test_list_shows_the_seed_articles(library):
    arts = library.articles()
    assert [a.id for a in arts][:2] == SEED_IDS
    assert all(a.passages > 0 and a.title for a in arts[:2])
    assert library.store.passage_count() == sum(a.passages for a in arts)


def test_ask_finds_the_sentence(library):
    resp = library.ask("田纳西州的平均工业电价是多少?", k=3)
    assert "6.89" in resp.answer[0].text
    text = library.article_text(resp.answer[0].article_id)
    assert text[resp.answer[0].start:resp.answer[0].end] == resp.answer[0].text


def test_english_question_finds_the_chinese_passage(library):
    res = library.search("What share of US imports came from China in 2022?", k=3).results
    assert any("14.3%" in r.text for r in res)


def test_lookup_is_complete_and_exact_across_scripts(library):
    from docsearch.text.normalize import aligned_simplified

    resp = library.lookup("芯片")
    assert resp.results and {"芯片", "晶片"} <= set(resp.forms)
    hit_ids = {h.passage_id for h in resp.results}
    for art in library.articles():
        for p in library.store.article_passages(art.id):
            view = aligned_simplified(p.text)
            assert ("芯片" in view or "晶片" in view) == (p.id in hit_ids), p.text[:40]
    for h in resp.results:
        assert all(aligned_simplified(h.text[a:b]) in ("芯片", "晶片") for a, b in h.matches)
    keys = [(h.article_id, h.paragraph) for h in resp.results]   # corpus order
    order = [a.id for a in library.articles()]
    assert keys == sorted(keys, key=lambda k: (order.index(k[0]), k[1]))


def test_add_search_lookup_remove_verify(library):
    art = _article("青稞酒厂在拉萨扩建了三条灌装线,年产能提高到九万吨。")
    report = library.add_articles([art])
    assert report.added == [art.id]
    try:
        assert library.add_articles([_same(art)]).duplicates == [(art.title, art.id)]
        top = library.search("拉萨青稞酒厂的年产能是多少", k=3).results[0]
        assert top.article_id == art.id and "九万吨" in top.text
        hits = library.lookup("青稞").results
        assert [h.article_id for h in hits] == [art.id]
        assert library.article(art.id).source == "测试" and library.article(art.id).date == "2025-01-02"
        assert library.verify() == []
    finally:
        assert library.remove(art.id)
    assert library.article(art.id) is None
    assert library.lookup("青稞").results == []
    assert all(r.article_id != art.id for r in library.search("拉萨青稞酒厂的年产能", k=10).results)
    assert library.verify() == []
    assert library.empty_trash([art.id]) == 1


def test_remove_goes_to_the_trash_and_restore_brings_it_back(library):
    art = _article("青稞酒厂在日喀则新建了两条灌装线,年产能提高到五万吨。")
    assert library.add_articles([art]).added == [art.id]
    before = [(p.paragraph, p.text) for p in library.store.article_passages(art.id)]
    try:
        assert library.remove(art.id) and not library.remove(art.id)
        assert [(r.id, bool(when)) for r, when in library.trash()] == [(art.id, True)]
        assert library.article(art.id) is None and art.id not in [a.id for a in library.articles()]
        assert library.lookup("日喀则").results == []
        assert all(r.article_id != art.id for r in library.search("日喀则青稞酒厂的年产能", k=10).results)
        assert library.verify() == []
        refused = library.add_articles([_same(art)]).refused   # the same text again: restore it instead
        assert refused and "restore" in refused[0][1]
        assert library.restore(art.id) and not library.restore(art.id)
        assert library.trash() == [] and library.article_text(art.id) == art.text
        assert [(p.paragraph, p.text) for p in library.store.article_passages(art.id)] == before
        assert library.search("日喀则青稞酒厂的年产能是多少", k=1).results[0].article_id == art.id
        assert library.verify() == []
        assert library.remove(art.id) and library.empty_trash() == 1
        assert library.trash() == [] and library.verify() == []
        again = library.add_articles([_same(art)]).added   # gone for good: it can come in anew
        assert again
    finally:
        for aid in [art.id] + locals().get("again", []):
            library.delete(aid)
        library.empty_trash()


def _same(art: Article) -> Article:
    return Article(title=art.title, text=art.text, source=art.source, date=art.date)


def test_a_long_article_keeps_its_text_exactly(library):
    # Over 16,000 characters: on Milvus the text is stored in several parts.
    body = "\n".join(f"第{i}段:工厂{i}号线的产能为{i * 7}吨,员工{i * 3}人。" * 12 for i in range(120))
    art = _article(body)
    assert library.add_articles([art]).added == [art.id]
    try:
        assert len(art.text) > 35000 and library.article_text(art.id) == art.text
        assert [t for _, t in library.article_paragraphs(art.id)][:2] == art.text.split("\n")[:2]
    finally:
        library.delete(art.id)


def test_verify_reports_a_passage_without_its_vector(library):
    pid = library.store.passage_ids()[0]
    vec = library.vectors
    emb = library.embedder.encode([library.store.passages([pid])[pid].text])
    vec.remove([pid])
    vec.save()
    try:
        problems = library.verify()
        assert any("1 passages without a vector" in p for p in problems), problems
    finally:
        import numpy as np

        vec.add(np.asarray([pid], dtype=np.int64), emb)
        vec.save()
    assert library.verify() == []


@needs_milvus
def test_both_backends_give_the_same_lookups(seed, milvus_seed):
    for kw in ("芯片", "歐巴馬", "2022", "供应链韧性", "美国"):
        a = [(h.article_id, h.paragraph, h.matches) for h in seed.lookup(kw).results]
        b = [(h.article_id, h.paragraph, h.matches) for h in milvus_seed.lookup(kw).results]
        assert a == b and a, kw


@needs_milvus
def test_both_backends_score_keywords_identically(seed, milvus_seed):
    """Milvus finds the candidates; their scores are FTS5's bm25() to the last digit."""
    from docsearch.retrieval.query import analyze

    for text in ("美国制造业回流的主要来源地是哪里?", "What share of US imports came from China in 2022?", "供应链韧性"):
        q = analyze(text, 2000)
        keyed = []
        for store in (seed.store, milvus_seed.store):
            hits = store.keyword_search(q.words, q.grams, 20, (3.0, 1.0))
            rows = store.passages(i for i, _ in hits)
            keyed.append([(rows[i].article_id, rows[i].ordinal, round(s, 6)) for i, s in hits])
        assert keyed[0] == keyed[1] and keyed[0], text


@needs_bench()
@needs_milvus
def test_both_backends_rank_the_seed_questions_alike(seed, milvus_seed):
    qs = [json.loads(x)["q"] for x in (BENCH / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines() if x]
    for q in qs:
        a = [(r.article_id, r.paragraph, round(r.score, 4)) for r in seed.search(q, k=5).results]
        b = [(r.article_id, r.paragraph, round(r.score, 4)) for r in milvus_seed.search(q, k=5).results]
        assert a == b, q


# -- the CLI on Milvus --------------------------------------------------------------------------
def run(*args, env=None, timeout=300):
    import os

    cmd = [sys.executable, "-m", "docsearch.cli", "--corpus-dir", str(CORPUS), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                       env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


@needs_milvus
def test_a_bad_milvus_uri_is_one_line_and_exit_1(tmp_path):
    rc, out, err = run("--index-dir", str(tmp_path), "--backend", "milvus", "--milvus-uri", "http://127.0.0.1:9",
                       "list", env={"DOCSEARCH_MILVUS_TIMEOUT": "1"})
    assert rc == 1 and "Traceback" not in err
    assert err.strip().splitlines() == ["docsearch: error: cannot reach Milvus at http://127.0.0.1:9: "
                                        + err.split(": ", 3)[-1].strip()]
    rc, out, err = run("--index-dir", str(tmp_path), "list", env={"DOCSEARCH_BACKEND": "cassandra"})
    assert rc == 2 and err.strip().splitlines() == [
        "docsearch: error: settings: backend must be one of embedded, milvus, not 'cassandra'"]


@needs_milvus
@pytest.mark.skipif(bool(MILVUS_SERVER), reason="Milvus Lite behaviour")
def test_milvus_lite_is_one_process_per_file(milvus_seed):
    """This test process holds the session's Lite file: another process gets one clear line."""
    uri = milvus_seed.backend.uri
    rc, out, err = run("--index-dir", str(milvus_seed.index_dir), "--backend", "milvus", "--milvus-uri", uri, "list",
                       env={"DOCSEARCH_MILVUS_LITE_WAIT": "0"})
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "in use by another process" in err and "Traceback" not in err


@needs_milvus
def test_cli_on_milvus_index_add_search_remove(tmp_path):
    env = {"DOCSEARCH_BACKEND": "milvus", "DOCSEARCH_MILVUS_COLLECTION": f"docsearch_cli_{uuid.uuid4().hex[:8]}"}
    ix = str(tmp_path / "ix")
    rc, out, err = run("--index-dir", ix, "list", "--json", env=env)
    assert rc == 0, err
    assert [a["id"] for a in json.loads(out)["articles"]] == SEED_IDS
    if not MILVUS_SERVER:
        assert (tmp_path / "ix" / "milvus.db").exists()   # state lives in Milvus, not in SQLite
        assert not (tmp_path / "ix" / "docsearch.sqlite3").exists()
    doc = tmp_path / "doc.jsonl"
    doc.write_text(json.dumps({"id": "cli-1", "title": "青稞酒", "text": "青稞酒厂在拉萨扩建了灌装线。"},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    rc, out, err = run("--index-dir", ix, "add", str(doc), env=env)
    assert rc == 0 and "added cli-1" in out, err
    rc, out, err = run("--index-dir", ix, "search", "拉萨的青稞酒厂", "-k", "1", "--json", env=env)
    assert json.loads(out)["results"][0]["article_id"] == "cli-1"
    rc, out, err = run("--index-dir", ix, "remove", "cli-1", env=env)
    assert rc == 0, err
    rc, out, err = run("--index-dir", ix, "verify", env=env)
    assert rc == 0 and "verify: ok (2 articles" in out, out + err
    if MILVUS_SERVER:
        DocSearch(milvus_settings(tmp_path / "ix", prefix=env["DOCSEARCH_MILVUS_COLLECTION"])).drop_library()


@needs_milvus
@pytest.mark.skipif(not MILVUS_SERVER.startswith(("http", "tcp", "grpc")),
                    reason="two processes on one library need a Milvus server (set DOCSEARCH_MILVUS_URI); "
                           "Milvus Lite serves one process per file")
def test_two_processes_share_one_library(tmp_path):
    """An add through one CLI process is found through another; searches during the add never fail."""
    import os

    env = {"DOCSEARCH_BACKEND": "milvus", "DOCSEARCH_MILVUS_COLLECTION": f"docsearch_share_{uuid.uuid4().hex[:8]}"}
    a, b = str(tmp_path / "a"), str(tmp_path / "b")   # two machines' worth of local folders
    assert run("--index-dir", a, "index", env=env)[0] == 0
    doc = tmp_path / "doc.jsonl"
    doc.write_text("\n".join(json.dumps({"id": f"share-{i}", "title": f"青稞酒 {i}",
                                         "text": f"青稞酒厂在拉萨扩建了第{i}条灌装线。"}, ensure_ascii=False)
                             for i in range(50)) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "docsearch.cli", "--corpus-dir", str(CORPUS), "--index-dir", a, "add", str(doc)]
    adder = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    searches = 0
    while adder.poll() is None or searches == 0:
        rc, out, err = run("--index-dir", b, "search", "拉萨的青稞酒厂", "--json", env=env)
        assert rc == 0 and "Traceback" not in err, err
        searches += 1
    assert adder.returncode == 0
    rc, out, err = run("--index-dir", b, "lookup", "青稞", "--json", env=env)
    assert json.loads(out)["count"] == 50
    DocSearch(milvus_settings(tmp_path / "a", prefix=env["DOCSEARCH_MILVUS_COLLECTION"])).drop_library()


@needs_milvus
def test_both_backends_count_the_same_document_frequencies(seed, milvus_seed):
    from docsearch.retrieval.query import analyze

    for q in ("美国制造业回流的主要来源地是哪里?", "What share of US imports came from China in 2022?"):
        grams = analyze(q, 2000).grams
        assert seed.store.document_frequencies(grams) == milvus_seed.store.document_frequencies(grams) != {}
    alts = ["芯片", "美国 制造业", "2022"]
    assert seed.store.phrase_frequencies(alts) == milvus_seed.store.phrase_frequencies(alts)


@needs_milvus
def test_milvus_repair_primitives(tmp_path):
    """What the engine's repair needs from a store: orphans found and deleted, term statistics
    rebuilt, articles listed with their text."""
    from docsearch.text.tokens import passage_tokens

    ds = DocSearch(milvus_settings(tmp_path / "m", corpus_dir=tmp_path / "none"))
    try:
        a, b = _article("甲厂扩建了灌装线。"), _article("乙厂关闭了灌装线。")
        ds.add_articles([a, b])
        store = ds.store
        assert [(r.id, t) for r, t in store.articles_with_text()] == [(a.id, a.text), (b.id, b.text)]
        store.client.delete(store.articles_c, filter=f'id == "{b.id}"')   # an interrupted remove
        orphans = store.orphan_passages()
        assert orphans and set(orphans) == {p.id for p in store.article_passages(b.id)}
        store.delete_passages(orphans)
        assert store.orphan_passages() == [] and store.keyword_index_problems(store.passage_ids()) == []
        lost = [r["key"] for r in store.client.query(store.terms_c, filter='key != ""', limit=5,
                                                     output_fields=["key"])]
        store.client.delete(store.terms_c, ids=lost)                          # lost term statistics
        assert any("term statistics" in e for e in store.integrity_errors())
        rows = store.passages(store.passage_ids())
        store.rebuild_keyword_index((pid, passage_tokens(p.text)) for pid, p in rows.items())
        assert store.integrity_errors() == []
    finally:
        if MILVUS_SERVER:
            ds.drop_library()
        ds.close()


@needs_milvus
def test_two_writers_never_share_a_term_count_row(tmp_path):
    """Two app servers (two index folders) writing one library: each keeps its own count rows, so
    neither can overwrite the other's (a shared row lost counts when both added a term at once);
    a term's count is the sum, also after one removes what the other added."""
    from dataclasses import replace

    from docsearch.text import chunk as chunk_mod
    from docsearch.text.tokens import passage_tokens
    from docsearch.storage.milvus.store import MilvusStore

    settings = milvus_settings(tmp_path / "a", corpus_dir=tmp_path / "none")
    ds = DocSearch(settings)
    try:
        a, b = _article("灌装线扩建。"), _article("灌装线关闭。")
        ds.add_articles([a])
        assert ds.store.phrase_frequencies(["灌装线"]) == {"灌装线": 1}   # counted, then cached
        other = MilvusStore(ds.backend.client, replace(settings, index_dir=tmp_path / "b"))
        assert other.writer != ds.store.writer
        chunks = chunk_mod.chunk(b.text, settings.max_passage_chars, settings.heading_max_chars)
        other.add_articles([(b, chunks, [passage_tokens(c.text) for c in chunks])], origin="added")
        other.flush()
        shard = ds.store._shard("灌装")
        for writer in (ds.store.writer, other.writer):
            rows = ds.store._read_shards(ds.store.terms_c, ds.store._part_keys(writer, shard))
            assert sum(c.get("灌装", 0) for c in rows.values()) == 1
        assert ds.store.document_frequencies(["灌装"]) == {"灌装": 2}
        assert ds.store.phrase_frequencies(["灌装线"]) == {"灌装线": 2}   # the other's write renewed the token
        other.remove_article(a.id)   # one server removes the other's article: its own row goes to -1
        assert ds.store.document_frequencies(["灌装"]) == {"灌装": 1}
        assert ds.store.phrase_frequencies(["灌装线"]) == {"灌装线": 1}
        assert ds.store.integrity_errors() == []
    finally:
        if MILVUS_SERVER:
            ds.drop_library()
        ds.close()


@needs_milvus
def test_term_counts_of_the_single_row_layout_are_carried_over(tmp_path):
    """A library written before counts were kept per writer opens with the same counts."""
    settings = milvus_settings(tmp_path / "m", corpus_dir=tmp_path / "none")
    ds = DocSearch(settings)
    try:
        ds.add_articles([_article("灌装线扩建。"), _article("灌装线关闭。")])
        store, client = ds.store, ds.store.client
        before = store.document_frequencies(["灌装", "关闭"])
        counts = store._all_counts()
        store._drop_terms()
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        pm = store._pm
        schema.add_field("term", pm.DataType.VARCHAR, is_primary=True, max_length=1024)
        schema.add_field("df", pm.DataType.INT64)
        legacy = store.c.ensure("terms", schema, store._dummy_index(schema))
        client.insert(legacy, [{"term": t, "df": n, "v": [0.0, 0.0]} for t, n in counts.items()])
        reopened = type(store)(client, settings)
        assert not client.has_collection(legacy)
        assert reopened.document_frequencies(["灌装", "关闭"]) == before == {"灌装": 2, "关闭": 1}
        assert reopened.integrity_errors() == []
    finally:
        if MILVUS_SERVER:
            ds.drop_library()
        ds.close()


@needs_milvus
def test_the_app_answers_from_a_milvus_library(milvus_seed, monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    s = milvus_seed.settings
    # The same library the session built (this process already serves its Lite file).
    for name, value in {"BACKEND": "milvus", "MILVUS_URI": milvus_seed.backend.uri, "INDEX_DIR": str(s.index_dir),
                        "MILVUS_COLLECTION": s.milvus_collection, "CORPUS_DIR": str(CORPUS)}.items():
        monkeypatch.setenv(f"DOCSEARCH_{name}", value)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="question").set_value("田纳西州的平均工业电价是多少?")
    at.button[0].click().run()
    assert not at.exception
    assert "6.89" in "\n".join(m.value for m in at.markdown)
    assert not (s.index_dir / "docsearch.sqlite3").exists()   # answered from Milvus, not a new SQLite index


def test_a_large_shard_of_term_counts_is_split_into_rows_and_read_back_whole():
    from docsearch.errors import BackendError
    from docsearch.storage.milvus.store import MilvusStore
    from docsearch.storage.milvus.terms import PART_BYTES

    counts = {f"词{i:06d}": i % 7 + 1 for i in range(9000)}   # ~130 KB of JSON: three rows
    parts = MilvusStore._split(counts)
    assert len(parts) == 3 and all(len(p.encode("utf-8")) <= PART_BYTES for p in parts)
    merged = {}
    for p in parts:
        merged.update(json.loads(p))
    assert merged == counts
    assert MilvusStore._split({"美国": 3}) == ['{"美国":3}'] and MilvusStore._split({}) == []
    with pytest.raises(BackendError, match="outgrown"):
        MilvusStore._split({f"词{i:07d}": 1 for i in range(40000)})


@needs_milvus
def test_a_dense_index_type_the_engine_refuses_is_one_clear_error(tmp_path):
    """HNSW: built on a server; Milvus Lite refuses it, and the user gets one line naming it."""
    from docsearch.errors import BackendError

    settings = milvus_settings(tmp_path / "m", corpus_dir=tmp_path / "none", milvus_index_type="HNSW")
    if MILVUS_SERVER:
        ds = DocSearch(settings)
        try:
            a = _article("灌装线扩建。")
            ds.add_articles([a])
            assert ds.search("灌装线", k=1, dense_weight=1.0).results[0].article_id == a.id
        finally:
            ds.drop_library()
            ds.close()
        return
    ds = DocSearch(settings)
    try:
        with pytest.raises(BackendError, match="HNSW.*local mode only support"):
            ds.add_articles([_article("灌装线扩建。")])
    finally:
        ds.close()
