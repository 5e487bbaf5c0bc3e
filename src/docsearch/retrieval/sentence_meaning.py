"""The encoder's reading of which sentence answers: question-sentence similarity as evidence for
the answer sentence, beside the lexical score (retrieval.answer.chosen_sentence).

The lexical picker reads the question's character n-grams; a sentence that says the same thing in
other words, or answers an English question, shares few of them. e5 compares meanings across
wording and language. Measured on the DRCD / CMRC 2018 dev paragraphs with their gold passage
(training/measure_answer_sentences.py): the weight was chosen on the 70% of articles the
held-out figures never use; on the held-out 30% it lifts the answer sentence from 0.883 to 0.896.
Cosine alone picks worse than the lexical score (0.754), so it only corrects it. Models without a
measured weight (the static model) never encode a sentence.
"""
from __future__ import annotations

import numpy as np


class SentenceMeaning:
    """Question-sentence cosines by the library's embedding model, and the weight they carry.
    `lib` is an open library (its settings and embedder, as retrieval.ranking.Searchable)."""

    def __init__(self, lib):
        self.lib = lib

    @property
    def weight(self) -> float:
        return self.lib.settings.resolved_answer_dense_weight

    def cosines(self, question: str, sentences: list[str]) -> np.ndarray:
        """Each sentence's cosine to the question (one batch for all of them)."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        embedder = self.lib.embedder
        return embedder.encode(sentences) @ embedder.encode_query(question)
