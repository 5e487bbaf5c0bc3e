"""Query analysis and hybrid ranking: keyword BM25 (FTS5) fused with dense similarity (FAISS).

Fusion is a convex combination of each list's scores scaled to [0, 1] by its own maximum and
minimum: `(1 - w) * keyword + w * dense`. The weight `w` is measured per embedding model by
`docsearch eval --tune` and stored in data/fusion.json; a model that cannot read Chinese gets a
weight near 0, so its weak list cannot pull a strong keyword list down (plain RRF would: it
treats both lists as equally good). With w = 0 the model is not even loaded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import segment
from .normalize import canonical, clean_query


class QueryError(ValueError):
    """A query that cannot be run (empty after cleaning); the message says why."""


@dataclass
class Query:
    text: str                     # cleaned user text
    canonical: str
    words: list[str]
    grams: list[str]
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def terms(self) -> list[str]:
        """The distinct canonical terms searched for (shown to users as 'understood as')."""
        seen: dict[str, None] = {}
        for w in self.words:
            seen.setdefault(w, None)
        return list(seen)


def analyze(query: str, max_chars: int) -> Query:
    text = clean_query(query)
    truncated = False
    if len(text) > max_chars:
        text, truncated = text[:max_chars], True
    if not text:
        raise QueryError("empty query: type some words to search for")
    canon = canonical(text)
    words = list(dict.fromkeys(segment.words(canon)))
    grams = list(dict.fromkeys(segment.char_grams(canon)))
    q = Query(text, canon, words, grams, truncated)
    if truncated:
        q.notes.append(f"query cut to its first {max_chars} characters")
    return q


def _scaled(hits: list[tuple[int, float]]) -> dict[int, float]:
    if not hits:
        return {}
    scores = [s for _, s in hits]
    hi, lo = max(scores), min(scores)
    span = hi - lo
    if span <= 1e-12:
        return {i: 1.0 for i, _ in hits}
    return {i: (s - lo) / span for i, s in hits}


def fuse(keyword: list[tuple[int, float]], dense: list[tuple[int, float]],
         dense_weight: float) -> list[tuple[int, float]]:
    """Combine two (id, score) lists; ids missing from a list get 0 from it."""
    if not dense or dense_weight <= 0:
        return list(keyword)
    if not keyword:
        return list(dense)
    kw, dn = _scaled(keyword), _scaled(dense)
    w = min(max(dense_weight, 0.0), 1.0)
    fused = {i: (1 - w) * kw.get(i, 0.0) + w * dn.get(i, 0.0) for i in kw.keys() | dn.keys()}
    # Ties (common with w = 1 or equal scores) keep keyword order, then dense order.
    order = {i: n for n, (i, _) in enumerate(keyword)}
    base = len(order)
    for n, (i, _) in enumerate(dense):
        order.setdefault(i, base + n)
    return sorted(fused.items(), key=lambda t: (-t[1], order[t[0]]))
