"""Query analysis: a user's text cleaned, normalized to the canonical script, split into the words
and n-grams that are searched, with English words translated to Chinese alternatives."""
from __future__ import annotations

from dataclasses import dataclass, field

from docsearch.errors import QueryError  # noqa: F401 - raised by analyze; importable from here
from docsearch.text import segment, translate
from docsearch.text.normalize import canonical, clean_query


# Words that ask rather than describe: they match everywhere and say nothing about the answer.
QUESTION_WORDS = frozenset({"什么", "哪里", "哪些", "哪个", "哪", "多少", "几", "谁", "何", "何时", "如何", "怎么",
                            "怎样", "为什么", "是", "的", "了", "吗", "呢", "有", "请问"})


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
    if not words and not grams and not segment.runs(canon):
        raise QueryError("nothing to search for: the query has no letters, digits or Chinese characters")
    q = Query(text, canon, words, grams, truncated, groups=groups)
    if truncated:
        q.notes.append(f"query cut to its first {max_chars} characters")
    return q
