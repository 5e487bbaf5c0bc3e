"""The re-ranking step of `ask` (retrieval/rerank.py): windows, the prior-weighted order, and the
engine's use of it. The cross-encoder itself is tested in tests/models/test_reranker.py."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docsearch.retrieval.query import analyze
from docsearch.retrieval.rerank import WINDOW_CHARS, Reranker, best_windows, grams, reordered, windows
from docsearch.text.chunk import sentence_spans

sentence = st.text(alphabet="制造业回流美国台积电晶片工厂补贴年亿元 ", min_size=1, max_size=90).map(lambda s: s + "。")


@given(st.lists(sentence, min_size=1, max_size=12))
def test_windows_cover_every_sentence_within_the_size(parts):
    text = "".join(parts)
    spans = windows(text)
    assert all(0 <= a < b <= len(text) and b - a <= WINDOW_CHARS for a, b in spans)
    starts = {a for a, _ in sentence_spans(text)}
    assert all(a in starts for a, _ in spans)          # windows begin at a sentence
    for a, b in sentence_spans(text):                  # and every sentence is read by one
        assert any(wa <= a and (b <= wb or wb - wa == WINDOW_CHARS) for wa, wb in spans)


def test_best_windows_are_those_sharing_most_with_the_question():
    text = "美国推出补贴计划。" * 10 + "台积电在亚利桑那州建厂,投资四百亿美元。" + "工厂雇用本地工人。" * 10
    chosen = best_windows(grams("台积电在亚利桑那州投资多少?"), text, 2)
    assert "台积电在亚利桑那州建厂" in chosen[0]
    assert len(chosen) == 2 and chosen[0] != chosen[1]


def test_the_prior_keeps_the_search_order_unless_the_score_gap_outweighs_it():
    assert reordered([1.0, 2.0, 3.0], 0.0) == [2, 1, 0]
    assert reordered([1.0, 2.0, 3.0], 50.0) == [0, 1, 2]
    # Rank 2 overtakes rank 1 only by more than prior x ln 2.
    gap = 2.0 * math.log(2)
    assert reordered([0.0, gap - 0.01], 2.0) == [0, 1]
    assert reordered([0.0, gap + 0.01], 2.0) == [1, 0]
    assert reordered([5.0, 5.0, 5.0], 0.0) == [0, 1, 2]  # ties keep the search order


class _CharCount:
    """Scores a window by its count of 晶: an order the test can predict (the real model is
    tested in tests/models/test_reranker.py)."""

    def score(self, question, ws):
        import numpy as np
        return np.array([w.count("晶") for w in ws], dtype=np.float32)


def test_rerank_numbers_the_new_order_and_keeps_the_tail(seed):
    results = seed.search("晶片", k=10).results
    out = Reranker(depth=4, prior=0.0, scorer=_CharCount()).rerank(analyze("晶片", 100), results)
    assert [r.rank for r in out.results] == list(range(1, 11))
    assert {r.passage_id for r in out.results[:4]} == {r.passage_id for r in results[:4]}
    assert [r.passage_id for r in out.results[4:]] == [r.passage_id for r in results[4:]]
    head = out.scores[:4]
    assert head == sorted(head, reverse=True) and all(math.isnan(s) for s in out.scores[4:])


def test_ask_reads_the_reranked_order_and_rerank_zero_keeps_the_search_order(seed):
    question = "哪些国家的企业把工厂搬回美国最多?"
    plain = seed.search(question, k=8).results
    kept = Reranker(depth=0)
    seed.reranker, saved = kept, seed.reranker
    try:
        off = seed.ask(question, k=5)
    finally:
        seed.reranker = saved
    assert [r.passage_id for r, *_ in off.passages] == [r.passage_id for r in plain[:5]]
    on = seed.ask(question, k=5)
    ids = [r.passage_id for r, *_ in on.passages]
    assert len(ids) == 5 and set(ids) <= {r.passage_id for r in plain}
    assert [r.rank for r, *_ in on.passages] == [1, 2, 3, 4, 5]


def test_rerank_setting_is_checked():
    from docsearch.config import Settings
    with pytest.raises(ValueError, match="rerank_depth"):
        Settings(rerank_depth=-1)


def test_questions_with_english_words_keep_the_search_order(seed):
    q = analyze("Why are US companies moving factories to Mexico?", 2000)
    results = seed.search(q.text, k=8).results
    out = Reranker(depth=8, prior=0.0, scorer=_CharCount()).rerank(q, results)
    assert [r.passage_id for r in out.results] == [r.passage_id for r in results]


def test_a_single_passage_is_not_read(seed):
    class _Refuses:
        def score(self, question, windows):
            pytest.fail("one passage has no order to change")

    q = analyze("美国制造业回流的主要来源地是哪里?", 200)
    results = seed.search(q.text, k=1).results
    out = Reranker(depth=5, prior=0.0, scorer=_Refuses()).rerank(q, results)
    assert out.results == results and math.isnan(out.scores[0])
