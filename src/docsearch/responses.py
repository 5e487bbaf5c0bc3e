"""What the facade returns: search results, answers, look-up hits and add reports. Each knows its
JSON form, which is the CLI's `--json` output and what the app renders."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple


@dataclass
class Result:
    rank: int
    article_id: str
    title: str
    paragraph: int
    paragraph_end: int
    text: str
    score: float
    citation: str
    passage_id: int
    source: str = ""
    date: str = ""
    start: int = 0
    end: int = 0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Wording:
    """How the question's words meet the library's: those no passage holds, and whether that
    made the ranking lean on meaning (retrieval.familiarity)."""
    not_in_library: list[str] = field(default_factory=list)
    by_meaning: bool = False

    def to_json(self) -> dict:
        return {"not_in_library": self.not_in_library, "ranked_by_meaning": self.by_meaning}


@dataclass
class SearchResponse:
    query: str
    results: list[Result]
    terms: list[str]
    notes: list[str] = field(default_factory=list)
    translations: list[dict] = field(default_factory=list)
    filters: dict = field(default_factory=dict)
    wording: Wording | None = None

    def to_json(self) -> dict:
        out = {"query": self.query, "results": [r.to_json() for r in self.results],
               "understood_as": self.terms, "translations": self.translations, "notes": self.notes,
               **(self.wording or Wording()).to_json()}
        return {**out, "filters": self.filters} if self.filters else out


@dataclass
class AnswerSentence:
    text: str
    article_id: str
    paragraph: int
    citation: str
    passage_rank: int
    start: int   # offsets in the article text
    end: int
    confidence: float = 1.0   # calibrated: P(this sentence answers the question)


@dataclass
class AskResponse:
    question: str
    answer: list[AnswerSentence]
    passages: list[tuple[Result, str, int, int]]  # result, answer sentence, start/end in passage
    notes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    translations: list[dict] = field(default_factory=list)
    filters: dict = field(default_factory=dict)
    # False when no sentence reaches the calibrated confidence: the library holds no reliable
    # answer, and the passages are related reading only.
    answered: bool = True
    confidence: float = 1.0   # of the best passage's sentence, answered or not
    # Declined because the question is far from everything the library holds (below the
    # topicality gate, retrieval.topicality), not only for want of a confident sentence.
    off_topic: bool = False
    wording: Wording | None = None

    def to_json(self) -> dict:
        out_passages = []
        for r, sent, a, b in self.passages:
            d = r.to_json()
            d.update(answer_sentence=sent, answer_start=a, answer_end=b)
            out_passages.append(d)
        return {"question": self.question, "answered": self.answered, "off_topic": self.off_topic,
                "confidence": self.confidence,
                "answer": [{"text": s.text, "article_id": s.article_id, "paragraph": s.paragraph,
                            "citation": s.citation, "confidence": s.confidence} for s in self.answer],
                "passages": out_passages, "understood_as": self.terms, "translations": self.translations,
                "notes": self.notes, **(self.wording or Wording()).to_json(),
                **({"filters": self.filters} if self.filters else {})}


@dataclass
class LookupHit:
    article_id: str
    title: str
    paragraph: int
    paragraph_end: int
    text: str
    matches: list[tuple[int, int]]  # offsets in text
    citation: str
    passage_id: int

    def to_json(self) -> dict:
        d = asdict(self)
        d["matches"] = [{"start": a, "end": b, "text": self.text[a:b]} for a, b in self.matches]
        return d


@dataclass
class LookupResponse:
    keyword: str
    forms: list[str]
    results: list[LookupHit]
    filters: dict = field(default_factory=dict)
    # Several keywords: how they combine ("any" or "all") and each one's own forms and counts.
    per_keyword: list[dict] = field(default_factory=list)
    combine: str = ""

    @property
    def occurrences(self) -> int:
        """Occurrences in all the passages found."""
        return sum(len(h.matches) for h in self.results)

    @property
    def counts(self) -> dict[str, int]:
        """Occurrences per article, keyed by id."""
        return self._occurrences("article_id")

    @property
    def titled_counts(self) -> dict[str, int]:
        """Occurrences per article, keyed by title (for people rather than programs)."""
        return self._occurrences("title")

    def _occurrences(self, key: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.results:
            k = getattr(h, key)
            out[k] = out.get(k, 0) + len(h.matches)
        return out

    def to_json(self) -> dict:
        return {"keyword": self.keyword, "count": len(self.results), "forms": self.forms,
                "occurrences": self.occurrences,
                "per_article": self.counts, "results": [h.to_json() for h in self.results],
                **({"combine": self.combine, "per_keyword": self.per_keyword} if self.per_keyword else {}),
                **({"filters": self.filters} if self.filters else {})}


# Why an add refused something, in one word (IngestError.code and the add's own checks).
REFUSAL_CODES = ("missing", "folder", "unsupported", "too_big", "unreadable", "empty", "binary",
                 "encoding", "invalid_json", "no_articles", "no_text", "no_text_layer", "encrypted",
                 "bad_record", "id_taken", "in_trash", "title_override")


class Refusal(NamedTuple):
    """Something an add did not take: what (a file, a title), why in words, and why as a code."""

    what: str
    reason: str
    code: str


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)   # (what, existing id)
    refused: list[Refusal] = field(default_factory=list)
    # Per added id: the file it came from and the text encoding found ('' for .docx/.pdf).
    files: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)


def citation(title: str, article_id: str, paragraph: int, paragraph_end: int | None = None) -> str:
    """"Title [id] ¶n" (or ¶n-m for a passage over several paragraphs)."""
    para = f"¶{paragraph}" if not paragraph_end or paragraph_end == paragraph else f"¶{paragraph}-{paragraph_end}"
    return f"{title} [{article_id}] {para}"
