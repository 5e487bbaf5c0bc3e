"""The storage protocols (storage.base), one suite run against every backend: the embedded
SQLite + FAISS pair and Milvus (Lite here, or the server DOCSEARCH_MILVUS_URI names). A third
backend passes these before the engine can use it."""
from __future__ import annotations

import numpy as np
import pytest

from docsearch.ingest import Article
from docsearch.storage.base import Backend
from docsearch.storage.factory import open_backend
from docsearch.text.chunk import chunk
from docsearch.text.tokens import passage_tokens
from helpers import milvus_available, milvus_settings, settings_for

TEXTS = {"tw": "美國的晶片法案推動半導體回流。\n資料顯示投資翻了一番。",
         "cn": "美国的芯片法案推动半导体回流。\nC++ 与 a:b 都是普通文字。",
         "jp": "日本的养老金制度与制造业无关。"}


@pytest.fixture(scope="module", params=["embedded", "milvus"])
def backend(request, tmp_path_factory) -> Backend:
    folder = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "milvus":
        if not milvus_available():
            pytest.skip("pymilvus / milvus-lite not installed")
        settings = milvus_settings(folder)
    else:
        settings = settings_for(folder)
    b = open_backend(settings)
    items = []
    for aid, text in TEXTS.items():
        art = Article(title=f"title {aid}", text=text, id=aid, source="test")
        cs = chunk(text, 800, 50)
        items.append((art, cs, [passage_tokens(c.text) for c in cs]))
    b.store.add_articles(items, "added")
    b.store.flush()
    yield b
    b.drop_library()


def test_articles_keep_text_metadata_and_order(backend):
    s = backend.store
    assert [a.id for a in s.articles()] == list(TEXTS)
    assert s.article_text("cn") == TEXTS["cn"] and s.article("cn").source == "test"
    assert s.article("nope") is None and s.article_text("nope") is None
    order = s.article_order()
    assert order["tw"] < order["cn"] < order["jp"]
    art = Article(title="x", text=TEXTS["tw"])
    assert s.articles_by_hash([art.content_hash])[art.content_hash].id == "tw"
    assert set(s.articles_by_id(["cn", "nope"])) == {"cn"}
    assert [(r.id, t) for r, t in s.articles_with_text()] == list(TEXTS.items())


def test_passages_point_back_into_their_article(backend):
    s = backend.store
    ids = s.passage_ids()
    assert len(ids) == s.passage_count() == sum(a.passages for a in s.articles())
    rows = s.passages(ids)
    for p in rows.values():
        assert s.article_text(p.article_id)[p.start:p.end] == p.text
    assert [p.paragraph for p in s.article_passages("tw")] == [1, 2]
    assert s.orphan_passages() == []


def test_keyword_search_is_script_blind_and_treats_syntax_as_text(backend):
    from docsearch.retrieval.query import analyze

    s = backend.store
    q = analyze("芯片法案", 100)
    hits = s.keyword_search(q.words, q.grams, 10, (3.0, 1.0))
    owners = {s.passages([pid])[pid].article_id for pid, _ in hits}
    assert owners == {"tw", "cn"}
    assert [sc for _, sc in hits] == sorted((sc for _, sc in hits), reverse=True)
    for raw in ("C++", "a:b", '"a"', "NEAR(a b)", "x*", "{words}: y"):
        q = analyze(raw, 100)
        s.keyword_search(q.words, q.grams, 10, (1.0, 1.0))  # never raises


def test_lookup_statistics_agree(backend):
    s = backend.store
    found = s.phrase_candidates([["芯", "片"]])
    assert {s.passages([i])[i].article_id for i in found} == {"cn"}
    assert {s.passages([i])[i].article_id for i in s.phrase_candidates([["晶", "片"], ["芯", "片"]])} == {"tw", "cn"}
    assert s.phrase_candidates([["片", "芯"]]) == []
    assert s.phrase_frequencies(["芯片", "养老金"]) == {"芯片": 1, "养老金": 1}
    df = s.document_frequencies(["芯片", "养老", "不在"])
    assert df.get("芯片") == 2 and df.get("养老") == 1 and not df.get("不在")
    words = dict(s.passage_words())
    assert set(words) == set(s.passage_ids()) and all(isinstance(w, str) for w in words.values())
    assert s.integrity_errors() == [] and s.keyword_index_problems(s.passage_ids()) == []


def test_vectors_add_search_remove(backend):
    assert not backend.has_vectors()
    vec = backend.open_vectors(4)
    ids = np.array(backend.store.passage_ids(), dtype=np.int64)
    rng = np.random.default_rng(0)
    vs = rng.normal(size=(len(ids), 4)).astype(np.float32)
    vs /= np.linalg.norm(vs, axis=1, keepdims=True)
    vec.add(ids, vs)
    vec.save()
    assert backend.has_vectors() and len(vec) == len(ids)
    assert vec.search(vs[0], 1)[0][0] == ids[0]
    got_ids, got = vec.all_vectors()
    assert sorted(got_ids.tolist()) == sorted(ids.tolist()) and got.shape == (len(ids), 4)
    vec.remove([int(ids[0])])
    vec.save()
    assert int(ids[0]) not in vec.ids().tolist()
    backend.drop_vectors()
    assert not backend.has_vectors()
    assert backend.heal() == []


def test_remove_and_replace_keep_everything_in_step(backend):
    s = backend.store
    removed = s.remove_article("jp")
    s.flush()
    assert removed and s.article("jp") is None and not set(removed) & set(s.passage_ids())
    cs = chunk(TEXTS["cn"], 800, 50)
    old, new = s.replace_passages("cn", cs, [passage_tokens(c.text) for c in cs])
    s.flush()
    assert old and [p.id for p in s.article_passages("cn")] == new  # SQLite may reuse the old ids
    assert s.integrity_errors() == [] and s.keyword_index_problems(s.passage_ids()) == []
    s.set_meta("k", "v")
    assert s.get_meta("k") == "v" and s.get_meta("missing") is None
