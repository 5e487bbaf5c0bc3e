"""The in-house re-worded questions (40: 14 Simplified, 13 Traditional, 13 English) over the
shipped corpus, worded unlike the source (tests/data/README_qa_sets.md). Measured when questions
worded unlike the library got their own fusion weight (retrieval.familiarity): search R@1 0.725,
R@5 0.900 (0.550 / 0.850 before); `ask` R@1 0.725. The bounds are regression guards a little
under those figures, not targets."""
import json

import pytest

from docsearch.text.normalize import converter
from helpers import DATA

QUESTIONS = [json.loads(line) for line in (DATA / "reworded_seed_qa.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]


def _rank(texts: list[str], gold: list[str]) -> int | None:
    t2s = converter("t2s")
    return next((n for n, text in enumerate(texts, start=1) if any(g in t2s.convert(text) for g in gold)), None)


@pytest.fixture(scope="module")
def search_ranks(seed):
    return [(q, _rank([r.text for r in seed.search(q["q"], k=10).results], q["gold"])) for q in QUESTIONS]


def test_reworded_questions_find_their_passage_by_meaning(search_ranks):
    ranks = [r for _, r in search_ranks]
    assert sum(1 for r in ranks if r == 1) / len(ranks) >= 0.65
    assert sum(1 for r in ranks if r is not None and r <= 5) / len(ranks) >= 0.85


def test_chinese_reworded_questions_gain_from_their_weight(search_ranks):
    chinese = [r for q, r in search_ranks if q["lang"] != "en"]
    # 27 Chinese questions: 14 at rank 1 with the plain Chinese weight, 21 with their own.
    assert sum(1 for r in chinese if r == 1) >= 18


def test_ask_keeps_what_search_found(seed, search_ranks):
    ask = [_rank([r.text for r, *_ in seed.ask(q["q"], k=5).passages], q["gold"]) for q in QUESTIONS]
    assert sum(1 for r in ask if r == 1) >= sum(1 for _, r in search_ranks if r == 1) - 1
