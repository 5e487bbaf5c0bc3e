"""Hybrid ranking: a keyword list (BM25) fused with a dense list (vector similarity).

Fusion is a convex combination of each list's scores scaled to [0, 1] by its own maximum and
minimum: `(1 - w) * keyword + w * dense`. The weight `w` is measured per embedding model by
`docsearch eval --tune` and stored in data/fusion.json; a model that cannot read Chinese gets a
weight near 0, so its weak list cannot pull a strong keyword list down (plain RRF would: it
treats both lists as equally good). With w = 0 the model is not even loaded.
"""
from __future__ import annotations


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
