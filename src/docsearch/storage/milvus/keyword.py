"""Keyword search on a Milvus library (see KeywordSearch)."""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Iterator

from docsearch.storage.base import PassageTokens, rarest_within
from docsearch.storage.milvus.connection import BATCH, QUERY_WINDOW, VERSION_KEY, like_any
from docsearch.storage.milvus.terms import ROWS_KEY, TOTAL_KEY, WORD_KEY
from docsearch.text.tokens import phrase_tokens

# FTS5's bm25() constants.


# FTS5's bm25() constants.
K1, B = 1.2, 0.75


class KeywordSearch:
    """Mixin of MilvusStore: BM25 candidates from Milvus, scored with FTS5's bm25() formula over
    the term statistics, so both backends rank alike; exact look-up with LIKE on the character
    stream (Milvus Lite 2.5 rejects text_match)."""

    def _bm25(self, field: str, tokens: list[str], limit: int) -> dict[int, float]:
        if not tokens:
            return {}
        res = self.client.search(self.passages_c, data=[" ".join(tokens)], anns_field=field + "_sparse",
                                 limit=min(limit, QUERY_WINDOW), search_params={"metric_type": "BM25"},
                                 output_fields=[])
        return {int(h["id"]): float(h["distance"]) for h in res[0]}

    def keyword_search(self, words: list[str], grams: list[str], limit: int,
                       weights: tuple[float, float] = (1.0, 1.0),
                       postings_budget: int = 0) -> list[tuple[int, float]]:
        """Candidates from Milvus's BM25 on each token field (each list deeper than `limit`), then
        scored with exactly the formula of the embedded engine (FTS5's bm25() over two weighted
        columns: one document length for both, column-weighted term frequencies), so both
        backends rank alike. A `postings_budget` keeps the same query terms as the embedded
        engine does (store.rarest_within)."""
        # One statistics query serves the budget, the IDFs and the collection size.
        stats = self._stats([WORD_KEY + t for t in words] + list(grams) + [TOTAL_KEY, ROWS_KEY])
        if postings_budget and (words or grams):
            df = {("words", t): stats.get(WORD_KEY + t, 0) for t in words}
            df.update({("grams", t): stats.get(t, 0) for t in grams})
            kept, _ = rarest_within([("words", t) for t in words] + [("grams", t) for t in grams], df, postings_budget)
            words = [t for c, t in kept if c == "words"]
            grams = [t for c, t in kept if c == "grams"]
        depth = max(2 * limit, 200)
        cands = sorted(self._bm25("words", words, depth).keys() | self._bm25("grams", grams, depth).keys())
        if not cands:
            return []
        # A library written before the row count was kept has no ROWS_KEY: count the rows.
        n_rows = stats[ROWS_KEY] if ROWS_KEY in stats else self.passage_count()
        avgdl = stats.get(TOTAL_KEY, 0) / max(n_rows, 1) or 1.0
        phrases = [("words", t, WORD_KEY + t, weights[0]) for t in words] + \
                  [("grams", t, t, weights[1]) for t in grams]
        idf = {}
        for _, _, key, _ in phrases:
            n_hit = stats.get(key, 0)
            idf[key] = max(math.log((n_rows - n_hit + 0.5) / (n_hit + 0.5)), 1e-6)
        scores = []
        for i in range(0, len(cands), BATCH):
            part = cands[i:i + BATCH]
            for r in self.client.query(self.passages_c, filter=f"id in {part}", output_fields=["id", "words", "grams"]):
                tf = {"words": Counter(r["words"].split()), "grams": Counter(r["grams"].split())}
                doc_len = sum(tf["words"].values()) + sum(tf["grams"].values())
                norm = K1 * (1 - B + B * doc_len / avgdl)
                score = 0.0
                for field, t, key, w in phrases:
                    f = tf[field].get(t, 0) * w
                    if f:
                        score += idf[key] * f * (K1 + 1) / (f + norm)
                scores.append((int(r["id"]), score))
        return sorted(scores, key=lambda x: (-x[1], x[0]))[:limit]

    def phrase_candidates(self, phrases: list[list[str]]) -> list[int]:
        """Passages whose character stream holds any of the token sequences (whole tokens)."""
        phrases = [p for p in phrases if p]
        if not phrases:
            return []
        rows = self._query_all(self.passages_c, like_any("chars", (" ".join(p) for p in phrases)), ["id"])
        return sorted(int(r["id"]) for r in rows)

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many passages hold each n-gram (from the term statistics: one query, not a scan)."""
        return self._stats([t for t in terms if t != TOTAL_KEY])

    def phrase_frequencies(self, phrases: list[str]) -> dict[str, int]:
        """Passages holding each phrase. Each count is a LIKE scan of every passage, so counts are
        cached until any writer changes the library (the version token in the meta collection)."""
        version = self.get_meta(VERSION_KEY)
        if version != self._phrase_version or len(self._phrase_cache) > 100_000:
            self._phrase_cache, self._phrase_version = {}, version
        out = {}
        for p, toks in phrase_tokens(phrases).items():
            if p not in self._phrase_cache:
                self._phrase_cache[p] = self._count(self.passages_c, like_any("chars", [" ".join(toks)]))
            out[p] = self._phrase_cache[p]
        return out

    def passage_words(self) -> Iterator[tuple[int, str]]:
        rows = self._query_all(self.passages_c, "", ["id", "words"])
        yield from sorted((int(r["id"]), r["words"]) for r in rows)

    def rebuild_keyword_index(self, rows: Iterable[tuple[int, PassageTokens]]) -> None:
        """The keyword fields live in the passage rows; what can drift is the term statistics:
        count them again from `rows`."""
        self._term_delta = {}
        self._drop_terms()
        self.terms_c = self._create_terms()
        self._count_terms(((tok.words, tok.grams) for _, tok in rows), +1)
        self.flush()

    def compact(self) -> None:
        """The end of a bulk add: write the buffered statistics (Milvus compacts by itself)."""
        self.flush()

    def keyword_index_problems(self, passage_ids: list[int]) -> list[str]:
        """None: the keyword fields live in the passage rows themselves and cannot drift apart
        (the term statistics, which can, are checked by integrity_errors)."""
        return []
