"""tools.ranks: the fusion rule and the figures `eval` and the sentence set both report."""
import pytest

from docsearch.tools.ranks import DEPTH, Lists, metrics, rank_of, ranked_by, ranks_for

KEYWORD = [(1, 9.0), (2, 8.0), (3, 7.0)]
DENSE = [(3, 0.9), (2, 0.8), (1, 0.1)]


def test_each_mode_ranks_by_its_own_list_and_hybrid_by_the_weight_that_applies():
    chinese, english = Lists(KEYWORD, DENSE), Lists(KEYWORD, DENSE, translated=True)
    assert ranked_by(chinese, "keyword", 0.5) == KEYWORD
    assert ranked_by(chinese, "dense", 0.5) == DENSE
    # Weight 0 is keyword order, weight 1 dense order; the translated weight only for English.
    assert [p for p, _ in ranked_by(chinese, "hybrid", 0.0, 1.0)] == [1, 2, 3]
    assert [p for p, _ in ranked_by(english, "hybrid", 0.0, 1.0)] == [3, 2, 1]
    assert [p for p, _ in ranked_by(english, "hybrid", 1.0)] == [3, 2, 1]   # no translated weight given
    # Chinese worded unlike the library takes the unfamiliar weight, when one is given.
    unfamiliar = Lists(KEYWORD, DENSE, unfamiliar=True)
    assert [p for p, _ in ranked_by(unfamiliar, "hybrid", 0.0, None, 1.0)] == [3, 2, 1]
    assert [p for p, _ in ranked_by(unfamiliar, "hybrid", 0.0)] == [1, 2, 3]
    assert [p for p, _ in ranked_by(chinese, "hybrid", 0.0, None, 1.0)] == [1, 2, 3]
    # A question with no keyword list (nothing searchable) ranks by the dense list alone.
    assert ranked_by(Lists([], DENSE), "hybrid", 0.0) == DENSE


def test_ranks_count_only_the_first_ten():
    ranked = list(range(100, 100 + DEPTH + 5))
    assert rank_of(ranked, lambda pid: pid == 100) == 1
    assert rank_of(ranked, lambda pid: pid == 100 + DEPTH - 1) == DEPTH
    assert rank_of(ranked, lambda pid: pid == 100 + DEPTH) is None
    assert rank_of([], lambda pid: True) is None


def test_metrics_of_known_ranks():
    m = metrics([1, 2, 6, None])
    assert m == {"R@1": 0.25, "R@5": 0.5, "R@10": 0.75, "MRR@10": pytest.approx((1 + 0.5 + 1 / 6) / 4), "n": 4}
    assert metrics([])["n"] == 0 and metrics([])["R@1"] == 0.0


def test_ranks_for_applies_each_questions_relevance():
    lists = [Lists(KEYWORD, DENSE), Lists(KEYWORD, DENSE, translated=True)]
    questions = [{"gold": 2}, {"gold": 3}]
    rel = lambda q: (lambda pid: pid == q["gold"])  # noqa: E731
    assert ranks_for(lists, questions, rel, 0.0, "keyword") == [2, 3]
    assert ranks_for(lists, questions, rel, 0.0, "hybrid", 1.0) == [2, 1]
