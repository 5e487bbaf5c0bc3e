import numpy as np
import pytest

from docsearch.text.chunk import chunk
from docsearch.text.tokens import passage_tokens
from docsearch.ingest import Article
from docsearch.storage.embedded.sqlite import SQLiteStore
from docsearch.storage.embedded.faiss_vectors import FaissVectors


@pytest.fixture()
def store(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite3")
    for aid, text in (("t", "美國的晶片法案推動半導體回流。\n資料顯示投資翻了一番。"),
                      ("s", "美国的芯片法案推动半导体回流。\nC++ 与 a:b 都是普通文字。")):
        art = Article(title=aid, text=text, id=aid)
        cs = chunk(text, 800, 50)
        s.add_articles([(art, cs, [passage_tokens(c.text) for c in cs])], "added")
    return s


def test_keyword_search_finds_both_scripts(store):
    from docsearch.retrieval.query import analyze
    q = analyze("芯片法案", 100)
    hits = store.keyword_search(q.words, q.grams, 10, (3.0, 1.0))
    owners = {store.passages([pid])[pid].article_id for pid, _ in hits}
    assert owners == {"t", "s"}


@pytest.mark.parametrize("raw", ['AND', 'OR NOT', '"', 'C++', 'a:b', '(x', 'NEAR(a b)', '*', '^x', '{words}: x'])
def test_fts_syntax_in_queries_is_plain_text(store, raw):
    from docsearch.retrieval.query import analyze
    try:
        q = analyze(raw, 100)
    except ValueError:
        return
    store.keyword_search(q.words, q.grams, 10, (1.0, 1.0))  # must not raise


def test_remove_deletes_every_derived_row(store):
    ids = store.remove_article("s")
    assert ids and store.article("s") is None
    assert store.keyword_index_problems(store.passage_ids()) == []


def test_phrase_candidates_are_substrings(store):
    found = store.phrase_candidates([["芯", "片"], ["晶", "片"]])
    assert len(found) == 2
    assert store.phrase_candidates([["片", "芯"]]) == []


def test_vectors_add_remove_save_reload(tmp_path):
    path = tmp_path / "v.faiss"
    v = FaissVectors(path, 4)
    vecs = np.eye(4, dtype=np.float32)
    v.add(np.array([10, 11, 12, 13]), vecs)
    v.remove([11])
    v.save()
    again = FaissVectors(path, None)
    assert sorted(again.ids().tolist()) == [10, 12, 13]
    assert again.search(vecs[2], 1)[0][0] == 12
    assert not list(tmp_path.glob(".vectors-*"))  # no temporary file left behind
