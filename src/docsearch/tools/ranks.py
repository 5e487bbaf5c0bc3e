"""Ranks and recall figures of benchmark questions, shared by `docsearch eval` (tools.evaluate)
and the sentence-retrieval set (tools.sentence_retrieval): one rule for how a question's keyword
and dense lists are fused, and one for R@k and MRR@10, so both report comparable figures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from docsearch.retrieval.fusion import fuse

KS = (1, 5, 10)
DEPTH = 10        # ranks beyond the first ten count as not found
MODES = ("keyword", "dense", "hybrid")


@dataclass
class Lists:
    """A question's candidate lists, (passage id, score) best first."""
    keyword: list[tuple[int, float]]
    dense: list[tuple[int, float]]
    translated: bool = False   # English words were translated: fused with the translated weight
    unfamiliar: bool = False   # Chinese worded unlike the library (retrieval.familiarity)


def ranked_by(lst: Lists, mode: str, w: float, w_translated: float | None = None,
              w_unfamiliar: float | None = None) -> list[tuple[int, float]]:
    """The list `mode` ranks by: keyword-only, dense-only, or both fused with the dense weight
    that applies to the question (the translated one for English questions, the unfamiliar one
    for Chinese worded unlike the library, when given), as the product's ranker chooses it."""
    if mode == "keyword":
        return lst.keyword
    if mode == "dense":
        return lst.dense
    wq = w
    if lst.translated and w_translated is not None:
        wq = w_translated
    elif lst.unfamiliar and not lst.translated and w_unfamiliar is not None:
        wq = w_unfamiliar
    return fuse(lst.keyword, lst.dense, wq) if lst.keyword else lst.dense


def rank_of(ranked: list[int], relevant: Callable[[int], bool]) -> int | None:
    """The 1-based position of the first relevant passage in the first DEPTH, else None."""
    for pos, pid in enumerate(ranked[:DEPTH], start=1):
        if relevant(pid):
            return pos
    return None


def ranks_for(lists: list[Lists], questions: list, relevant_fn, w: float, mode: str,
              w_translated: float | None = None, w_unfamiliar: float | None = None) -> list[int | None]:
    """Each question's rank in `mode`; `relevant_fn(question)` gives its relevance test."""
    return [rank_of([pid for pid, _ in ranked_by(lst, mode, w, w_translated, w_unfamiliar)], relevant_fn(q))
            for lst, q in zip(lists, questions)]


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """R@1/5/10, MRR@10 and the number of questions."""
    n = max(len(ranks), 1)
    out = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in KS}
    out["MRR@10"] = sum(1.0 / r for r in ranks if r is not None) / n
    out["n"] = len(ranks)
    return out
