"""Which candidate sentences an answer lists (retrieval.compose.listed)."""
from docsearch.responses import Result
from docsearch.retrieval.compose import EXTRA_PASSAGE_SCORE_RATIO, Candidate, listed

THRESHOLD = 0.2


def candidate(rank: int, passage_score: float, sentence_score: float = 10.0, confidence: float = 0.9,
              duplicate: bool = False) -> Candidate:
    text = f"第{rank}段的句子。"
    r = Result(rank, "a", "title", rank, rank, text, passage_score, "cite", rank)
    return Candidate(r, 0, len(text), sentence_score, confidence, duplicate)


def ranks(cands: list[Candidate]) -> list[int]:
    return [c.result.rank for c in listed(cands, THRESHOLD)]


def test_a_sentence_from_a_passage_ranked_far_below_the_first_is_not_listed():
    # The padding seen in the app: a right first answer followed by sentences of passages
    # the ranking placed clearly lower, each above the confidence threshold.
    cands = [candidate(1, 0.97), candidate(2, 0.81), candidate(3, 0.80)]
    assert ranks(cands) == [1]


def test_sentences_from_passages_ranked_about_as_well_are_listed():
    cands = [candidate(1, 1.0), candidate(2, 0.95), candidate(3, EXTRA_PASSAGE_SCORE_RATIO), candidate(4, 0.5)]
    assert ranks(cands) == [1, 2, 3]


def test_the_ratio_is_to_the_first_listed_passage_not_the_top_ranked_one():
    # The top passage's sentence is not trusted: the first trusted one sets the bar.
    cands = [candidate(1, 1.0, confidence=0.05), candidate(2, 0.6), candidate(3, 0.55), candidate(4, 0.3)]
    assert ranks(cands) == [2, 3]


def test_untrusted_duplicate_and_weakly_matching_sentences_are_never_listed():
    cands = [candidate(1, 1.0), candidate(2, 0.99, duplicate=True), candidate(3, 0.99, confidence=0.1),
             candidate(4, 0.99, sentence_score=1.0), candidate(5, 0.99)]
    assert ranks(cands) == [1, 5]
    assert listed([candidate(1, 1.0, confidence=0.1)], THRESHOLD) == []
    assert listed([], THRESHOLD) == []


def test_at_most_three_sentences():
    assert ranks([candidate(n, 1.0) for n in range(1, 6)]) == [1, 2, 3]


def test_a_sentence_that_asks_is_never_an_answer():
    # Policy writing asks rhetorical questions that share the question's words.
    asking = candidate(1, 1.0)
    asking.result = Result(1, "a", "t", 1, 1, "时至今日,美国推动制造业回流的计划究竟成效如何?", 1.0, "c", 1)
    asking.end = len(asking.result.text)
    assert ranks([asking, candidate(2, 0.9)]) == [2]
    assert listed([asking], THRESHOLD) == []
    quoted = Result(1, "a", "t", 1, 1, "他问:“为什么?”", 1.0, "c", 1)
    assert listed([Candidate(quoted, 0, len(quoted.text), 10.0, 0.9, False)], THRESHOLD) == []
