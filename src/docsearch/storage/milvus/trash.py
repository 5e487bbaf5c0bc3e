"""The trash of a Milvus library (see TrashBin)."""
from __future__ import annotations

from docsearch.storage.base import ArticleRow
from docsearch.storage.milvus.connection import BATCH, DUMMY, MAX_VARCHAR, literal


class TrashBin:
    """Mixin of MilvusStore: removed articles wait in a `trash` collection, their rows as they
    were plus when they were removed; their texts stay in `texts` and their passages are gone.
    Moving a row is an insert into one collection and a delete from the other: a reader may
    briefly see an article in both, never in neither."""

    def _create_trash(self) -> str:
        DT = self._pm.DataType
        s = self._schema()
        s.add_field("id", DT.VARCHAR, is_primary=True, max_length=1024)
        s.add_field("seq", DT.INT64)
        for f in ("title", "source", "date", "url", "script", "original_file", "origin", "added_at",
                  "content_hash", "extra", "removed_at"):
            s.add_field(f, DT.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("npassages", DT.INT64)
        return self.c.ensure("trash", s, self._dummy_index(s))

    def trash_article(self, article_id: str, removed_at: str) -> list[int] | None:
        """Move an article to the trash, deleting its passages; the removed passage ids, or None
        when there is no such article."""
        rows = self._articles_where(f"id == {literal(article_id)}")
        if not rows:
            return None
        self.client.upsert(self.trash_c, [{**rows[0], "npassages": 0, "removed_at": removed_at, **DUMMY}])
        # The article row goes before its passages: once it is gone, the article is gone for readers.
        self.client.delete(self.articles_c, filter=f"id == {literal(article_id)}")
        ids = self._delete_passages(article_id)
        self.flush()
        return ids

    def restore_article(self, article_id: str) -> bool:
        """Move an article back from the trash (without passages: the caller derives them)."""
        rows = self.client.query(self.trash_c, filter=f"id == {literal(article_id)}",
                                 output_fields=self._TRASH_FIELDS)
        if not rows:
            return False
        row = {k: v for k, v in rows[0].items() if k != "removed_at"}
        self.client.upsert(self.articles_c, [{**row, **DUMMY}])
        self.client.delete(self.trash_c, filter=f"id == {literal(article_id)}")
        self.flush()
        return True

    def trashed_articles(self) -> list[tuple[ArticleRow, str]]:
        """What the trash holds, oldest removal first: (row, when it was removed)."""
        rows = self._query_all(self.trash_c, "", self._TRASH_FIELDS)
        rows.sort(key=lambda r: (r["removed_at"], r["seq"]))
        return [(self._article_row(r), r["removed_at"]) for r in rows]

    def purge_trash(self, article_ids: list[str] | None = None) -> int:
        """Delete trashed articles for good, texts included (all when `article_ids` is None)."""
        have = [r["id"] for r in self._query_all(self.trash_c, "", ["id"])]
        gone = have if article_ids is None else [i for i in have if i in set(article_ids)]
        for i in range(0, len(gone), BATCH):
            part = gone[i:i + BATCH]
            self.client.delete(self.trash_c, ids=part)
            for aid in part:
                self.client.delete(self.texts_c, filter=f"article_id == {literal(aid)}")
        if gone:
            self.flush()
        return len(gone)
