from hypothesis import given, strategies as st

from docsearch.text.normalize import aligned_simplified, canonical, clean_query, detect_script, fold, term_variants

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
