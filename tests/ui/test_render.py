"""Unit tests of ui.render: the heading rule (what the reading view and passages show as headings) and safe text."""
import html

from hypothesis import given
from hypothesis import strategies as st

from docsearch.ui.render import is_heading, safe


def test_numbered_section_lines_are_headings_even_when_long():
    # Paragraphs 21, 26 and 30 of the shipped Traditional article: one long numbered line each.
    assert is_heading("(二)從回流來源地看,主要來自亞洲,中國是第一來源國,日本、德國、韓國等製造業企業赴美直接投資步伐加快")
    assert is_heading("(三)從回流目的地看,美國正在推動形成“本土回流+近岸回流+友岸回流”格局")
    assert is_heading("▍美国制造业回流成效初显")
    assert is_heading("二、主要做法")


def test_sentences_and_long_lines_are_not_headings():
    assert not is_heading("1.汽车行业回流成效明显。美国汽车行业增加值占制造业增加值的比重已从2009年的2.8%提高至2021年的6.4%。")
    assert not is_heading("(一)" + "很长的一段没有句号的文字" * 10)   # over 80 characters
    assert not is_heading("美国从中国进口的比重从2015年的18%降至2022年的14.3%,而从墨西哥、越南等国家的进口份额增加")
    assert not is_heading("回流项目中高端行业和关键产品占比不断提高。")
    assert not is_heading("   ")


@given(st.text())
def test_safe_text_reads_back_exactly_as_written(text):
    """Every character that HTML or markdown would act on is one entity, never an entity's parts
    escaped again (Mexico's once showed as Mexico&#x27;s)."""
    out = safe(text)
    assert html.unescape(out) == text
    assert not any(c in out for c in "<>\"'`*_[]$")
