"""Ranking passages for a query: keyword (BM25 over words and n-grams, its head re-ordered by
sentence evidence), dense (vector similarity) and their fusion, turned into cited results."""
from __future__ import annotations

import threading
from typing import Protocol

from docsearch.config import Settings
from docsearch.responses import Result, citation
from docsearch.retrieval.evidence import rerank_by_sentences, rescore_translated
from docsearch.retrieval.familiarity import unknown_share, unknown_terms
from docsearch.retrieval.fusion import fuse
from docsearch.retrieval.query import Query
from docsearch.storage.base import Store, VectorIndex


class Searchable(Protocol):
    """What ranking reads from an open library (indexing.library.Library is one)."""

    settings: Settings
    store: Store
    lock: threading.RLock

    @property
    def vectors(self) -> VectorIndex: ...
    @property
    def embedder(self): ...


class Ranker:
    """Keyword, dense and hybrid ranking over one library."""

    def __init__(self, lib: Searchable):
        self.lib = lib

    @property
    def keyword_weights(self) -> tuple[float, float]:
        return (self.lib.settings.words_weight, self.lib.settings.grams_weight)

    def keyword_ranked(self, q: Query, n: int) -> list[tuple[int, float]]:
        """BM25 over words and n-grams, its head re-ordered by best-sentence evidence."""
        s, store = self.lib.settings, self.lib.store
        hits = store.keyword_search(q.words, q.grams, n, weights=self.keyword_weights,
                                    postings_budget=s.keyword_postings_budget)
        if not hits:
            return hits
        n_docs = store.passage_count()
        wanted = hits if q.groups else hits[:s.sentence_depth]
        texts = {pid: p.text for pid, p in store.passages(pid for pid, _ in wanted).items()}
        if q.groups:
            alts = [a for g in q.groups for a in g.alternatives]
            hits = rescore_translated(hits, texts, q.groups, store.phrase_frequencies(alts), n_docs)
        if s.sentence_weight <= 0:
            return hits
        return rerank_by_sentences(hits, texts, q.grams, store.document_frequencies(q.grams),
                                   n_docs, s.sentence_weight, s.sentence_depth)

    def dense_ranked(self, vector, n: int) -> list[tuple[int, float]]:
        """The passages nearest to a query vector."""
        with self.lib.lock:
            return self.lib.vectors.search(vector, n) if self.lib.store.passage_count() else []

    def weighs_familiarity(self) -> bool:
        """Whether questions worded unlike the library get a weight of their own (the model was
        calibrated with one); only then are their words counted, a look-up each."""
        s = self.lib.settings
        return s.resolved_dense_weight_unfamiliar != s.resolved_dense_weight

    def unknown_terms(self, q: Query) -> list[str]:
        """The question's words that no passage holds, when the ranking weighs them (else [])."""
        return unknown_terms(self.lib.store, q) if self.weighs_familiarity() else []

    def is_unfamiliar(self, q: Query) -> bool:
        """Whether a Chinese question is worded unlike the library: at least `unfamiliar_share`
        of its content words occur in no passage (English questions are translated instead)."""
        return not q.groups and unknown_share(self.lib.store, q) >= self.lib.settings.unfamiliar_share

    def by_meaning(self, q: Query) -> bool:
        """Whether the question is ranked with the unfamiliar questions' weight."""
        return self.weighs_familiarity() and self.is_unfamiliar(q)

    def weight_for(self, q: Query) -> float:
        """The calibrated dense weight for this kind of query: translated English, Chinese worded
        unlike the library (familiarity), or other Chinese."""
        s = self.lib.settings
        if q.groups:
            return s.resolved_dense_weight_translated
        return s.resolved_dense_weight_unfamiliar if self.by_meaning(q) else s.resolved_dense_weight

    def ranked(self, q: Query, limit: int, dense_weight: float | None = None,
               allowed: set[str] | None = None) -> list[tuple[int, float]]:
        """The fused list, of passages of the `allowed` articles only when that is given (the
        candidate lists are deepened until enough pass or there are no more)."""
        if allowed is None:
            return self._ranked(q, limit, dense_weight)
        if not allowed:
            return []
        n, total = max(self.lib.settings.candidates, limit), self.lib.store.passage_count()
        while True:
            fused = self._ranked(q, n, dense_weight)
            owners = {pid: p.article_id for pid, p in self.lib.store.passages(pid for pid, _ in fused).items()}
            kept = [(pid, s) for pid, s in fused if owners.get(pid) in allowed]
            if len(kept) >= limit or n >= total or len(fused) < n:
                return kept[:limit]
            n *= 4

    def _ranked(self, q: Query, limit: int, dense_weight: float | None = None) -> list[tuple[int, float]]:
        """The fused list; the model is not even loaded when the weight is 0 and keywords match."""
        w = self.weight_for(q) if dense_weight is None else dense_weight
        n = max(self.lib.settings.candidates, limit)
        keyword = self.keyword_ranked(q, n)
        dense: list[tuple[int, float]] = []
        if w > 0 or not keyword:
            dense = self.dense_ranked(self.lib.embedder.encode_query(q.text), n)
        if not keyword:
            return dense[:limit]
        return fuse(keyword, dense, w)[:limit]

    def results(self, ranked: list[tuple[int, float]]) -> list[Result]:
        """Ranked (passage id, score) pairs as cited results (vanished passages are skipped)."""
        store = self.lib.store
        rows = store.passages(i for i, _ in ranked)
        arts = store.articles_by_id(p.article_id for p in rows.values())
        out: list[Result] = []
        for pid, score in ranked:
            p = rows.get(pid)
            if p is None:  # a vector whose passage was removed: skip it
                continue
            art = arts.get(p.article_id)
            title = art.title if art else p.article_id
            out.append(Result(len(out) + 1, p.article_id, title, p.paragraph, p.paragraph_end, p.text,
                              round(float(score), 6), citation(title, p.article_id, p.paragraph, p.paragraph_end),
                              pid, art.source if art else "", art.date if art else "", p.start, p.end))
        return out
