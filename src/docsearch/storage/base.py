"""What the engine needs from storage: row types and small protocols that every backend
implements (the embedded SQLite + FAISS pair, and Milvus).

- `MetadataStore`: key/value facts about the library (format, model, write markers);
- `DocumentStore`: articles with their full text, and the passages derived from them;
- `KeywordIndex`: the keyword tokens of each passage, ranked search and exact look-up over them;
- `Store`: the three together, plus `flush` (the end of a write) and `close`;
- `VectorIndex`: dense vectors keyed by passage id;
- `Backend`: one library's store and vector index, made by `storage.factory.open_backend`.

Articles keep their full original text, so everything else (passages, keyword index, vectors)
can be derived again from what is stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Protocol

import numpy as np

from docsearch.text.tokens import PassageTokens  # noqa: F401 - the token row type backends store


FORMAT_VERSION = 1


@dataclass(frozen=True)
class ArticleRow:
    id: str
    title: str
    source: str
    date: str
    url: str
    script: str
    original_file: str
    origin: str          # 'corpus' (from corpus/) or 'added'
    added_at: str
    content_hash: str
    passages: int
    extra: dict


@dataclass(frozen=True)
class PassageRow:
    id: int
    article_id: str
    ordinal: int
    paragraph: int
    paragraph_end: int
    start: int
    end: int
    text: str


def rarest_within(terms: list[tuple[str, str]], df: dict[tuple[str, str], int],
                  budget: int) -> tuple[list[tuple[str, str]], int]:
    """(column, term) pairs kept rarest first while their document frequencies sum to at most
    `budget` (the rarest always stays), and that sum. Both backends choose query terms this way."""
    kept, total = [], 0
    for ct in sorted(terms, key=lambda ct: df.get(ct, 0)):
        n = df.get(ct, 0)
        if kept and total + n > budget:
            break
        kept.append(ct)
        total += n
    return kept, total


class MetadataStore(Protocol):
    """Key/value facts about the library."""

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class DocumentStore(Protocol):
    """Articles (metadata and full text) and their passages."""

    def add_articles(self, items: list[tuple], origin: str,
                     added_at: dict[str, str] | None = None) -> list[list[int]]: ...
    def replace_passages(self, article_id: str, passages: list,
                         tokens: list[PassageTokens]) -> tuple[list[int], list[int]]: ...
    def delete_passages(self, ids: list[int]) -> None: ...
    def remove_article(self, article_id: str) -> list[int]: ...
    def article(self, article_id: str) -> ArticleRow | None: ...
    def articles_by_id(self, article_ids: Iterable[str]) -> dict[str, ArticleRow]: ...
    def articles_by_hash(self, hashes: Iterable[str]) -> dict[str, ArticleRow]: ...
    def article_text(self, article_id: str) -> str | None: ...
    def articles(self) -> list[ArticleRow]: ...
    def articles_with_text(self) -> Iterator[tuple[ArticleRow, str]]: ...
    def article_order(self) -> dict[str, int]: ...
    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]: ...
    def article_passages(self, article_id: str) -> list[PassageRow]: ...
    def passage_ids(self) -> list[int]: ...
    def passage_count(self) -> int: ...
    def orphan_passages(self) -> list[int]: ...


class KeywordIndex(Protocol):
    """Ranked keyword search (BM25 over words and n-grams), exact look-up over the character
    stream, and the statistics sentence-level re-ranking needs."""

    def keyword_search(self, words: list[str], grams: list[str], limit: int,
                       weights: tuple[float, float], postings_budget: int = 0) -> list[tuple[int, float]]: ...
    def phrase_candidates(self, phrases: list[list[str]]) -> list[int]: ...
    def document_frequencies(self, terms: list[str]) -> dict[str, int]: ...
    def phrase_frequencies(self, phrases: list[str]) -> dict[str, int]: ...
    def passage_words(self) -> Iterator[tuple[int, str]]: ...
    def rebuild_keyword_index(self, rows: Iterable[tuple[int, PassageTokens]]) -> None: ...
    def compact(self) -> None: ...
    def integrity_errors(self) -> list[str]: ...
    def keyword_index_problems(self, passage_ids: list[int]) -> list[str]: ...


class Store(MetadataStore, DocumentStore, KeywordIndex, Protocol):
    """A library's documents, keyword index and metadata in one backend."""

    def flush(self) -> None: ...
    def close(self) -> None: ...


class VectorIndex(Protocol):
    """Dense vectors keyed by passage id; inner product over L2-normalized vectors."""

    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: list[int]) -> None: ...
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def ids(self) -> np.ndarray: ...
    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]: ...
    def save(self) -> None: ...
    def describe(self) -> dict: ...
    def __len__(self) -> int: ...


class Backend(Protocol):
    """One library: its store and, per embedding model, its vector index.

    `open_vectors` raises `errors.IndexCorrupt` (with a `reason`) when the stored vectors cannot
    be read; `heal` tidies what an interrupted write of this backend can leave behind and says
    what it did."""

    store: Store

    def has_vectors(self) -> bool: ...
    def open_vectors(self, dim: int | None) -> VectorIndex: ...
    def drop_vectors(self) -> None: ...
    def drop_library(self) -> None: ...
    def heal(self) -> list[str]: ...
    def close(self) -> None: ...
