"""Extractive answers: the sentence of a passage that best answers a question.

Each sentence is scored by the question's character n-grams it contains, weighted by how rare
they are in the corpus (IDF) and by their length (a shared bigram says more than a shared
character). Question words (多少, 哪一年, 谁 …) tell what kind of answer to expect, and a
sentence that holds such a thing (a number, a date) gains a bonus.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import segment
from .chunk import sentence_spans
from .normalize import canonical

# Characters of question words: they describe the answer instead of matching it.
_QUESTION_CHARS = set("什么哪谁几多少吗呢何为怎样如请问")

_EXPECTS_NUMBER = re.compile(r"多少|几|多大|多高|多长|多重|多远|多久|比例|比重|百分|占比|增速|增长率|数量|规模|金额|排名|第几"
                             r"|how many|how much|what share|what percentage|what proportion")
_EXPECTS_TIME = re.compile(r"何时|什么时候|哪一?年|哪一?天|几月|几号|几时|哪个时期|多久|日期|年份|when|what year")
_NUMBER = re.compile(r"[0-9０-９]|[一二三四五六七八九十百千万亿两]+[个年月日名位家项种%]")
_TIME = re.compile(r"[0-9]{2,4}年|[0-9]{1,2}月|[0-9]{1,2}日|世纪|年代|[一二三四五六七八九十]+月")


@dataclass(frozen=True)
class SentenceChoice:
    start: int          # offsets within the passage text
    end: int
    score: float


def question_grams(question_canonical: str) -> list[str]:
    grams = segment.char_grams(question_canonical)
    return [g for g in dict.fromkeys(grams) if not (len(g) == 1 and g in _QUESTION_CHARS)]


def best_sentence(question_canonical: str, text: str, idf: dict[str, float],
                  grams: list[str] | None = None) -> SentenceChoice:
    """Pick the sentence of `text` that best answers the question (never empty for text
    that has any non-space character)."""
    grams = question_grams(question_canonical) if grams is None else grams
    expects_number = bool(_EXPECTS_NUMBER.search(question_canonical))
    expects_time = bool(_EXPECTS_TIME.search(question_canonical))
    spans = sentence_spans(text) or [(0, len(text))]
    best = SentenceChoice(*spans[0], score=-1.0)
    default_idf = max(idf.values(), default=1.0)
    for a, b in spans:
        sent = canonical(text[a:b])
        have = set(segment.char_grams(sent))
        score = 0.0
        for g in grams:
            if g in have:
                score += idf.get(g, default_idf) * (1.0 if len(g) == 1 else 2.0)
        if expects_number and _NUMBER.search(sent):
            score *= 1.25
        if expects_time and _TIME.search(sent):
            score *= 1.25
        if score > best.score:
            best = SentenceChoice(a, b, score)
    return best


def idf_weights(doc_freq: dict[str, int], n_docs: int, terms: list[str]) -> dict[str, float]:
    """BM25-style IDF for the given terms (unknown terms count as rare)."""
    n = max(n_docs, 1)
    return {t: math.log(1 + (n - doc_freq.get(t, 0) + 0.5) / (doc_freq.get(t, 0) + 0.5)) for t in terms}
