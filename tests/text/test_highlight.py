"""Where terms are marked: any script or vocabulary; Latin terms as whole words."""
from docsearch.text.highlight import highlight_spans, merge_spans, term_pattern


def test_terms_are_marked_in_either_script():
    text = "美國的晶片法案推動半導體回流。"
    spans = highlight_spans(text, ["芯片", "回流"])
    assert [text[a:b] for a, b in spans] == ["晶片", "回流"]


def test_latin_terms_are_marked_as_whole_words_only():
    text = "Good Jobs First counts subsidies; go figure. GO!"
    assert [text[a:b] for a, b in highlight_spans(text, ["go"])] == ["go", "GO"]
    assert [text[a:b] for a, b in highlight_spans(text, ["jobs first"])] == ["Jobs First"]
    # Look-up keeps matching a Latin run at a word start (chip finds chips).
    assert term_pattern("chip").search("chips") and not term_pattern("chip", whole_words=True).search("chips")


def test_overlapping_spans_merge():
    assert merge_spans([(5, 8), (0, 2), (1, 3), (8, 9)]) == [(0, 3), (5, 9)]
