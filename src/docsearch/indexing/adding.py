"""Adding and removing articles: files read by `ingest`, then chunked, normalized, segmented,
embedded and stored in batches (see pipeline.py), with duplicates and taken ids reported."""
from __future__ import annotations

import itertools
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from docsearch.errors import IngestError
from docsearch.indexing import pipeline
from docsearch.indexing.library import Library
from docsearch.indexing.progress import ProgressFactory
from docsearch.ingest import Article, read_path
from docsearch.responses import AddReport, Refusal
from docsearch.storage.base import ArticleRow
from docsearch.text.chunk import chunk

# Articles looked up per duplicate check (on a server, one round trip each).
_CHECK_GROUP = 256


def add_paths(lib: Library, paths: Iterable[Path], overrides: dict[str, str] | None = None,
              progress: ProgressFactory | None = None) -> AddReport:
    """Add the articles in files; refused files are reported, the rest still go in.
    `overrides` (title, source, date, url) replace what the files say; a title only fits
    input that holds one article."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    report = AddReport()
    read: list[tuple[str, Article]] = []
    for path in paths:
        try:
            read.extend((str(path), art) for art in read_path(Path(path), lib.settings.max_file_bytes))
        except IngestError as exc:
            report.refused.append(Refusal(str(path), str(exc), exc.code))
    if overrides.get("title") and len(read) > 1:
        raise IngestError(f"a title override names one article, but the input holds {len(read)}; "
                          "add them one at a time or leave the title out", code="title_override")
    read = [(path, replace(art, **overrides)) for path, art in read]
    sub = add_articles(lib, [art for _, art in read], origin="added", progress=progress)
    report.added.extend(sub.added)
    report.duplicates.extend(sub.duplicates)
    report.refused.extend(sub.refused)
    added = set(sub.added)
    for path, art in read:
        if art.id in added:
            report.files[art.id] = path
            report.encodings[art.id] = art.encoding
    return report


def add_articles(lib: Library, articles: Iterable[Article], origin: str = "added",
                 added_at: dict[str, str] | None = None, progress: ProgressFactory | None = None) -> AddReport:
    """Chunk, normalize, tokenize and embed, then store batches of articles, each batch in one
    transaction. `articles` may be a generator (a million passages need not be in memory);
    `added_at` (article id -> time) keeps the original times when a library is copied."""
    if isinstance(articles, (list, tuple)) and not articles:
        return AddReport()  # nothing to do: not even the writer lock
    with lib.writing():
        report, lib.last_add_stats = _add(lib, articles, origin, added_at or {}, progress or lib.progress)
        return report


def _checked(lib: Library, articles: Iterable[Article]) -> Iterator[tuple[Article, ArticleRow | None, bool]]:
    """Each article with the stored article of the same text, if any, and whether its id is
    taken; looked up a group of articles at a time."""
    it = iter(articles)
    while group := list(itertools.islice(it, _CHECK_GROUP)):
        by_hash = lib.store.articles_by_hash([a.content_hash for a in group])
        taken = lib.store.articles_by_id([a.ensure_id() for a in group])
        for art in group:
            yield art, by_hash.get(art.content_hash), art.id in taken


def _prepared(lib: Library, articles: Iterable[Article], report: AddReport) -> Iterator[tuple[Article, list]]:
    """The articles to add, each with its passages; duplicates and refusals go in the report."""
    s = lib.settings
    seen_hashes: dict[str, str] = {}
    seen_ids: set[str] = set()  # a set: a million articles make a scan of the dict's values quadratic
    # The trash is small: one read per add. Its articles keep their ids and text until it is emptied.
    trashed = {row.id: row for row, _ in lib.store.trashed_articles()}
    trashed_hashes = {row.content_hash: row.id for row in trashed.values()}
    for art, dup, id_taken in _checked(lib, articles):
        h = art.content_hash
        if dup is not None or h in seen_hashes:
            report.duplicates.append((art.title, dup.id if dup else seen_hashes[h]))
            continue
        aid = art.id
        in_trash = trashed_hashes.get(h) or (aid if aid in trashed else None)
        if in_trash:
            report.refused.append(Refusal(art.title, f"article {in_trash!r} in the trash holds this text or id; "
                                                     f"`docsearch restore {in_trash}` brings it back", "in_trash"))
            continue
        if id_taken or aid in seen_ids:
            report.refused.append(Refusal(art.title, f"article id {aid!r} is already in the library", "id_taken"))
            continue
        chunks = chunk(art.text, s.max_passage_chars, s.heading_max_chars)
        if not chunks:
            report.refused.append(Refusal(art.title, "no text to index", "no_text"))
            continue
        seen_hashes[h] = aid
        seen_ids.add(aid)
        yield art, chunks


def _add(lib: Library, articles: Iterable[Article], origin: str, added_at: dict[str, str],
         progress: ProgressFactory) -> tuple[AddReport, pipeline.StageStats]:
    report = AddReport()
    s = lib.settings
    stats = pipeline.StageStats()
    total = len(articles) if hasattr(articles, "__len__") else 0
    bar = progress(total, "indexing")
    vec = None
    prepared = _prepared(lib, articles, report)
    # Under "auto", settle the model before embedding anything when the size of the add is
    # known: a bounded add by its passages; one of more articles than the encoder takes passages
    # by its articles (each has at least one), without holding its passages in memory. A model
    # named by the user needs neither, so its adds always stream.
    if lib.chooses_model and 0 < total <= s.encoder_max_passages:
        prepared = list(prepared)
        lib.fit_model(sum(len(chunks) for _, chunks in prepared))
    elif lib.chooses_model and total:
        lib.fit_model(total)
    batches = pipeline.batched(prepared, lambda item: len(item[1]), s.index_batch_passages)
    for batch, tok, workers in pipeline.tokenized_batches(batches, s.resolved_index_workers):
        stats.workers = workers
        for stage, sec in tok.seconds.items():
            stats.add(stage, sec)
        if lib.fit_model(len(tok.canonical)):  # a stream that outgrew the encoder
            vec = None
        t = time.perf_counter()
        embeddings = lib.embedder.encode_canonical(tok.canonical)
        stats.add("embed", time.perf_counter() - t)
        if vec is None:  # before storing: a first open may embed what is already stored
            vec = lib.vectors
        t = time.perf_counter()
        items, offset = [], 0
        for art, chunks in batch:
            items.append((art, chunks, tok.tokens[offset:offset + len(chunks)]))
            offset += len(chunks)
        ids = [i for part in lib.store.add_articles(items, origin, added_at) for i in part]
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
            lib.store.compact()
        stats.add("store", time.perf_counter() - t)
        t = time.perf_counter()
        lib.save_vectors(vec)
        stats.add("vectors", time.perf_counter() - t)
    return report, stats


def delete_article(lib: Library, article_id: str) -> bool:
    """Delete an article for good, with everything derived from it (one transaction, then the
    vectors). Users remove to the trash (indexing.trash); this is for corpus-folder sync."""
    if lib.store.article(article_id) is None:
        return False
    with lib.writing():
        if lib.store.article(article_id) is None:
            return False
        ids = lib.store.remove_article(article_id)
        if lib.has_vectors():
            lib.vectors.remove(ids)
            lib.save_vectors(lib.vectors)
        return True
