"""The facade on the shipped corpus, with the real model, database and FAISS index."""
import json

import pytest

from docsearch.engine import DocSearch
from docsearch.storage.embedded.backend import VECTORS_NAME
from docsearch.ingest import Article

from helpers import BENCH, needs_bench, settings_for


def _seed_questions():
    if not (BENCH / "seed_dev_qa.jsonl").exists():
        return []
    return [json.loads(line) for line in (BENCH / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


@needs_bench()
@pytest.mark.parametrize("q", [q for q in _seed_questions() if q["lang"] != "en"], ids=lambda q: q["id"])
def test_every_chinese_seed_question_is_answered_at_rank_1(seed, q):
    from docsearch.text.normalize import converter
    t2s = converter("t2s")
    top = seed.search(q["q"], k=1).results[0]
    assert any(g in t2s.convert(top.text) for g in q["gold"]), top.citation


@needs_bench()
@pytest.mark.parametrize("q", [q for q in _seed_questions() if q["lang"] == "en"], ids=lambda q: q["id"])
def test_english_seed_questions_find_their_chinese_passage_in_the_top_5(seed, q):
    from docsearch.text.normalize import converter
    t2s = converter("t2s")
    texts = [t2s.convert(r.text) for r in seed.search(q["q"], k=5).results]
    assert any(g in t for t in texts for g in q["gold"]), q["q"]


def test_scripts_and_vocabularies_give_the_same_ranking(seed):
    a = [(r.article_id, r.paragraph) for r in seed.search("美国晶片法案的进展", k=5).results]
    b = [(r.article_id, r.paragraph) for r in seed.search("美國芯片法案的進展", k=5).results]
    assert a == b and a


def test_ask_highlights_a_sentence_inside_the_cited_passage(seed):
    resp = seed.ask("田纳西州的平均工业电价是多少?", k=3)
    assert "6.89" in resp.answer[0].text
    for r, sent, a, b in resp.passages:
        assert r.text[a:b] == sent and sent
    first = resp.answer[0]
    text = seed.article_text(first.article_id)
    assert text[first.start:first.end] == first.text
    paras = dict(seed.article_paragraphs(first.article_id))
    assert first.text in paras[first.paragraph]


def test_lookup_of_a_latin_phrase_and_a_number(seed):
    assert seed.lookup("Good Jobs First").results
    assert seed.lookup("14.3%").results
    assert not seed.lookup("Jobs Good").results


def test_add_dedup_remove_and_verify(fresh):
    art = Article(title="高雄港", text="高雄港第七貨櫃中心在二〇二五年啟用,每小時可裝卸四十二箱。", id="kh-1")
    rep = fresh.add_articles([art])
    assert rep.added == ["kh-1"]
    assert fresh.search("高雄港第七货柜中心", k=1).results[0].article_id == "kh-1"
    again = fresh.add_articles([Article(title="x", text="高雄港第七货柜中心在二〇二五年启用,每小时可装卸四十二箱。")])
    assert again.duplicates == [("x", "kh-1")] and not again.added
    assert fresh.verify() == []
    assert fresh.remove("kh-1") and not fresh.remove("kh-1")
    assert all(r.article_id != "kh-1" for r in fresh.search("高雄港", k=5).results)
    assert fresh.verify() == []


def test_verify_detects_missing_vectors_and_sync_heals_them(fresh):
    (fresh.index_dir / VECTORS_NAME).unlink()
    fresh.library.drop_vectors()
    assert any("vector" in p for p in fresh.verify())
    fresh.sync_vectors()
    assert fresh.verify() == []


def test_rebuild_keeps_added_articles(fresh):
    fresh.add_articles([Article(title="加", text="一篇用户加入的文章,谈近岸外包。", id="u-1")])
    fresh.index(rebuild=True)
    assert fresh.article("u-1") is not None
    assert fresh.lookup("近岸外包").results
    assert fresh.verify() == []


def test_corpus_refresh_picks_up_new_and_removed_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("---\ntitle: A\n---\n第一段讲友岸外包。", encoding="utf-8")
    ds = DocSearch(settings_for(tmp_path / "ix", corpus_dir=corpus))
    assert ds.index()["added"] == 1
    (corpus / "b.txt").write_text("B\n第二篇讲近岸外包。", encoding="utf-8")
    (corpus / "a.md").unlink()
    stats = ds.index()
    assert (stats["added"], stats["removed"]) == (1, 1)
    assert [a.id for a in ds.articles()] == ["b"]


def test_another_model_never_mixes_vectors(fresh, monkeypatch):
    fresh.store.set_meta("model", "some-other-model")
    problems = fresh.verify()
    assert any("some-other-model" in p for p in problems)


def test_searches_keep_working_while_articles_are_added(fresh):
    import threading
    errors = []

    def add():
        try:
            for i in range(15):
                fresh.add_articles([Article(title=f"t{i}", text=f"第{i}篇:墨西哥近岸外包的第{i}个厂房项目,投资{i}亿美元。")])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    writer = threading.Thread(target=add)
    writer.start()
    n = 0
    while writer.is_alive() or n < 5:
        assert fresh.search("What share of US imports came from China?", k=3).results  # dense + keyword
        assert fresh.search("近岸外包", k=3).results
        n += 1
    writer.join()
    assert not errors and n >= 5
    assert len(fresh.articles()) == 17 and fresh.verify() == []
