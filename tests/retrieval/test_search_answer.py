from hypothesis import given, strategies as st

from docsearch.retrieval.answer import best_sentence
from docsearch.text.normalize import canonical
from docsearch.errors import QueryError
from docsearch.retrieval.fusion import fuse
from docsearch.retrieval.query import analyze

import pytest


def test_fusion_with_zero_weight_keeps_keyword_order():
    kw = [(1, 9.0), (2, 5.0), (3, 1.0)]
    dense = [(3, 0.9), (4, 0.8)]
    assert [i for i, _ in fuse(kw, dense, 0.0)] == [1, 2, 3]


def test_fusion_with_weight_mixes_lists():
    kw = [(1, 9.0), (2, 8.9), (3, 1.0)]
    dense = [(2, 0.9), (1, 0.1)]
    assert [i for i, _ in fuse(kw, dense, 0.5)][0] == 2


@given(st.lists(st.tuples(st.integers(0, 50), st.floats(0, 100)), max_size=20, unique_by=lambda t: t[0]),
       st.lists(st.tuples(st.integers(0, 50), st.floats(-1, 1)), max_size=20, unique_by=lambda t: t[0]),
       st.floats(0, 1))
def test_fusion_returns_each_candidate_once(kw, dense, w):
    out = fuse(kw, dense, w)
    ids = [i for i, _ in out]
    assert len(ids) == len(set(ids))
    assert set(ids) >= {i for i, _ in kw}


def test_empty_and_long_queries():
    with pytest.raises(QueryError):
        analyze("  \x07 ", 100)
    q = analyze("字" * 5000, 100)
    assert q.truncated and len(q.text) == 100 and q.notes


def test_answer_sentence_prefers_the_relation_asked_about():
    text = ("高氏前肛鳗是一种鱼。高氏前肛鳗分布于西太平洋。体长可达19.7公分。高氏前肛鳗的图片。")
    c = best_sentence(canonical("高氏前肛鳗的体长是多少?"), text)
    assert text[c.start:c.end] == "体长可达19.7公分。"


def test_answer_sentence_uses_the_unit_asked_for():
    text = "前上颌骨齿呈圆锥形,排列紧密。前上颌骨齿共2枚。"
    c = best_sentence(canonical("前上颌骨齿共有几枚?"), text)
    assert text[c.start:c.end] == "前上颌骨齿共2枚。"
    # the count of the unit asked for decides between otherwise equal sentences
    text = "它的齿共3排。它的齿共2枚。"
    c = best_sentence(canonical("它的齿共有几枚?"), text)
    assert text[c.start:c.end] == "它的齿共2枚。"


def test_answer_sentence_looks_past_the_subject_named_once():
    # Later sentences leave the subject out; the one sentence that names it must not win on the name.
    text = "蟒鳗，又称血红拟蛇鱼，为辐鳍鱼纲鳗鲡目异蝮鯙科的其中一个种。体色为粉红色。分布于西太平洋。"
    c = best_sentence(canonical("蟒鳗的体色是什么颜色?"), text, title="蟒鳗")
    assert text[c.start:c.end] == "体色为粉红色。"


def test_answer_sentence_keeps_what_it_points_back_to():
    text = ("1966年，阿斯特家族將《泰晤士報》出售給羅伊·湯姆森。"
            "也正是在這一年，《泰晤士報》開始在報紙的第一版刊登新聞報導。此後銷量上升。")
    c = best_sentence(canonical("從哪一年開始《泰晤士報》在報紙的第一版刊登新聞報導?"), text, title="泰晤士报")
    assert text[c.start:c.end] == text[:text.index("此後")]
    # ... but never across a paragraph break
    text2 = text.replace("。也正是", "。\n也正是")
    c = best_sentence(canonical("從哪一年開始《泰晤士報》在報紙的第一版刊登新聞報導?"), text2, title="泰晤士报")
    assert text2[c.start:c.end].startswith("也正是在這一年")


def test_a_bare_numbered_label_brings_the_sentence_that_explains_it():
    text = "2.高定價能力的製造業。即以高研發投入、高技術含量提升產品附加值的製造業。3.高服務融合的製造業。"
    c = best_sentence(canonical("文中所說高定價能力的製造業指的是什麼樣的製造業?"), text)
    assert text[c.start:c.end] == "2.高定價能力的製造業。即以高研發投入、高技術含量提升產品附加值的製造業。"


def test_lookup_of_several_words_any_or_all(seed):
    any_of = seed.lookup_words("芯片 墨西哥")
    all_of = seed.lookup_words("芯片 墨西哥", every=True)
    ids_any, ids_all = {h.passage_id for h in any_of.results}, {h.passage_id for h in all_of.results}
    assert ids_all < ids_any and ids_all
    assert all(("晶片" in h.text or "芯片" in h.text) and "墨西哥" in h.text for h in all_of.results)
    assert set(any_of.forms) >= {"晶片", "芯片", "墨西哥"}
