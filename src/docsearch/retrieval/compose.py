"""Answer composition: the sentence of each ranked passage that best answers the question, and
the answer made of the best of them. The one path used by `ask`, the app and `eval`."""
from __future__ import annotations

from docsearch.responses import AnswerSentence, Result, citation
from docsearch.retrieval import answer as sentences
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


def compose(q: Query, results: list[Result]) -> tuple[list[AnswerSentence], list[tuple[Result, str, int, int]]]:
    """(answer sentences, every passage with its best sentence and that sentence's span)."""
    passages = []
    answers: list[AnswerSentence] = []
    seen: set[str] = set()
    top_score = None
    for r, choice in passage_sentences(q, results):
        sent = r.text[choice.start:choice.end]
        passages.append((r, sent, choice.start, choice.end))
        top_score = choice.score if top_score is None else top_score
        key = canonical(sent)
        # Later passages' sentences join the answer only when they match about as well.
        if key in seen or choice.score < ANSWER_SCORE_RATIO * top_score:
            continue
        seen.add(key)
        para = paragraph_at(r, choice.start)
        answers.append(AnswerSentence(sent, r.article_id, para, citation(r.title, r.article_id, para),
                                      r.rank, r.start + choice.start, r.start + choice.end))
    return answers[:MAX_ANSWER_SENTENCES], passages


def paragraph_at(r: Result, offset_in_passage: int) -> int:
    """The source paragraph number of a position inside a passage."""
    for n, p in enumerate(paragraphs(r.text)):
        if offset_in_passage < p.end:
            return r.paragraph + n
    return r.paragraph_end
