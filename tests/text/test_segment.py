from hypothesis import given, strategies as st

from docsearch.text import segment
from docsearch.text.normalize import canonical


def test_domain_dictionary_keeps_terms_whole():
    words = segment.words(canonical("美国推出回岸倡议,提升供应链韧性,实施《通胀削减法案》"))
    for term in ("回岸倡议", "供应链韧性", "通胀削减法案"):
        assert term in words


def test_grams_hold_unigrams_and_bigrams_and_whole_latin_runs():
    grams = segment.char_grams(canonical("IPEF成员国增长14.3%"))
    assert "ipef" in grams and "14.3" in grams
    assert "成员" in grams and "员" in grams


def test_chars_stream_is_one_token_per_han_character():
    assert segment.chars("晶片good jobs") == ["晶", "片", "good", "jobs"]


@given(st.text(max_size=300))
def test_tokens_are_fts_safe(text):
    canon = canonical(text)
    for tok in segment.words(canon) + segment.char_grams(canon) + segment.chars(canon):
        assert tok and not any(c.isspace() or c in '"*:^()+-' for c in tok), tok
