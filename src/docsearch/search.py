"""Query analysis and hybrid ranking: keyword BM25 (FTS5) fused with dense similarity (FAISS).

Fusion is a convex combination of each list's scores scaled to [0, 1] by its own maximum and
minimum: `(1 - w) * keyword + w * dense`. The weight `w` is measured per embedding model by
`docsearch eval --tune` and stored in data/fusion.json; a model that cannot read Chinese gets a
weight near 0, so its weak list cannot pull a strong keyword list down (plain RRF would: it
treats both lists as equally good). With w = 0 the model is not even loaded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import segment, translate
from .chunk import sentence_spans
from .normalize import canonical, canonical_many, clean_query, is_han

# Words that ask rather than describe: they match everywhere and say nothing about the answer.
QUESTION_WORDS = frozenset({"什么", "哪里", "哪些", "哪个", "哪", "多少", "几", "谁", "何", "何时", "如何", "怎么",
                            "怎样", "为什么", "是", "的", "了", "吗", "呢", "有", "请问"})


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
    groups: list = field(default_factory=list)   # translate.Group for English words/phrases

    @property
    def terms(self) -> list[str]:
        """The distinct canonical terms searched for (shown to users as 'understood as')."""
        seen: dict[str, None] = {}
        for w in self.words:
            seen.setdefault(w, None)
        return list(seen)

    @property
    def translations(self) -> list[dict]:
        return [{"english": g.source, "chinese": list(g.alternatives)} for g in self.groups]


def analyze(query: str, max_chars: int) -> Query:
    text = clean_query(query)
    truncated = False
    if len(text) > max_chars:
        text, truncated = text[:max_chars], True
    if not text:
        raise QueryError("empty query: type some words to search for")
    canon = canonical(text)
    groups = translate.translate(text) if translate.has_english(text) else []
    # English words do not occur in Chinese passages: their dictionary translations stand in.
    # English stopwords say nothing to Chinese text; other English words stay (names can match).
    english = translate.STOPWORDS if groups else frozenset()
    words = [w for w in dict.fromkeys(segment.words(canon)) if w not in QUESTION_WORDS and w not in english]
    grams = [g for g in dict.fromkeys(segment.char_grams(canon)) if g not in english]
    for g in groups:
        for alt in g.alternatives:
            words += [w for w in segment.words(alt) if w not in words]
            grams += [t for t in segment.char_grams(alt) if t not in grams]
    q = Query(text, canon, words, grams, truncated, groups=groups)
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


def bm25_idf(doc_freq: int, n_docs: int) -> float:
    """BM25 (Lucene) inverse document frequency; always positive."""
    return math.log(1 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def sentence_evidence(grams: list[str], text: str, idf: dict[str, float],
                      canonical_sentences: list[str] | None = None) -> float:
    """The best single sentence's match: IDF of the query n-grams it holds (bigrams count
    double). Answers sit in one sentence; a long passage that scatters the terms scores less.
    `canonical_sentences` (the canonical form of each sentence of `text`) saves converting here."""
    if canonical_sentences is None:
        canonical_sentences = canonical_many([text[a:b] for a, b in sentence_spans(text)])
    # A Han uni/bigram is among a sentence's char_grams exactly when it is a substring (Han
    # characters never straddle a run); other grams are whole runs. Cheaper than building grams.
    weights = [(g, idf[g] * (2.0 if len(g) > 1 else 1.0), is_han(g[0])) for g in grams]
    best = 0.0
    for sentence in canonical_sentences:
        runs: set[str] | None = None
        score = 0.0
        for g, w, han in weights:
            if not han and runs is None:
                runs = set(segment.runs(sentence))
            if (g in sentence) if han else (g in runs):
                score += w
        best = max(best, score)
    return best


def rerank_by_sentences(hits: list[tuple[int, float]], texts: dict[int, str], grams: list[str],
                        doc_freq: dict[str, int], n_docs: int, weight: float, depth: int) -> list[tuple[int, float]]:
    """Re-order the head of a BM25 list by passage score + weight * best-sentence score (each
    scaled by its maximum). Measured on the dev set: R@1 0.958 -> 0.961, same for weights
    0.15-0.5; it is what lifts a paragraph whose one sentence answers over a summary that
    mentions every term."""
    if weight <= 0 or not hits:
        return hits
    head, tail = hits[:depth], hits[depth:]
    idf = {g: bm25_idf(doc_freq.get(g, 0), n_docs) for g in grams}
    top = max(s for _, s in head) or 1.0
    # One conversion for every sentence of the head (OpenCC's per-call cost dominates otherwise).
    spans = {pid: [(a, b) for a, b in sentence_spans(texts.get(pid, ""))] for pid, _ in head}
    flat = canonical_many([texts.get(pid, "")[a:b] for pid, _ in head for a, b in spans[pid]])
    evidence, at = {}, 0
    for pid, _ in head:
        n = len(spans[pid])
        evidence[pid] = sentence_evidence(grams, texts.get(pid, ""), idf, flat[at:at + n])
        at += n
    best = max(evidence.values()) or 1.0
    rescored = sorted(((pid, s / top + weight * evidence[pid] / best) for pid, s in head), key=lambda t: -t[1])
    return rescored + [(pid, s / top) for pid, s in tail]


def rescore_translated(hits: list[tuple[int, float]], texts: dict[int, str], groups: list,
                       doc_freq: dict[str, int], n_docs: int) -> list[tuple[int, float]]:
    """For translated queries: BM25 over all alternatives overrates a group with many of them,
    so add evidence counted once per group, IDF of the best alternative present, weighted down
    by the group's size (1/sqrt(n))."""
    if not groups or not hits:
        return hits
    top = max(s for _, s in hits) or 1.0
    canon = dict(zip(texts, canonical_many(list(texts.values()))))
    evidence = {}
    for pid, _ in hits:
        text = canon.get(pid, "")
        evidence[pid] = sum(g.weight * max((bm25_idf(doc_freq.get(a, 0), n_docs) for a in g.alternatives
                                            if a in text), default=0.0)
                            for g in groups)
    best = max(evidence.values()) or 1.0
    return sorted(((pid, s / top + evidence[pid] / best) for pid, s in hits), key=lambda t: -t[1])
