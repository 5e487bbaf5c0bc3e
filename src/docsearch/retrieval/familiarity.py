"""How much of a question's wording the library uses at all.

A question that reuses the source's words is best found by keywords; one worded unlike every
passage (搬回美国 for 回流, 缩水 for 负增长) matches few words and is found by meaning, if at all.
The share of its content words that no passage holds tells the two apart: the ranker leans on
the dense side for unfamiliar questions (ranking.Ranker.weight_for), and the confidence model
reads the same share as evidence (confidence.Evidence.unknown).
"""
from __future__ import annotations

from docsearch.retrieval.query import QUESTION_WORDS, Query
from docsearch.storage.base import KeywordIndex
from docsearch.text import segment
from docsearch.text.normalize import canonical, term_variants


def content_units(q: Query) -> list[list[str]]:
    """What the question asks about, each unit as the forms that count as finding it: for Chinese
    its content words (two characters or more, question words left out); for English each
    translated word or phrase (its Chinese alternatives) and each other Latin word or number
    (names can match as written)."""
    if q.groups:
        translated = {w for g in q.groups for w in g.source.split()}
        units = [[canonical(a) for a in g.alternatives] for g in q.groups]
        units += [[w] for w in q.words if w.isascii() and w not in translated and (len(w) > 2 or w.isdigit())]
        return units
    return [sorted(term_variants(w)) for w in q.words if len(w) > 1 and w not in QUESTION_WORDS]


def passages_holding(index: KeywordIndex, forms: list[str]) -> int:
    """Passages holding any form of a term (the largest count of one form)."""
    counts = index.phrase_frequencies([f for f in forms if segment.chars(f)])
    return max(counts.values(), default=0)


def unknown_terms(index: KeywordIndex, q: Query) -> list[str]:
    """The Chinese question's content words that no passage holds, as the question writes them
    (canonical form), a word inside a longer unknown one left out (集中力量, not also 集中力).
    Empty for questions with English words: their words were translated, not searched as typed."""
    if q.groups:
        return []
    unknown = [next((f for f in forms if f in q.canonical), forms[0])
               for forms in content_units(q) if not passages_holding(index, forms)]
    return [w for w in dict.fromkeys(unknown) if not any(w != other and w in other for other in unknown)]


def unknown_share(index: KeywordIndex, q: Query) -> float:
    """The share of the question's content units that no passage holds (0 without any)."""
    units = content_units(q)
    if not units:
        return 0.0
    return sum(1 for forms in units if not passages_holding(index, forms)) / len(units)
