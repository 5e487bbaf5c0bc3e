from hypothesis import given, strategies as st

from docsearch.text.normalize import (aligned_simplified, canonical, clean_query, convert_for_display, converter,
                                      detect_script, fold, term_variants)

PAIRS = [("晶片", "芯片"), ("資料", "数据"), ("歐巴馬", "奥巴马"), ("欧巴马", "奥巴马"),
         ("網際網路", "互联网"), ("通膨", "通胀"), ("軟體", "软件"), ("川普", "特朗普")]


def test_taiwan_and_mainland_vocabulary_meet():
    for taiwan, mainland in PAIRS:
        assert canonical(taiwan) == canonical(mainland), (taiwan, mainland)


def test_canonical_is_script_blind_on_sentences():
    assert canonical("美國製造業回流的主要來源地") == canonical("美国制造业回流的主要来源地")
    assert canonical("《通膨削減法案》") == canonical("《通胀削减法案》")


def test_fold_width_and_punctuation():
    assert fold("ＡＢＣ１２３") == "ABC123"
    assert fold("“回岸倡议”") == fold("「回岸倡议」")
    assert "\x07" not in fold("a\x07b")


def test_aligned_simplified_keeps_positions():
    text = "美國《通膨削減法案》與歐巴馬政府，２０２２年"
    out = aligned_simplified(text)
    assert len(out) == len(text)
    assert out[:2] == "美国" and "欧巴马" in out


@given(st.text(max_size=200))
def test_aligned_simplified_same_length_for_any_text(text):
    assert len(aligned_simplified(text)) == len(text)


@given(st.text(max_size=100))
def test_canonical_never_fails(text):
    assert isinstance(canonical(text), str)


def test_term_variants_cover_both_vocabularies():
    assert {"芯片", "晶片"} <= term_variants("芯片")
    assert {"芯片", "晶片"} <= term_variants("晶片")
    assert {"互联网", "网际网路"} <= term_variants("網際網路")
    assert {"通胀", "通膨"} <= term_variants("通胀")


def test_detect_script():
    assert detect_script("美國製造業強勢回流") == "zh-Hant"
    assert detect_script("美国制造业强势回流") == "zh-Hans"
    assert detect_script("US manufacturing") == "en"


def test_clean_query_strips_controls():
    assert clean_query("  a\x1b\x07  b\n") == "a b"


# -- display script ------------------------------------------------------------------------------
from helpers import CORPUS  # noqa: E402

TRADITIONAL_ARTICLE = (CORPUS / "000_47721d1ce0619f18.md").read_text(encoding="utf-8")
SIMPLIFIED_ARTICLE = (CORPUS / "002_0d9808ada31baacb.md").read_text(encoding="utf-8")


def test_traditional_view_leaves_traditional_text_as_written():
    for text in ("美國製造業強勢回流", "台積電在亞利桑那州設廠", "美製造業強勢回流, 中國企業應保留另一種可能性"):
        assert convert_for_display(text, "zh-Hant") == text
    assert convert_for_display(TRADITIONAL_ARTICLE, "zh-Hant") == TRADITIONAL_ARTICLE


def test_simplified_view_leaves_simplified_text_as_written():
    for text in ("美国制造业回流的主要来源地", "乾坤", "著名学者", "台积电"):
        assert convert_for_display(text, "zh-Hans") == text
    assert convert_for_display(SIMPLIFIED_ARTICLE, "zh-Hans") == SIMPLIFIED_ARTICLE


def test_fixed_conversions():
    assert convert_for_display("美国制造业回流", "zh-Hant") == "美國製造業回流"
    assert convert_for_display("台积电", "zh-Hant") == "台積電"
    assert convert_for_display("这里 头发 台风", "zh-Hant") == "這裡 頭髮 颱風"
    assert convert_for_display("美國製造業強勢回流", "zh-Hans") == "美国制造业强势回流"
    assert convert_for_display("乾淨的", "zh-Hans") == "干净的"
    assert convert_for_display("mixed 美国 and 美國", "as-written") == "mixed 美国 and 美國"


# Chinese characters (both scripts), ASCII and punctuation, as in the corpus.
_MIXED = st.text(alphabet=st.sampled_from(TRADITIONAL_ARTICLE[:3000] + SIMPLIFIED_ARTICLE[:3000] + "ab12 ,.《》"),
                 max_size=120)


@given(st.text(max_size=150) | _MIXED, st.sampled_from(["zh-Hans", "zh-Hant", "as-written"]))
def test_display_conversion_keeps_length_and_is_idempotent(text, script):
    once = convert_for_display(text, script)
    assert len(once) == len(text)
    assert convert_for_display(once, script) == once


@given(_MIXED)
def test_text_already_in_the_target_script_is_never_rewritten(text):
    # What OpenCC itself produces is in the target script: converting it again changes nothing,
    # even where OpenCC's phrase tables would (回流 -> 迴流).
    trad = converter("s2tw").convert(converter("t2s").convert(text))
    if len(trad) == len(text):
        assert convert_for_display(trad, "zh-Hant") == trad
    simp = converter("t2s").convert(text)
    assert convert_for_display(simp, "zh-Hans") == simp
