"""The facade: one object over storage, keyword index, vectors and scoring.

The CLI, the app and the tools all go through `DocSearch`; each method hands its work to the
layer that does it: `indexing` (the write path), `retrieval` (the read path), `access` (who may
edit). Nothing below imports this module.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from docsearch import access
from docsearch.config import Settings
from docsearch.indexing import adding, checks, corpus, trash
from docsearch.indexing.library import Library
from docsearch.indexing.progress import ProgressFactory, no_progress  # noqa: F401 - part of the facade API
from docsearch.ingest import Article
from docsearch.responses import AddReport, AskResponse, LookupResponse, Result, SearchResponse, Wording
from docsearch.retrieval import lookup as lookup_mod
from docsearch.retrieval.compose import compose
from docsearch.retrieval.confidence import ConfidenceModel
from docsearch.retrieval.filters import Filters, allowed_articles
from docsearch.retrieval.query import Query, analyze
from docsearch.retrieval.ranking import Ranker
from docsearch.retrieval.rerank import Reranked, Reranker
from docsearch.retrieval.sentence_meaning import SentenceMeaning
from docsearch.storage.base import ArticleRow
from docsearch.text.chunk import paragraphs
from docsearch.text.highlight import highlight_spans

MAX_SEARCH_K, MAX_ASK_K = 1000, 100


class DocSearch:
    """A library of articles with keyword, dense and hybrid search over their passages."""

    def __init__(self, settings: Settings, progress: ProgressFactory | None = None):
        self.library = Library(settings, progress)
        self.ranker = Ranker(self.library)
        self.confidence = ConfidenceModel(self.library)
        self.sentence_meaning = SentenceMeaning(self.library)
        self.reranker = Reranker(settings.rerank_depth, settings.rerank_prior)

    # -- the open library ------------------------------------------------------------------
    settings = property(lambda self: self.library.settings)
    index_dir = property(lambda self: self.library.index_dir)
    backend = property(lambda self: self.library.backend)
    store = property(lambda self: self.library.store)
    lock = property(lambda self: self.library.lock)
    writer = property(lambda self: self.library.writer)
    healed = property(lambda self: self.library.healed)
    embedder = property(lambda self: self.library.embedder)
    vectors = property(lambda self: self.library.vectors)
    last_add_stats = property(lambda self: self.library.last_add_stats)
    dense_weight = property(lambda self: self.library.settings.resolved_dense_weight)
    # The embedding model this library uses, and whether "auto" chose it (config.auto_model).
    model = property(lambda self: self.library.settings.model)
    model_is_automatic = property(lambda self: self.library.chooses_model)
    keyword_weights = property(lambda self: self.ranker.keyword_weights)

    @property
    def progress(self) -> ProgressFactory:
        """The progress bars of operations not given their own (see add_articles' `progress`)."""
        return self.library.progress

    def close(self) -> None:
        self.library.close()

    def drop_library(self) -> None:
        """Delete the whole library, articles included, and close this object."""
        self.library.backend.drop_library()
        self.library.close()

    # -- building ------------------------------------------------------------------------
    def is_empty(self) -> bool:
        """Never built from the corpus folder and holding no article."""
        return self.store.get_meta("corpus_synced") is None and not self.store.articles()

    def ensure_ready(self) -> None:
        """First use: build the index from the corpus folder."""
        if self.is_empty():
            self.index()

    def index(self, rebuild: bool = False) -> dict[str, int]:
        """Bring the library in line with the corpus folder (see indexing.corpus)."""
        return corpus.sync_corpus(self.library, rebuild)

    def sync_vectors(self) -> int:
        """Embed passages that have no vector and drop vectors of passages that are gone."""
        with self.library.writing():
            return self.library.sync_vectors()

    def add_paths(self, paths: Iterable[Path], overrides: dict[str, str] | None = None,
                  progress: ProgressFactory | None = None) -> AddReport:
        """Add the articles in files (see indexing.adding.add_paths)."""
        return adding.add_paths(self.library, paths, overrides, progress)

    def add_articles(self, articles: Iterable[Article], origin: str = "added",
                     added_at: dict[str, str] | None = None, progress: ProgressFactory | None = None) -> AddReport:
        """Add articles, in batches (see indexing.adding.add_articles)."""
        return adding.add_articles(self.library, articles, origin, added_at, progress)

    def remove(self, article_id: str) -> bool:
        """Move an article to the trash (see restore); False when there is no such article."""
        return trash.trash(self.library, article_id)

    def restore(self, article_id: str) -> bool:
        """Bring an article back from the trash, same id and text; False when it is not there."""
        return trash.restore(self.library, article_id)

    def trash(self) -> list[tuple[ArticleRow, str]]:
        """The trash: (article, when it was removed), oldest first."""
        return trash.trashed(self.library)

    def empty_trash(self, article_ids: list[str] | None = None) -> int:
        """Delete trashed articles for good (all of them by default); how many."""
        return trash.empty(self.library, article_ids)

    def delete(self, article_id: str) -> bool:
        """Delete a live article for good, skipping the trash."""
        return adding.delete_article(self.library, article_id)

    # -- reading -------------------------------------------------------------------------
    def articles(self) -> list[ArticleRow]:
        return self.store.articles()

    def article(self, article_id: str) -> ArticleRow | None:
        return self.store.article(article_id)

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(article_id)

    def article_paragraphs(self, article_id: str) -> list[tuple[int, str]]:
        """(paragraph number, text) of every paragraph of an article, numbered from 1."""
        text = self.store.article_text(article_id) or ""
        return [(p.number, text[p.start:p.end]) for p in paragraphs(text)]

    # -- search --------------------------------------------------------------------------
    def keyword_ranked(self, q: Query, n: int) -> list[tuple[int, float]]:
        return self.ranker.keyword_ranked(q, n)

    def dense_ranked(self, vector, n: int) -> list[tuple[int, float]]:
        return self.ranker.dense_ranked(vector, n)

    def weight_for(self, q: Query) -> float:
        return self.ranker.weight_for(q)

    def results(self, ranked: list[tuple[int, float]]) -> list[Result]:
        """Cited results for a ranking of (passage id, score) pairs."""
        return self.ranker.results(ranked)

    def search(self, query: str, k: int = 10, dense_weight: float | None = None,
               filters: Filters | None = None, rerank: int = 0) -> SearchResponse:
        """The k best passages for a query (hybrid ranking, see retrieval.ranking); with `rerank`,
        that many of the best re-read by the cross-encoder first, as `ask` does (slower)."""
        q, allowed = analyze(query, self.settings.max_query_chars), self._allowed(filters)
        k = max(1, min(int(k), MAX_SEARCH_K))
        ranked = self.ranker.ranked(q, max(k, rerank), dense_weight, allowed)
        results = self.reread(q, ranked, rerank).results[:k]    # depth 0 or 1: the search order
        return SearchResponse(query, results, q.terms, q.notes, q.translations, _described(filters),
                              self._wording(q))

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> AskResponse:
        """Answer sentences with citations, from the k best passages (see retrieval.compose)."""
        q, allowed = analyze(question, self.settings.max_query_chars), self._allowed(filters)
        resp = self._answer(question, q, self.answer_passages(q, max(1, min(int(k), MAX_ASK_K)), allowed))
        resp.filters, resp.wording = _described(filters), self._wording(q)
        return resp

    def answer_passages(self, q: Query, k: int, allowed: set[str] | None = None) -> list[Result]:
        """The k passages `ask` answers from: the re-ranker reads its whole depth even when
        fewer passages are shown."""
        return self.reread(q, self.ranker.ranked(q, max(k, self.reranker.depth), None, allowed)).results[:k]

    def answer_for(self, question: str, ranked: list[tuple[int, float]]) -> AskResponse:
        """What `ask` answers from a given ranking (the benchmark ranks once, answers per weight)."""
        q = analyze(question, self.settings.max_query_chars)
        return self._answer(question, q, self.reread(q, ranked).results)

    def reread(self, q: Query, ranked: list[tuple[int, float]], depth: int | None = None) -> Reranked:
        """A ranking as cited results, its head (`depth`, default the re-ranker's) re-ordered by
        the cross-encoder (see retrieval.rerank), with the cross-encoder's scores."""
        return self.reranker.rerank(q, self.ranker.results(ranked), depth)

    def _wording(self, q: Query) -> Wording:
        return Wording(self.ranker.unknown_terms(q), self.ranker.by_meaning(q))

    def _answer(self, question: str, q: Query, results: list[Result]) -> AskResponse:
        c = compose(q, results, self.confidence, self.sentence_meaning)
        return AskResponse(question, c.answers, c.passages, q.notes, q.terms, q.translations,
                           answered=bool(c.answers), confidence=c.confidence, off_topic=c.off_topic)

    def _allowed(self, filters: Filters | None) -> set[str] | None:
        """The ids of the articles the filters let through (None: no filter). Named articles are
        read by id; only a source or date filter alone reads every article's row."""
        if not (filters and filters.active):
            return None
        rows = list(self.store.articles_by_id(filters.articles).values()) if filters.articles else self.store.articles()
        return allowed_articles(rows, filters)

    def highlight_spans(self, text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
        """Where the given (canonical) terms occur in `text`, in any script or vocabulary."""
        return highlight_spans(text, terms)

    def lookup(self, keyword: str, limit: int | None = None, filters: Filters | None = None) -> LookupResponse:
        """Every passage holding the keyword, in corpus order, with match offsets."""
        resp = lookup_mod.lookup(self.store, keyword, limit, self._allowed(filters))
        resp.filters = _described(filters)
        return resp

    def lookup_words(self, text: str | list[str], filters: Filters | None = None, every: bool = False) -> LookupResponse:
        """Passages holding any (with `every`: all) of several keywords: the words of `text` (a
        quoted phrase is one), or each item of a list."""
        allowed = self._allowed(filters)
        resp = (lookup_mod.lookup_keywords(self.store, text, allowed, every) if isinstance(text, list)
                else lookup_mod.lookup_words(self.store, text, allowed, every))
        resp.filters = _described(filters)
        return resp

    # -- export, checks, access ------------------------------------------------------------
    def export(self) -> Iterator[dict]:
        """Every article as a record that `add` (JSONL) takes back unchanged: id, title, text,
        metadata, when it was added. One database snapshot, even while a writer works."""
        for row, text in self.store.articles_with_text():
            rec = {"id": row.id, "title": row.title, "text": text, "source": row.source, "date": row.date,
                   "url": row.url, "script": row.script, "original_file": row.original_file,
                   "added_at": row.added_at}
            if row.extra:
                rec["extra"] = row.extra
            yield rec

    def verify(self) -> list[str]:
        """Every disagreement between articles, passages, keyword index and vectors."""
        return checks.verify(self.library)

    def repair(self) -> list[str]:
        """Rebuild what is derived and damaged from the stored articles; what it fixed."""
        return checks.repair(self.library)

    def set_editor_password(self, secret: str | None) -> None:
        """Set (None: clear) the password editors sign in with in the app."""
        access.set_credential(self.store, secret)

    def has_editor_password(self) -> bool:
        return access.has_credential(self.store)

    def sign_in_editor(self, secret: str) -> bool:
        """Check an editor password (failures in a row are slowed down)."""
        return access.sign_in(self.store, secret)

    def can_edit(self, signed_in: bool) -> bool:
        """Whether a session (signed in as editor or not) may change the library."""
        return access.can_edit(self.settings, self.store, signed_in)


def _described(filters: Filters | None) -> dict:
    return filters.describe() if filters and filters.active else {}
