"""Removing to the trash and back: a removed article keeps its id, metadata and text until the
trash is emptied; its passages and vectors go at once, so nothing searches it, and a restore
derives them again from its text."""
from __future__ import annotations

from datetime import datetime, timezone

from docsearch.indexing.corpus import rederive
from docsearch.indexing.library import Library
from docsearch.storage.base import ArticleRow


def trash(lib: Library, article_id: str) -> bool:
    """Move an article to the trash; False when there is no such (live) article."""
    if lib.store.article(article_id) is None:
        return False
    with lib.writing():
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        ids = lib.store.trash_article(article_id, now)
        if ids is None:
            return False
        if lib.has_vectors():
            lib.vectors.remove(ids)
            lib.save_vectors(lib.vectors)
        return True


def restore(lib: Library, article_id: str) -> bool:
    """Bring an article back from the trash with the same id and text; False when the trash
    holds no such article."""
    with lib.writing():
        if not lib.store.restore_article(article_id):
            return False
        rederive(lib, article_id)
        lib.sync_vectors()
        return True


def trashed(lib: Library) -> list[tuple[ArticleRow, str]]:
    """What the trash holds: (article, when it was removed), oldest removal first."""
    return lib.store.trashed_articles()


def empty(lib: Library, article_ids: list[str] | None = None) -> int:
    """Delete trashed articles for good (all when `article_ids` is None); how many."""
    with lib.writing():
        return lib.store.purge_trash(article_ids)
