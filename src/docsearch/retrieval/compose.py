"""Answer composition: the sentence of each ranked passage that best answers the question, and
the answer made of the best of them. The one path used by `ask`, the app and `eval`."""
from __future__ import annotations

from dataclasses import dataclass

from docsearch.responses import AnswerSentence, Result, citation
from docsearch.retrieval import answer as sentences
from docsearch.retrieval.confidence import ConfidenceModel
from docsearch.retrieval.query import Query
from docsearch.text.chunk import paragraphs
from docsearch.text.normalize import canonical

# A lower-ranked passage's sentence is part of the answer when it scores at least this share of
# the top passage's sentence.
ANSWER_SCORE_RATIO = 0.6
# Sentences in an answer at most.
MAX_ANSWER_SENTENCES = 3


def asked_text(q: Query) -> str:
    """The question as answer sentences are matched against it: English words are answered
    through their translations."""
    return " ".join([q.canonical] + [a for g in q.groups for a in g.alternatives])


def passage_sentences(q: Query, results: list[Result]) -> list[tuple[Result, sentences.SentenceChoice]]:
    """Each result with the sentence (span in its text, and score) that best answers `q`."""
    asked = asked_text(q)
    grams = sentences.question_grams(asked)
    return [(r, sentences.best_sentence(asked, r.text, grams, r.title)) for r in results]


@dataclass
class Composed:
    answers: list[AnswerSentence]                      # above the confidence threshold only
    passages: list[tuple[Result, str, int, int]]      # every passage, its best sentence and span
    confidence: float                                  # of the top passage's sentence
    off_topic: bool = False                            # below the topicality gate


def compose(q: Query, results: list[Result], model: ConfidenceModel | None = None) -> Composed:
    """The answer to `q` from ranked results; with a confidence model, only sentences it trusts."""
    passages = []
    answers: list[AnswerSentence] = []
    seen: set[str] = set()
    top_score, top_confidence = None, 0.0
    # How far the question is from the library's subject: one measure for all its sentences.
    contrast = model.topicality(q) if model and results else 0.0
    for r, choice in passage_sentences(q, results):
        sent = r.text[choice.start:choice.end]
        passages.append((r, sent, choice.start, choice.end))
        first = top_score is None
        top_score = choice.score if first else top_score
        key = canonical(sent)
        # Later passages' sentences join the answer only when they match about as well.
        if key in seen or choice.score < ANSWER_SCORE_RATIO * top_score:
            continue
        seen.add(key)
        conf = model.confidence(model.evidence(q, r.text, sent, contrast)) if model else 1.0
        top_confidence = conf if first else top_confidence
        if model and conf < model.threshold:
            continue
        para = paragraph_at(r, choice.start)
        answers.append(AnswerSentence(sent, r.article_id, para, citation(r.title, r.article_id, para),
                                      r.rank, r.start + choice.start, r.start + choice.end, round(conf, 3)))
    off_topic = bool(model and results and model.below_gate(contrast))
    return Composed(answers[:MAX_ANSWER_SENTENCES], passages, round(top_confidence, 3), off_topic)


def paragraph_at(r: Result, offset_in_passage: int) -> int:
    """The source paragraph number of a position inside a passage."""
    for n, p in enumerate(paragraphs(r.text)):
        if offset_in_passage < p.end:
            return r.paragraph + n
    return r.paragraph_end
