"""Answer composition: the sentence of each ranked passage that best answers the question, and
the answer made of the best of them. The one path used by `ask`, the app and `eval`."""
from __future__ import annotations

import math
from dataclasses import dataclass

from docsearch.responses import AnswerSentence, Result, citation
from docsearch.retrieval import answer as sentences
from docsearch.retrieval.confidence import NOT_PLACED, ConfidenceModel, Placement
from docsearch.retrieval.query import Query
from docsearch.retrieval.sentence_meaning import SentenceMeaning
from docsearch.text.chunk import paragraphs
from docsearch.text.normalize import canonical

# A lower-ranked passage's sentence is part of the answer when it scores at least this share of
# the top passage's sentence.
ANSWER_SCORE_RATIO = 0.6
# After the first answer sentence, another is listed only when its passage scores at least this
# share of the first one's: when the ranking itself is unsure which passage answers. Measured
# (training/measure_padding.py) on held-out dev and the questions about the shipped corpus: before
# this rule 8% of the further sentences held an answer (29 of 353 on dev); at 0.85, 33% (11 of
# 33), and 3 of 687 dev questions lose their only right sentence.
EXTRA_PASSAGE_SCORE_RATIO = 0.85
# The encoder reads the sentences of this many passages from the top (retrieval.sentence_meaning):
# the answer's first sentence nearly always comes from the top passage. It costs `ask` on the
# shipped corpus (medians, side by side with the encoder off, while a benchmark ran) +0.11 s for
# the top passage, +0.24 s for the top two, +0.53 s for all five.
MEANING_PASSAGES = 1
# Sentences in an answer at most.
MAX_ANSWER_SENTENCES = 3


def asked_text(q: Query) -> str:
    """The question as answer sentences are matched against it: English words are answered
    through their translations."""
    return " ".join([q.canonical] + [a for g in q.groups for a in g.alternatives])


def passage_sentences(q: Query, results: list[Result], meaning: SentenceMeaning | None = None,
                      ) -> list[tuple[Result, sentences.SentenceChoice]]:
    """Each result with the sentence (span in its text, and lexical score) that best answers `q`;
    with `meaning` (and a weight for its model), the encoder's question-sentence similarity
    weighs in for the first MEANING_PASSAGES results."""
    asked = asked_text(q)
    grams = sentences.question_grams(asked)
    scored = [sentences.sentence_scores(asked, r.text, grams, r.title) for r in results]
    weight = meaning.weight if meaning is not None else 0.0
    cosines: list = [None] * len(results)
    if weight > 0 and results:
        read = scored[:MEANING_PASSAGES]
        flat = [r.text[a:b] for r, sc in zip(results, read) for a, b in sc.spans]
        values, i = meaning.cosines(q.text, flat), 0
        for n, sc in enumerate(read):
            cosines[n] = values[i:i + len(sc.spans)]
            i += len(sc.spans)
    return [(r, sentences.widened(r.text, sc, sentences.chosen_sentence(sc, cos, weight)))
            for r, sc, cos in zip(results, scored, cosines)]


@dataclass
class Candidate:
    """The best sentence of one ranked passage, as a candidate for the answer."""
    result: Result
    start: int          # offsets within the passage text
    end: int
    score: float        # the sentence's match to the question (retrieval.answer)
    confidence: float   # P(it answers), by the confidence model (1.0 without one); nan: never listable
    duplicate: bool     # the same sentence as a higher-ranked passage's

    @property
    def text(self) -> str:
        return self.result.text[self.start:self.end]


def candidates(q: Query, results: list[Result], model: ConfidenceModel | None = None,
               place: Placement | None = None, meaning: SentenceMeaning | None = None) -> list[Candidate]:
    """Each result's best sentence with its confidence, in rank order (`place`: the question's
    placement when already measured; `meaning`: as for passage_sentences)."""
    # How far the question is from the library's subject: one measure for all its sentences.
    if place is None:
        place = model.placement(q) if model and results else NOT_PLACED
    out, seen, top = [], set(), 0.0
    for r, choice in passage_sentences(q, results, meaning):
        sent = r.text[choice.start:choice.end]
        key = canonical(sent)
        top = choice.score if not out else top
        duplicate = key in seen
        # Evidence costs a few look-ups: weighed only for a sentence that may be listed, and for
        # the top one always (its confidence is the question's).
        weighed = not out or (not duplicate and eligible(sent, choice.score, top))
        conf = (model.confidence(model.evidence(q, r.text, sent, place)) if model else 1.0) if weighed else math.nan
        out.append(Candidate(r, choice.start, choice.end, choice.score, conf, duplicate))
        seen.add(key)
    return out


def eligible(sentence: str, score: float, top_score: float) -> bool:
    """Whether a passage's best sentence may be listed at all: it matches the question at least
    ANSWER_SCORE_RATIO as well as the top passage's sentence does, and is not itself a question.
    The one rule for `ask` and for calibration (tools.calibrate_abstain)."""
    return score >= ANSWER_SCORE_RATIO * top_score and not sentences.asks(sentence)


@dataclass
class Composed:
    answers: list[AnswerSentence]                      # above the confidence threshold only
    passages: list[tuple[Result, str, int, int]]      # every passage, its best sentence and span
    confidence: float                                  # of the top passage's sentence
    off_topic: bool = False                            # declined, and far from the library


def compose(q: Query, results: list[Result], model: ConfidenceModel | None = None,
            meaning: SentenceMeaning | None = None) -> Composed:
    """The answer to `q` from ranked results; with a confidence model, only sentences it trusts;
    with `meaning`, sentences chosen by the encoder's similarity too."""
    place = model.placement(q) if model and results else NOT_PLACED
    cands = candidates(q, results, model, place, meaning)
    threshold = model.threshold if model else 0.0
    answers = [answer_sentence(c) for c in listed(cands, threshold)]
    passages = [(c.result, c.text, c.start, c.end) for c in cands]
    top_confidence = round(cands[0].confidence, 3) if cands else 0.0
    off_topic = bool(model and results and not answers and model.far_off(place.contrast))
    return Composed(answers, passages, top_confidence, off_topic)


def listed(cands: list[Candidate], threshold: float,
           extra_ratio: float = EXTRA_PASSAGE_SCORE_RATIO) -> list[Candidate]:
    """The candidates an answer lists: those the confidence model trusts, never a sentence that
    is itself a question; after the first, only those that match the question about as well as
    the top passage's sentence does, from passages that rank about as well as the first listed
    one's."""
    if not cands:
        return []
    top_score = cands[0].score
    trusted = [c for c in cands if not c.duplicate and eligible(c.text, c.score, top_score)
               and c.confidence >= threshold]
    if not trusted:
        return []
    first = trusted[0]
    extra = [c for c in trusted[1:] if c.result.score >= extra_ratio * first.result.score]
    return ([first] + extra)[:MAX_ANSWER_SENTENCES]


def answer_sentence(c: Candidate) -> AnswerSentence:
    """A candidate as an answer sentence with its citation."""
    r = c.result
    para = paragraph_at(r, c.start)
    return AnswerSentence(c.text, r.article_id, para, citation(r.title, r.article_id, para), r.rank,
                          r.start + c.start, r.start + c.end, round(c.confidence, 3))


def paragraph_at(r: Result, offset_in_passage: int) -> int:
    """The source paragraph number of a position inside a passage."""
    for n, p in enumerate(paragraphs(r.text)):
        if offset_in_passage < p.end:
            return r.paragraph + n
    return r.paragraph_end
