"""The facade: one object over storage, keyword index, vectors and scoring.

The CLI, the app and the tests all go through `DocSearch`; nothing else touches the stages.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from . import answer as answer_mod
from . import chunk as chunk_mod
from . import ingest, segment
from .config import Settings
from .lock import WriterLock
from .normalize import aligned_simplified, canonical, clean_query, term_variants
from .pipeline import tokenize
from .search import Query, QueryError, analyze, fuse, rerank_by_sentences, rescore_translated
from .backend import DB_NAME, VECTORS_NAME, open_backend  # noqa: F401 - names kept importable here
from .store import FORMAT_VERSION, ArticleRow, PassageRow, PassageTokens
# A lower-ranked passage's sentence is part of the answer when it scores at least this share of
# the top passage's sentence.
ANSWER_SCORE_RATIO = 0.6
# Set in the database while a write is under way and cleared once the vector file has caught
# up: whoever opens the index after a crash sees it and finishes the derived work.
PENDING_KEY = "write_pending"


class Progress(Protocol):
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], Progress]


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _no_progress(total: int, desc: str) -> Progress:
    return _NoProgress()


class IndexFormatError(RuntimeError):
    """The index on disk was written by an incompatible version of docsearch."""


class IndexCorrupt(RuntimeError):
    """A derived part of the index cannot be read; `repair` rebuilds it."""


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
class SearchResponse:
    query: str
    results: list[Result]
    terms: list[str]
    notes: list[str] = field(default_factory=list)
    translations: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"query": self.query, "results": [r.to_json() for r in self.results],
                "understood_as": self.terms, "translations": self.translations, "notes": self.notes}


@dataclass
class AnswerSentence:
    text: str
    article_id: str
    paragraph: int
    citation: str
    passage_rank: int
    start: int   # offsets in the article text
    end: int


@dataclass
class AskResponse:
    question: str
    answer: list[AnswerSentence]
    passages: list[tuple[Result, str, int, int]]  # result, answer sentence, start/end in passage
    notes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    translations: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        out_passages = []
        for r, sent, a, b in self.passages:
            d = r.to_json()
            d.update(answer_sentence=sent, answer_start=a, answer_end=b)
            out_passages.append(d)
        return {"question": self.question,
                "answer": [{"text": s.text, "article_id": s.article_id, "paragraph": s.paragraph,
                            "citation": s.citation} for s in self.answer],
                "passages": out_passages, "understood_as": self.terms, "translations": self.translations,
                "notes": self.notes}


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

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.results:
            out[h.article_id] = out.get(h.article_id, 0) + len(h.matches)
        return out

    def to_json(self) -> dict:
        return {"keyword": self.keyword, "count": len(self.results), "forms": self.forms,
                "occurrences": sum(len(h.matches) for h in self.results),
                "per_article": self.counts, "results": [h.to_json() for h in self.results]}


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)   # (what, existing id)
    refused: list[tuple[str, str]] = field(default_factory=list)      # (what, reason)
    # Per added id: the file it came from and the text encoding found ('' for .docx/.pdf).
    files: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)


def citation(title: str, article_id: str, paragraph: int, paragraph_end: int | None = None) -> str:
    para = f"¶{paragraph}" if not paragraph_end or paragraph_end == paragraph else f"¶{paragraph}-{paragraph_end}"
    return f"{title} [{article_id}] {para}"


def passage_tokens(text: str) -> PassageTokens:
    return tokenize([text]).tokens[0]


class DocSearch:
    """A library of articles with keyword, dense and hybrid search over their passages."""

    def __init__(self, settings: Settings, progress: ProgressFactory | None = None):
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.progress = progress or _no_progress
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.backend = open_backend(settings)
        self.store = self.backend.store
        version = int(self.store.get_meta("format_version") or FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise IndexFormatError(
                f"index at {self.index_dir} has format {version}, this docsearch reads format {FORMAT_VERSION}; "
                "left untouched: open it with the docsearch that wrote it, or point --index-dir elsewhere")
        self._vectors = None
        self._embedder = None
        # One writer at a time within a process, and no vector search while the FAISS index is
        # being changed (app sessions share one engine).
        self.lock = threading.RLock()
        # ... and one writing process at a time (see lock.py).
        self.writer = WriterLock(self.index_dir, settings.lock_wait_seconds)
        # A write that died half-way (killed, power cut) left its marker: finish its derived work
        # now, unless another process is writing (it heals before its own write).
        self.healed: list[str] = []
        if self.store.get_meta(PENDING_KEY) and self.writer.try_acquire():
            try:
                self.healed = self._heal()
            except IndexCorrupt:
                pass  # `verify` reports it and `repair` rebuilds it; reading keyword-only still works
            finally:
                self.writer.release()
        self.last_add_stats = None  # pipeline.StageStats of the latest add (read by the bench)

    # -- lazily loaded parts -------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from .embed import embedder_for

            self._embedder = embedder_for(self.settings.model, self.settings.embed_batch_size)
        return self._embedder

    @property
    def vectors(self):
        """The vector index of the configured model (vectors of another model are dropped: they
        must never mix). Opening an existing file does not load the model."""
        if self._vectors is None:
            if self.store.get_meta("model") == self.settings.model:
                self._vectors = self._open_vectors(int(self.store.get_meta("model_dim") or 0) or self.embedder.dim)
                return self._vectors
            with self.writing():
                if self._vectors is None:
                    self._switch_model()
        return self._vectors

    def _open_vectors(self, dim: int):
        try:
            return self.backend.open_vectors(dim)
        except (RuntimeError, ValueError) as exc:  # faiss raises RuntimeError on a damaged file
            raise IndexCorrupt(f"the vector index cannot be used ({_faiss_reason(exc)}); "
                               "run `docsearch repair`") from exc

    def _switch_model(self) -> None:
        """Drop the vectors of another model and embed every passage with this one."""
        dim = self.embedder.dim
        self.store.set_meta(PENDING_KEY, "1")  # killed while re-embedding: the next open finishes it
        self.backend.drop_vectors()
        self.store.set_meta("model", self.settings.model)
        self.store.set_meta("model_dim", str(dim))
        self._vectors = self.backend.open_vectors(dim)
        if self.store.passage_count():
            self._sync_vectors()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Every change to the index runs inside this: one thread of this process and one process
        (the writer lock); it heals what an interrupted write left, and keeps a marker in the
        database until the vector file has caught up with the committed articles."""
        with self.lock:
            self.writer.acquire()
            try:
                outermost = self.writer.depth == 1
                if outermost:
                    self._heal()
                    self.store.set_meta(PENDING_KEY, "1")
                yield
                if outermost:
                    # Every write path keeps the vectors itself; this is the safety net, and a
                    # full comparison of the id sets only runs when the counts disagree (at a
                    # million passages the full comparison costs about a second per write).
                    self._sync_vectors(full=False)
                    self.store.set_meta(PENDING_KEY, "")
            finally:
                self.writer.release()

    def _heal(self) -> list[str]:
        """Bring the vector file in line with the committed passages and drop temporary files of
        a vector save that never finished. Call with the writer lock held."""
        fixed = []
        # The marker says a write was interrupted: compare the id sets, not just their sizes.
        n = self._sync_vectors(full=bool(self.store.get_meta(PENDING_KEY)))
        if n:
            fixed.append(f"vectors: {n} added or dropped to match the passages")
        for tmp in self.index_dir.glob(".vectors-*.tmp"):
            tmp.unlink(missing_ok=True)
            fixed.append(f"removed the unfinished vector file {tmp.name}")
        if self.store.get_meta(PENDING_KEY):
            self.store.set_meta(PENDING_KEY, "")
        return fixed

    @property
    def dense_weight(self) -> float:
        return self.settings.resolved_dense_weight

    def close(self) -> None:
        self.backend.close()

    # -- building ------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.store.get_meta("corpus_synced") is None and not self.store.articles()

    def ensure_ready(self) -> None:
        """First use: build the index from the corpus folder."""
        if self.is_empty():
            self.index()

    def index(self, rebuild: bool = False) -> dict[str, int]:
        """Bring the index in line with the corpus folder; `rebuild` re-derives everything
        (passages, keyword index, vectors) from the stored articles as well."""
        with self.writing():
            return self._index(rebuild)

    def _index(self, rebuild: bool) -> dict[str, int]:
        stats = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0, "rederived": 0}
        if rebuild:
            stats["rederived"] = self._rederive_all()
        corpus_dir = Path(self.settings.corpus_dir)
        wanted: dict[str, ingest.Article] = {}
        for path in ingest.corpus_files(corpus_dir):
            for art in ingest.read_corpus_file(path, self.settings.max_file_bytes):
                wanted[art.ensure_id()] = art
        existing = {a.id: a for a in self.store.articles() if a.origin == "corpus"}
        to_add = []
        for aid, art in wanted.items():
            have = existing.get(aid)
            if have is not None and have.content_hash == art.content_hash and self._same_meta(have, art):
                stats["unchanged"] += 1
                continue
            if have is not None:
                self.remove(aid)
                stats["updated"] += 1
            else:
                stats["added"] += 1
            to_add.append(art)
        for aid in existing.keys() - wanted.keys():
            self.remove(aid)
            stats["removed"] += 1
        report = self.add_articles(to_add, origin="corpus")
        stats["added"] -= sum(1 for what, _ in report.duplicates)
        self.store.set_meta("corpus_synced", time.strftime("%Y-%m-%dT%H:%M:%S"))
        return stats

    @staticmethod
    def _same_meta(row: ArticleRow, art: ingest.Article) -> bool:
        return (row.title, row.source, row.date, row.url) == (art.title, art.source, art.date, art.url)

    def _rederive_all(self) -> int:
        """Derive passages, keyword rows and vectors again from article text. Each article is
        re-derived in its own transaction, so an interruption leaves every article whole."""
        articles = self.store.articles()
        self._drop_vectors()
        bar = self.progress(len(articles), "re-deriving")
        for row in articles:
            self._rederive(row.id)
            bar.update(1)
        bar.close()
        self.store.prune_keyword_rows()
        self._sync_vectors()
        return len(articles)

    def _rederive(self, article_id: str) -> None:
        chunks = chunk_mod.chunk(self.store.article_text(article_id) or "", self.settings.max_passage_chars,
                                 self.settings.heading_max_chars)
        self.store.replace_passages(article_id, chunks, [passage_tokens(c.text) for c in chunks])

    def _drop_vectors(self) -> None:
        self.backend.drop_vectors()
        self._vectors = None

    def sync_vectors(self) -> int:
        """Embed passages that have no vector and drop vectors of passages that are gone
        (heals an add or remove interrupted between the database and the vector file)."""
        with self.writing():
            return self._sync_vectors()

    def _sync_vectors(self, full: bool = True) -> int:
        """Embed passages without a vector, drop vectors without a passage. `full=False` first
        compares only the counts and stops there when they agree."""
        import numpy as np

        n_passages = self.store.passage_count()
        if n_passages == 0 and not self.backend.has_vectors():
            return 0
        vec = self.vectors
        if not full and len(vec) == n_passages:
            return 0
        have = np.asarray(vec.ids(), dtype=np.int64)
        want = np.asarray(self.store.passage_ids(), dtype=np.int64)
        extra = np.setdiff1d(have, want).tolist()
        missing = np.setdiff1d(want, have).tolist()
        if not extra and not missing:
            return 0
        vec.remove(extra)
        if missing:
            rows = self.store.passages(missing)
            bar = self.progress(len(missing), "embedding")
            embs = self.embedder.encode([rows[i].text for i in missing], progress=bar.update)
            bar.close()
            vec.add(np.asarray(missing, dtype=np.int64), embs)
        self._save_vectors(vec)
        return len(extra) + len(missing)

    def _save_vectors(self, vec) -> None:
        """Write the vector file and record its type and parameters in the index metadata."""
        vec.save()
        self.store.set_meta("vector_index", json.dumps(vec.describe()))

    # -- adding and removing ---------------------------------------------------------------
    def add_paths(self, paths: Iterable[Path], overrides: dict[str, str] | None = None) -> AddReport:
        """Add the articles in files; refused files are reported, the rest still go in.
        `overrides` (title, source, date, url) replace what the files say; a title only fits
        input that holds one article."""
        overrides = {k: v for k, v in (overrides or {}).items() if v}
        report = AddReport()
        read: list[tuple[str, ingest.Article]] = []
        for path in paths:
            try:
                read.extend((str(path), art) for art in ingest.read_path(Path(path), self.settings.max_file_bytes))
            except ingest.IngestError as exc:
                report.refused.append((str(path), str(exc)))
        if overrides.get("title") and len(read) > 1:
            raise ingest.IngestError(f"a title override names one article, but the input holds {len(read)}; "
                                     "add them one at a time or leave the title out")
        read = [(path, replace(art, **overrides)) for path, art in read]
        sub = self.add_articles([art for _, art in read], origin="added")
        report.added.extend(sub.added)
        report.duplicates.extend(sub.duplicates)
        report.refused.extend(sub.refused)
        added = set(sub.added)
        for path, art in read:
            if art.id in added:
                report.files[art.id] = path
                report.encodings[art.id] = art.encoding
        return report

    def add_articles(self, articles: Iterable[ingest.Article], origin: str = "added",
                     added_at: dict[str, str] | None = None) -> AddReport:
        """Chunk, normalize, tokenize and embed, then store batches of articles, each batch in one
        transaction. `articles` may be a generator (a million passages need not be in memory);
        `added_at` (article id -> time) keeps the original times when a library is copied."""
        if isinstance(articles, (list, tuple)) and not articles:
            return AddReport()  # nothing to do: not even the writer lock
        with self.writing():
            return self._add_articles(articles, origin, added_at or {})

    def _add_articles(self, articles: Iterable[ingest.Article], origin: str, added_at: dict[str, str]) -> AddReport:
        import numpy as np

        from . import pipeline

        report = AddReport()
        seen_hashes: dict[str, str] = {}
        seen_ids: set[str] = set()  # a set: a million articles make a scan of the dict's values quadratic
        s = self.settings

        def checked() -> Iterator[tuple[ingest.Article, ArticleRow | None, bool]]:
            """Each article with the stored article of the same text, if any, and whether its id
            is taken; looked up 256 articles at a time (on a server, one round trip each)."""
            it = iter(articles)
            while group := list(itertools.islice(it, 256)):
                by_hash = self.store.articles_by_hash([a.content_hash for a in group])
                taken = self.store.articles_by_id([a.ensure_id() for a in group])
                for art in group:
                    yield art, by_hash.get(art.content_hash), art.id in taken

        def prepared() -> Iterable[tuple[ingest.Article, list]]:
            for art, dup, id_taken in checked():
                h = art.content_hash
                if dup is not None or h in seen_hashes:
                    report.duplicates.append((art.title, dup.id if dup else seen_hashes[h]))
                    continue
                aid = art.id
                if id_taken or aid in seen_ids:
                    report.refused.append((art.title, f"article id {aid!r} is already in the library"))
                    continue
                chunks = chunk_mod.chunk(art.text, s.max_passage_chars, s.heading_max_chars)
                if not chunks:
                    report.refused.append((art.title, "no text to index"))
                    continue
                seen_hashes[h] = aid
                seen_ids.add(aid)
                yield art, chunks

        stats = pipeline.StageStats()
        total = len(articles) if hasattr(articles, "__len__") else 0
        bar = self.progress(total, "indexing")
        vec = None
        batches = pipeline.batched(prepared(), lambda item: len(item[1]), s.index_batch_passages)
        for batch, tok, workers in pipeline.tokenized_batches(batches, s.resolved_index_workers):
            stats.workers = workers
            for stage, sec in tok.seconds.items():
                stats.add(stage, sec)
            t = time.perf_counter()
            embeddings = self.embedder.encode_canonical(tok.canonical)
            stats.add("embed", time.perf_counter() - t)
            if vec is None:  # before storing: a first open may embed what is already stored
                vec = self.vectors
            t = time.perf_counter()
            items, offset = [], 0
            for art, chunks in batch:
                items.append((art, chunks, tok.tokens[offset:offset + len(chunks)]))
                offset += len(chunks)
            ids = [i for part in self.store.add_articles(items, origin, added_at) for i in part]
            stats.add("store", time.perf_counter() - t)
            t = time.perf_counter()
            vec.add(np.asarray(ids, dtype=np.int64), embeddings)
            stats.add("vectors", time.perf_counter() - t)
            stats.passages += len(ids)
            report.added.extend(art.id for art, _ in batch)
            bar.update(len(batch))
        bar.close()
        if vec is not None:
            t = time.perf_counter()
            if stats.passages >= s.optimize_after_passages:
                self.store.optimize()
            stats.add("store", time.perf_counter() - t)
            t = time.perf_counter()
            self._save_vectors(vec)
            stats.add("vectors", time.perf_counter() - t)
        self.last_add_stats = stats
        return report

    def remove(self, article_id: str) -> bool:
        """Remove an article and everything derived from it (one transaction, then the vectors)."""
        if self.store.article(article_id) is None:
            return False
        with self.writing():
            if self.store.article(article_id) is None:
                return False
            ids = self.store.remove_article(article_id)
            if self.backend.has_vectors() or self._vectors is not None:
                self.vectors.remove(ids)
                self._save_vectors(self.vectors)
            return True

    # -- reading -------------------------------------------------------------------------
    def articles(self) -> list[ArticleRow]:
        return self.store.articles()

    def article(self, article_id: str) -> ArticleRow | None:
        return self.store.article(article_id)

    def article_text(self, article_id: str) -> str | None:
        return self.store.article_text(article_id)

    def article_paragraphs(self, article_id: str) -> list[tuple[int, str]]:
        text = self.store.article_text(article_id) or ""
        return [(p.number, text[p.start:p.end]) for p in chunk_mod.paragraphs(text)]

    # -- search --------------------------------------------------------------------------
    def keyword_ranked(self, q: Query, n: int) -> list[tuple[int, float]]:
        """BM25 over words and n-grams, its head re-ordered by best-sentence evidence."""
        hits = self.store.keyword_search(q.words, q.grams, n, weights=self.keyword_weights,
                                         postings_budget=self.settings.keyword_postings_budget)
        s = self.settings
        if not hits:
            return hits
        n_docs = self.store.passage_count()
        wanted = hits if q.groups else hits[:s.sentence_depth]
        texts = {pid: p.text for pid, p in self.store.passages(pid for pid, _ in wanted).items()}
        if q.groups:
            alts = [a for g in q.groups for a in g.alternatives]
            hits = rescore_translated(hits, texts, q.groups, self.store.phrase_frequencies(alts), n_docs)
        if s.sentence_weight <= 0:
            return hits
        return rerank_by_sentences(hits, texts, q.grams, self.store.document_frequencies(q.grams),
                                   n_docs, s.sentence_weight, s.sentence_depth)

    def dense_ranked(self, vector, n: int) -> list[tuple[int, float]]:
        with self.lock:
            return self.vectors.search(vector, n) if self.store.passage_count() else []

    def weight_for(self, q: Query) -> float:
        """The calibrated dense weight for this kind of query (translated English or not)."""
        return self.settings.resolved_dense_weight_translated if q.groups else self.dense_weight

    def _ranked(self, q: Query, limit: int, dense_weight: float | None = None) -> list[tuple[int, float]]:
        w = self.weight_for(q) if dense_weight is None else dense_weight
        n = max(self.settings.candidates, limit)
        keyword = self.keyword_ranked(q, n)
        dense: list[tuple[int, float]] = []
        if w > 0 or not keyword:
            dense = self.dense_ranked(self.embedder.encode_query(q.text), n)
        if not keyword:
            return dense[:limit]
        return fuse(keyword, dense, w)[:limit]

    @property
    def keyword_weights(self) -> tuple[float, float]:
        return (self.settings.words_weight, self.settings.grams_weight)

    def _results(self, ranked: list[tuple[int, float]]) -> list[Result]:
        rows = self.store.passages(i for i, _ in ranked)
        arts = self.store.articles_by_id(p.article_id for p in rows.values())
        out: list[Result] = []
        for pid, score in ranked:
            p = rows.get(pid)
            if p is None:  # a vector whose passage was removed: skip it
                continue
            art = arts.get(p.article_id)
            title = art.title if art else p.article_id
            out.append(Result(len(out) + 1, p.article_id, title, p.paragraph, p.paragraph_end, p.text,
                              round(float(score), 6), citation(title, p.article_id, p.paragraph, p.paragraph_end),
                              pid, art.source if art else "", art.date if art else "", p.start, p.end))
        return out

    def search(self, query: str, k: int = 10, dense_weight: float | None = None) -> SearchResponse:
        q = analyze(query, self.settings.max_query_chars)
        k = max(1, min(int(k), 1000))
        ranked = self._ranked(q, k, dense_weight)
        return SearchResponse(query, self._results(ranked), q.terms, q.notes, q.translations)

    def ask(self, question: str, k: int = 5) -> AskResponse:
        q = analyze(question, self.settings.max_query_chars)
        k = max(1, min(int(k), 100))
        results = self._results(self._ranked(q, k))
        # English words are answered through their translations.
        asked = " ".join([q.canonical] + [a for g in q.groups for a in g.alternatives])
        grams = answer_mod.question_grams(asked)
        passages = []
        answers: list[AnswerSentence] = []
        seen: set[str] = set()
        top_score = None
        for r in results:
            choice = answer_mod.best_sentence(asked, r.text, grams, r.title)
            sent = r.text[choice.start:choice.end]
            passages.append((r, sent, choice.start, choice.end))
            top_score = choice.score if top_score is None else top_score
            key = canonical(sent)
            # Later passages' sentences join the answer only when they match about as well.
            if key in seen or choice.score < ANSWER_SCORE_RATIO * top_score:
                continue
            seen.add(key)
            para = self._paragraph_at(r, choice.start)
            answers.append(AnswerSentence(sent, r.article_id, para, citation(r.title, r.article_id, para),
                                          r.rank, r.start + choice.start, r.start + choice.end))
        return AskResponse(question, answers[:3], passages, q.notes, q.terms, q.translations)

    @staticmethod
    def _paragraph_at(r: Result, offset_in_passage: int) -> int:
        """The source paragraph number of a position inside a passage."""
        for n, p in enumerate(chunk_mod.paragraphs(r.text)):
            if offset_in_passage < p.end:
                return r.paragraph + n
        return r.paragraph_end

    def highlight_spans(self, text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
        """Where the given (canonical) terms occur in `text`, in any script or vocabulary."""
        view = aligned_simplified(text)
        forms = {f for t in terms if len(t) > 1 or not t.isascii() for f in term_variants(t) if f.strip()}
        return _merge_spans(m.span() for f in forms for m in _lookup_pattern(f).finditer(view))

    # -- lookup --------------------------------------------------------------------------
    def lookup(self, keyword: str, limit: int | None = None) -> LookupResponse:
        """Every passage holding the keyword in any script or regional vocabulary, in corpus
        order, with match offsets; nothing that lacks it."""
        cleaned = clean_query(keyword)
        if not cleaned:
            raise QueryError("empty keyword: type a word or phrase to look up")
        if len(cleaned) > 200:
            raise QueryError("keyword too long for lookup (over 200 characters): use search instead")
        forms = sorted(f for f in term_variants(cleaned) if segment.chars(f))
        if not forms:
            raise QueryError(f"keyword {keyword!r} has no letters, digits or characters to look up")
        patterns = [_lookup_pattern(f) for f in forms]
        candidates = self.store.phrase_candidates([segment.chars(f) for f in forms])
        rows = self.store.passages(candidates)
        order = self.store.article_order()
        hits: list[LookupHit] = []
        titles: dict[str, str] = {}
        for p in sorted(rows.values(), key=lambda p: (order.get(p.article_id, 0), p.ordinal)):
            view = aligned_simplified(p.text)
            spans = _merge_spans(m.span() for pat in patterns for m in pat.finditer(view))
            if not spans:
                continue
            if p.article_id not in titles:
                art = self.store.article(p.article_id)
                titles[p.article_id] = art.title if art else p.article_id
            title = titles[p.article_id]
            hits.append(LookupHit(p.article_id, title, p.paragraph, p.paragraph_end, p.text, spans,
                                  citation(title, p.article_id, p.paragraph, p.paragraph_end), p.id))
            if limit and len(hits) >= limit:
                break
        return LookupResponse(keyword, forms, hits)

    # -- export --------------------------------------------------------------------------
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

    # -- checks and repair ---------------------------------------------------------------
    def verify(self) -> list[str]:
        """Every disagreement between articles, passages, keyword index and vectors, and vectors
        of another model. Waits for a writer in another process, so it sees a settled index."""
        with self.lock, self.writer:
            if self.store.get_meta(PENDING_KEY):  # a writer died while we waited
                self.healed += self._heal()
            pids = self.store.passage_ids()
            problems = self._keyword_problems(pids)
            orphans = self.store.orphan_passages()
            if orphans:
                problems.append(f"{len(orphans)} passages belong to no article")
            problems += list(self._article_problems().values())
            problems += self._vector_problems(pids)[0]
            return problems

    def repair(self) -> list[str]:
        """Rebuild what is derived and damaged (passages, keyword rows, vectors) from the stored
        article text and metadata, which it never changes or drops; returns what it fixed."""
        with self.lock, self.writer:
            fixed: list[str] = []
            damaged = self.store.integrity_errors()
            if damaged:  # a damaged FTS table cannot even delete rows: rebuild it first
                self._rebuild_keyword_index()
                fixed.append("keyword index rebuilt (" + "; ".join(damaged) + ")")
            orphans = self.store.orphan_passages()
            if orphans:
                self.store.delete_passages(orphans)
                fixed.append(f"dropped {len(orphans)} passages that belonged to no article")
            for aid, why in self._article_problems().items():
                self._rederive(aid)
                fixed.append(f"{why}: passages derived again from its text")
            out_of_step = self._keyword_problems(self.store.passage_ids())
            if out_of_step:
                self._rebuild_keyword_index()
                fixed.append("keyword index rebuilt (" + "; ".join(out_of_step) + ")")
            problems, rebuild = self._vector_problems(self.store.passage_ids())
            if rebuild:
                self._drop_vectors()
                self.store.set_meta("model", "")  # embed everything again with the configured model
                fixed += [f"{p}: embedding every passage again" for p in problems]
            fixed += self._heal()
            return fixed

    def _rebuild_keyword_index(self) -> None:
        rows = self.store.passages(self.store.passage_ids())
        self.store.rebuild_keyword_index((pid, passage_tokens(p.text)) for pid, p in sorted(rows.items()))

    def _keyword_problems(self, pids: list[int]) -> list[str]:
        problems = list(self.store.integrity_errors())
        for table in ("passage_fts", "passage_chars"):
            fts = self.store.fts_ids(table)
            if fts != pids:
                problems.append(f"{table}: {len(set(pids) - set(fts))} passages missing, "
                                f"{len(set(fts) - set(pids))} stale rows")
        return problems

    def _article_problems(self) -> dict[str, str]:
        """Articles whose passages are missing or do not match their text, by id."""
        out: dict[str, str] = {}
        for art, text in self.store.articles_with_text():
            passages = self.store.article_passages(art.id)
            if not passages:
                out[art.id] = f"article {art.id} has no passages"
            elif any(text[p.start:p.end] != p.text for p in passages):
                out[art.id] = f"article {art.id}: passage offsets do not match the article text"
        return out

    def _vector_problems(self, pids: list[int]) -> tuple[list[str], bool]:
        """(problems, whether the vector file must be rebuilt rather than brought in step)."""
        if not self.backend.has_vectors():
            return (["vector file missing"] if pids else []), False
        recorded = self.store.get_meta("model")
        if recorded != self.settings.model:
            return [f"vectors were made by model {recorded!r}, settings use {self.settings.model!r}"], True
        try:
            vec = self.backend.open_vectors(int(self.store.get_meta("model_dim") or 0) or None)
        except (RuntimeError, ValueError) as exc:
            return [f"vector file unreadable ({_faiss_reason(exc)})"], True
        ids = vec.ids().tolist()
        if len(ids) != len(set(ids)):
            return [f"vectors: {len(ids) - len(set(ids))} passages have more than one vector"], True
        have, want = set(ids), set(pids)
        if have != want:
            return [f"vectors: {len(want - have)} passages without a vector, "
                    f"{len(have - want)} vectors without a passage"], False
        return [], False


def _faiss_reason(exc: BaseException) -> str:
    """FAISS errors start with the C++ function and source line; keep what comes after."""
    msg = " ".join(str(exc).split())
    return (msg.split(": ", 1)[-1] if msg.startswith("Error in ") else msg)[:160]


def _lookup_pattern(form: str) -> re.Pattern[str]:
    """Han characters match anywhere; a Latin/digit run must start at a word start."""
    pieces = []
    for i, part in enumerate(re.split(r"(\s+)", form)):
        if not part:
            continue
        if part.isspace():
            pieces.append(r"\s*")
            continue
        esc = re.escape(part)
        if part[0].isascii() and part[0].isalnum():
            esc = r"(?<![0-9a-z])" + esc
        pieces.append(esc)
    return re.compile("".join(pieces))


def _merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
