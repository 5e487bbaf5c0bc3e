"""The answer's reference list (ui.export): numbered as the answer cites, listed in that order."""
from types import SimpleNamespace

from docsearch.responses import AnswerSentence, Result
from docsearch.ui import export
from docsearch.ui.texts import TEXT


def response_citing(*ranks: int, passages: int = 4) -> SimpleNamespace:
    results = [Result(n, "a", "Title", n, n, f"第{n}段。", 1.0 / n, "cite", n) for n in range(1, passages + 1)]
    answer = [AnswerSentence(f"第{n}段。", "a", n, "cite", n, 0, 3, 0.9) for n in ranks]
    return SimpleNamespace(question="问?", answer=answer, answered=bool(answer), confidence=0.9,
                           passages=[(r, r.text, 0, len(r.text)) for r in results])


def test_passages_are_listed_in_the_order_of_their_citation_numbers():
    # The answer cites the passages ranked 3 and 2: they become [1] and [2] and come first.
    resp = response_citing(3, 2)
    nums = export.citation_numbers(resp)
    assert [r.rank for r, *_ in export.in_citation_order(resp)] == [3, 2, 1, 4]
    assert [nums[(r.article_id, r.rank)] for r, *_ in export.in_citation_order(resp)] == [1, 2, 3, 4]
    md = export.answer_markdown(resp, TEXT["en"])
    assert md.index("[1] “Title”") < md.index("[2] “Title”") < md.index("[3] “Title”")


def test_without_an_answer_the_passages_keep_their_rank_order():
    resp = response_citing()
    assert [r.rank for r, *_ in export.in_citation_order(resp)] == [1, 2, 3, 4]
