"""Keeping the library in step with the corpus folder, and deriving passages again from the
stored article text (`docsearch index [--rebuild]`)."""
from __future__ import annotations

import time
from pathlib import Path

from docsearch.indexing.adding import add_articles, delete_article
from docsearch.indexing.library import Library
from docsearch.ingest import Article, corpus_files, read_corpus_file
from docsearch.storage.base import ArticleRow
from docsearch.text.chunk import chunk
from docsearch.text.tokens import passage_tokens


def sync_corpus(lib: Library, rebuild: bool = False) -> dict[str, int]:
    """Bring the library in line with the corpus folder; `rebuild` re-derives everything
    (passages, keyword index, vectors) from the stored articles as well. Returns counts."""
    with lib.writing():
        stats = {"added": 0, "updated": 0, "removed": 0, "unchanged": 0, "rederived": 0}
        if rebuild:
            stats["rederived"] = rederive_all(lib)
        wanted: dict[str, Article] = {}
        for path in corpus_files(Path(lib.settings.corpus_dir)):
            for art in read_corpus_file(path, lib.settings.max_file_bytes):
                wanted[art.ensure_id()] = art
        existing = {a.id: a for a in lib.store.articles() if a.origin == "corpus"}
        to_add = []
        for aid, art in wanted.items():
            have = existing.get(aid)
            if have is not None and have.content_hash == art.content_hash and _same_meta(have, art):
                stats["unchanged"] += 1
                continue
            if have is not None:
                delete_article(lib, aid)
                stats["updated"] += 1
            else:
                stats["added"] += 1
            to_add.append(art)
        for aid in existing.keys() - wanted.keys():
            delete_article(lib, aid)
            stats["removed"] += 1
        report = add_articles(lib, to_add, origin="corpus")
        # Duplicates, and articles the user moved to the trash, stay as they are.
        stats["added"] -= len(report.duplicates) + len(report.refused)
        lib.store.set_meta("corpus_synced", time.strftime("%Y-%m-%dT%H:%M:%S"))
        return stats


def _same_meta(row: ArticleRow, art: Article) -> bool:
    return (row.title, row.source, row.date, row.url) == (art.title, art.source, art.date, art.url)


def rederive_all(lib: Library) -> int:
    """Derive passages, keyword rows and vectors again from article text. Each article is
    re-derived in its own transaction, so an interruption leaves every article whole."""
    articles = lib.store.articles()
    lib.drop_vectors()
    bar = lib.progress(len(articles), "re-deriving")
    for row in articles:
        rederive(lib, row.id)
        bar.update(1)
    bar.close()
    if lib.store.keyword_index_problems(lib.store.passage_ids()):
        rebuild_keyword_index(lib)  # rows of passages that no article holds any more
    lib.sync_vectors()
    return len(articles)


def rederive(lib: Library, article_id: str) -> None:
    """One article's passages and keyword rows, derived again from its stored text."""
    chunks = chunk(lib.store.article_text(article_id) or "", lib.settings.max_passage_chars,
                   lib.settings.heading_max_chars)
    lib.store.replace_passages(article_id, chunks, [passage_tokens(c.text) for c in chunks])


def rebuild_keyword_index(lib: Library) -> None:
    """The whole keyword index, made again from the stored passages."""
    rows = lib.store.passages(lib.store.passage_ids())
    lib.store.rebuild_keyword_index((pid, passage_tokens(p.text)) for pid, p in sorted(rows.items()))
