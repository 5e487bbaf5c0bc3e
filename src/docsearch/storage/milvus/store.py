"""The Milvus store: every piece of a library's state on a Milvus server (or a Milvus Lite file).

Collections (names `<prefix>_<kind>`, prefix = `Settings.milvus_collection`):
- `meta`: key/value (format version, model identity, sync marks);
- `articles`: one row per article, metadata and passage count; `texts`: the full text in parts
  (a VARCHAR holds at most 65,535 bytes);
- `passages`: passage rows with docsearch's own tokens in three text fields: `words` and
  `grams` (whitespace analyzer + BM25 function each, the same tokens and column weights as the
  embedded FTS5 index) and `chars` (one token per character, space-padded, for exact lookup with
  LIKE: Milvus Lite 2.5 rejects text_match);
- `terms`: per word and per n-gram, the number of passages holding it, and the total token count
  (what FTS5 keeps in its own tables: the document frequencies that BM25 and sentence-level
  re-ranking need), kept up to date by adds and removes;
- `vectors`: passage id -> embedding of the configured model (dropped when the model changes).

Milvus 2.5 wants a vector field in every collection: the bookkeeping collections carry a
2-dimensional dummy. Every collection is read with Strong consistency, so an add made by one
app server is visible to the next search on any other.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import Iterable, Iterator

from docsearch.config import Settings
from docsearch.storage.base import FORMAT_VERSION, ArticleRow, PassageRow, PassageTokens
from docsearch.storage.milvus.connection import (BATCH, DUMMY, MAX_VARCHAR, TEXT_PART_CHARS, VERSION_KEY,
                                                 Collections, literal, pymilvus_module, writer_id)
from docsearch.storage.milvus.keyword import KeywordSearch
from docsearch.storage.milvus.terms import TermStatistics
from docsearch.storage.milvus.trash import TrashBin


PASSAGE_FIELDS = ["id", "article_id", "ordinal", "paragraph", "paragraph_end", "start", "stop", "text"]
PASSAGE_CACHE = 20_000
ARTICLE_FIELDS = ["id", "seq", "title", "source", "date", "url", "script", "original_file", "origin",
                   "added_at", "content_hash", "extra", "npassages"]
TRASH_FIELDS = ARTICLE_FIELDS + ["removed_at"]


class MilvusStore(TermStatistics, KeywordSearch, TrashBin):
    """`storage.base.Store` on Milvus."""

    _TRASH_FIELDS = TRASH_FIELDS

    def __init__(self, client, settings: Settings):
        self.client = client
        self.settings = settings
        self._pm = pymilvus_module()
        self.c = Collections(client, settings.milvus_collection)
        # Term-count changes wait here until flush(): one read-modify-write per add or remove call
        # instead of one per article (the engine flushes the store at the end of each write).
        self._term_delta: dict[str, int] = {}
        # Article texts and rows wait for flush() too (texts first, rows last: a reader never sees
        # an article without its text); an add interrupted before leaves orphan passages, which
        # verify reports.
        self._pending_texts: list[dict] = []
        self._pending_articles: list[dict] = []
        self._passage_cache: dict[int, PassageRow] = {}
        self._phrase_cache: dict[str, int] = {}
        self._phrase_version: str | None = None
        self._deleted = False   # rows deleted since the last flush (the version token changes)
        self.writer = writer_id(settings.index_dir)
        self._create()
        if self.get_meta("format_version") is None:
            self.set_meta("format_version", str(FORMAT_VERSION))

    def _schema(self, auto_id: bool = False):
        return self.client.create_schema(auto_id=auto_id, enable_dynamic_field=False)

    def _dummy_index(self, schema):
        schema.add_field("v", self._pm.DataType.FLOAT_VECTOR, dim=2)
        ip = self.client.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="L2")
        return ip

    def _create(self) -> None:
        DT = self._pm.DataType
        s = self._schema()
        s.add_field("key", DT.VARCHAR, is_primary=True, max_length=256)
        s.add_field("value", DT.VARCHAR, max_length=MAX_VARCHAR)
        self.meta = self.c.ensure("meta", s, self._dummy_index(s))

        s = self._schema()
        s.add_field("id", DT.VARCHAR, is_primary=True, max_length=1024)
        s.add_field("seq", DT.INT64)
        for f in ("title", "source", "date", "url", "script", "original_file", "origin", "added_at",
                  "content_hash", "extra"):
            s.add_field(f, DT.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("npassages", DT.INT64)
        self.articles_c = self.c.ensure("articles", s, self._dummy_index(s))

        s = self._schema()
        s.add_field("id", DT.VARCHAR, is_primary=True, max_length=1100)
        s.add_field("article_id", DT.VARCHAR, max_length=1024)
        s.add_field("part", DT.INT64)
        s.add_field("text", DT.VARCHAR, max_length=MAX_VARCHAR)
        self.texts_c = self.c.ensure("texts", s, self._dummy_index(s))

        s = self._schema(auto_id=True)   # ids allocated by Milvus: unique across app servers
        s.add_field("id", DT.INT64, is_primary=True)
        s.add_field("article_id", DT.VARCHAR, max_length=1024)
        for f in ("ordinal", "paragraph", "paragraph_end", "start", "stop"):
            s.add_field(f, DT.INT64)
        s.add_field("text", DT.VARCHAR, max_length=MAX_VARCHAR)
        ws = {"tokenizer": "whitespace"}
        for f in ("words", "grams"):
            s.add_field(f, DT.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ws)
            s.add_field(f + "_sparse", DT.SPARSE_FLOAT_VECTOR)
            s.add_function(self._pm.Function(name=f + "_bm25", function_type=self._pm.FunctionType.BM25,
                                             input_field_names=[f], output_field_names=[f + "_sparse"]))
        s.add_field("chars", DT.VARCHAR, max_length=MAX_VARCHAR)
        ip = self.client.prepare_index_params()
        for f in ("words", "grams"):
            ip.add_index(f + "_sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.passages_c = self.c.ensure("passages", s, ip)
        self.terms_c = self._create_terms()
        self.trash_c = self._create_trash()

    def drop_all(self) -> None:
        for kind in ("meta", "articles", "texts", "passages", "termshards", "writers", "terms", "trash"):
            self.client.drop_collection(self.c.name(kind))
        self._passage_cache.clear()

    def _query_all(self, collection: str, filter_: str, fields: list[str]) -> list[dict]:
        """Every row matching the filter (an iterator: no result-window limit)."""
        it = self.client.query_iterator(collection, batch_size=BATCH, filter=filter_, output_fields=fields)
        out: list[dict] = []
        try:
            while True:
                batch = it.next()
                if not batch:
                    return out
                out.extend(batch)
        finally:
            it.close()

    def _count(self, collection: str, filter_: str = "") -> int:
        res = self.client.query(collection, filter=filter_, output_fields=["count(*)"])
        return int(res[0]["count(*)"]) if res else 0

    def get_meta(self, key: str) -> str | None:
        rows = self.client.query(self.meta, filter=f"key == {literal(key)}", output_fields=["value"])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.client.upsert(self.meta, [{"key": key, "value": value, **DUMMY}])

    def close(self) -> None:
        self.flush()  # the client belongs to the backend

    def add_articles(self, items: list[tuple], origin: str,
                     added_at: dict[str, str] | None = None) -> list[list[int]]:
        """(article, passages, tokens) items; the passages of all items go in batched inserts (one
        call per article made a bulk add one round trip per article), the article rows are buffered
        and written at the vector save."""
        times = added_at or {}
        rows = [row for article, passages, tokens in items for row in self._passage_rows(article.id, passages, tokens)]
        ids = self._insert_rows(rows)
        self._count_terms(((t.words, t.grams) for _, _, tokens in items for t in tokens), +1)
        out, at = [], 0
        for article, passages, _ in items:
            out.append(ids[at:at + len(passages)])
            at += len(passages)
            self._buffer_article(article, origin, len(passages), times.get(article.id))
        return out

    def _buffer_article(self, article, origin: str, npassages: int, added_at: str | None) -> None:
        now = added_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
        text = article.text
        parts = [text[i:i + TEXT_PART_CHARS] for i in range(0, len(text), TEXT_PART_CHARS)] or [""]
        self._pending_texts.extend({"id": f"{article.id}#{n}", "article_id": article.id, "part": n,
                                    "text": t, **DUMMY} for n, t in enumerate(parts))
        self._pending_articles.append({
            "id": article.id, "seq": time.time_ns(), "title": article.title, "source": article.source,
            "date": article.date, "url": article.url, "script": article.script,
            "original_file": article.original_file, "origin": origin, "added_at": now,
            "content_hash": article.content_hash, "extra": json.dumps(article.extra, ensure_ascii=False),
            "npassages": npassages, **DUMMY})
        if len(self._pending_texts) >= BATCH:
            self.flush()

    @staticmethod
    def _passage_rows(article_id: str, passages: list, tokens: list[PassageTokens]) -> list[dict]:
        rows = []
        for ordinal, (ch, tok) in enumerate(zip(passages, tokens)):
            row = {"article_id": article_id, "ordinal": ordinal, "paragraph": ch.paragraph,
                   "paragraph_end": ch.paragraph_end, "start": ch.start, "stop": ch.end, "text": ch.text,
                   "words": tok.words, "grams": f" {tok.grams} ", "chars": f" {tok.chars} "}
            for f in ("text", "words", "grams", "chars"):
                if len(row[f].encode("utf-8")) > MAX_VARCHAR:
                    raise ValueError(f"passage {ordinal} of {article_id} is too long for Milvus "
                                     f"({f} over {MAX_VARCHAR} bytes); lower max_passage_chars")
            rows.append(row)
        return rows

    def _insert_rows(self, rows: list[dict]) -> list[int]:
        ids: list[int] = []
        for i in range(0, len(rows), BATCH):
            ids.extend(int(x) for x in self.client.insert(self.passages_c, rows[i:i + BATCH])["ids"])
        return ids

    def _insert_passages(self, article_id: str, passages: list, tokens: list[PassageTokens]) -> list[int]:
        ids = self._insert_rows(self._passage_rows(article_id, passages, tokens))
        self._count_terms(((t.words, t.grams) for t in tokens), +1)
        return ids

    def _delete_passages(self, article_id: str) -> list[int]:
        rows = self._query_all(self.passages_c, f"article_id == {literal(article_id)}", ["id", "words", "grams"])
        if rows:
            self.client.delete(self.passages_c, filter=f"article_id == {literal(article_id)}")
            self._forget(int(r["id"]) for r in rows)
            self._count_terms(((r["words"], r["grams"]) for r in rows), -1)
        return sorted(int(r["id"]) for r in rows)

    def _forget(self, ids: Iterable[int]) -> None:
        """Passages deleted: out of the row cache, and the next flush changes the version token."""
        self._deleted = True
        for i in ids:
            self._passage_cache.pop(i, None)

    def flush(self) -> None:
        """Write the buffered article texts and rows, then add the buffered changes to this
        writer's term counts (its own rows only: see _create_terms)."""
        texts, self._pending_texts = self._pending_texts, []
        arts, self._pending_articles = self._pending_articles, []
        for pending, collection in ((texts, self.texts_c), (arts, self.articles_c)):
            for i in range(0, len(pending), BATCH):
                self.client.insert(collection, pending[i:i + BATCH])
        delta, self._term_delta = self._term_delta, {}
        self._add_to_shards(self.terms_c, self.writer, delta)
        if texts or arts or any(delta.values()) or self._deleted:
            self._deleted = False
            self.set_meta(VERSION_KEY, uuid.uuid4().hex)

    def replace_passages(self, article_id: str, passages: list,
                         tokens: list[PassageTokens]) -> tuple[list[int], list[int]]:
        removed = self._delete_passages(article_id)
        added = self._insert_passages(article_id, passages, tokens)
        rows = self.client.query(self.articles_c, filter=f"id == {literal(article_id)}", output_fields=ARTICLE_FIELDS)
        if rows:
            self.client.upsert(self.articles_c, [{**rows[0], "npassages": len(added), **DUMMY}])
        self.flush()
        return removed, added

    def delete_passages(self, ids: list[int]) -> None:
        """Delete passages by id (e.g. ones whose article is gone), with their term counts."""
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), BATCH):
            part = ids[i:i + BATCH]
            rows = self.client.query(self.passages_c, filter=f"id in {part}", output_fields=["words", "grams"])
            self.client.delete(self.passages_c, ids=part)
            self._forget(part)
            self._count_terms(((r["words"], r["grams"]) for r in rows), -1)
        self.flush()

    def orphan_passages(self) -> list[int]:
        arts = {r["id"] for r in self._query_all(self.articles_c, "", ["id"])}
        return sorted(int(r["id"]) for r in self._query_all(self.passages_c, "", ["id", "article_id"])
                      if r["article_id"] not in arts)

    def articles_with_text(self) -> Iterator[tuple[ArticleRow, str]]:
        for row in self.articles():
            yield row, self.article_text(row.id) or ""

    def remove_article(self, article_id: str) -> list[int]:
        # The article row goes first: once it is gone, the article is gone for every reader.
        self.client.delete(self.articles_c, filter=f"id == {literal(article_id)}")
        ids = self._delete_passages(article_id)
        self.client.delete(self.texts_c, filter=f"article_id == {literal(article_id)}")
        self.flush()
        return ids

    @staticmethod
    def _article_row(r: dict) -> ArticleRow:
        return ArticleRow(r["id"], r["title"], r["source"], r["date"], r["url"], r["script"], r["original_file"],
                          r["origin"], r["added_at"], r["content_hash"], int(r["npassages"]),
                          json.loads(r["extra"] or "{}"))

    def _articles_where(self, filter_: str) -> list[dict]:
        if self._pending_articles:
            self.flush()
        return self.client.query(self.articles_c, filter=filter_, output_fields=ARTICLE_FIELDS)

    def article(self, article_id: str) -> ArticleRow | None:
        rows = self._articles_where(f"id == {literal(article_id)}")
        return self._article_row(rows[0]) if rows else None

    def articles_by_id(self, article_ids: Iterable[str]) -> dict[str, ArticleRow]:
        return {row.id: row for row in self._articles_in("id", article_ids)}

    def articles_by_hash(self, hashes: Iterable[str]) -> dict[str, ArticleRow]:
        return {row.content_hash: row for row in self._articles_in("content_hash", hashes)}

    def _articles_in(self, field: str, values: Iterable[str]) -> Iterator[ArticleRow]:
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), BATCH):
            part = values[i:i + BATCH]
            for r in self._articles_where(f"{field} in {json.dumps(part, ensure_ascii=False)}"):
                yield self._article_row(r)

    def article_text(self, article_id: str) -> str | None:
        if self.article(article_id) is None:
            return None
        parts = self.client.query(self.texts_c, filter=f"article_id == {literal(article_id)}",
                                  output_fields=["part", "text"])
        return "".join(p["text"] for p in sorted(parts, key=lambda p: p["part"]))

    def articles(self) -> list[ArticleRow]:
        if self._pending_articles:
            self.flush()
        rows = self._query_all(self.articles_c, "", ARTICLE_FIELDS)
        return [self._article_row(r) for r in sorted(rows, key=lambda r: (r["seq"], r["id"]))]

    def article_order(self) -> dict[str, int]:
        rows = self._query_all(self.articles_c, "", ["id", "seq"])
        return {r["id"]: n for n, r in enumerate(sorted(rows, key=lambda r: (r["seq"], r["id"])), 1)}

    @staticmethod
    def _passage_row(r: dict) -> PassageRow:
        return PassageRow(int(r["id"]), r["article_id"], int(r["ordinal"]), int(r["paragraph"]),
                          int(r["paragraph_end"]), int(r["start"]), int(r["stop"]), r["text"])

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]:
        """Rows by id. A passage row never changes (a re-chunked article gets new ids), so rows
        are kept in a bounded cache: a search reads the same few dozen twice (re-ranking, then
        results) and each read is a round trip to the server."""
        ids = list(dict.fromkeys(int(i) for i in ids))
        out = {i: self._passage_cache[i] for i in ids if i in self._passage_cache}
        missing = [i for i in ids if i not in out]
        for i in range(0, len(missing), BATCH):
            part = missing[i:i + BATCH]
            for r in self.client.query(self.passages_c, filter=f"id in {part}", output_fields=PASSAGE_FIELDS):
                out[int(r["id"])] = self._passage_row(r)
        if len(self._passage_cache) + len(missing) > PASSAGE_CACHE:
            self._passage_cache.clear()
        self._passage_cache.update((i, out[i]) for i in missing if i in out)
        return out

    def article_passages(self, article_id: str) -> list[PassageRow]:
        rows = self._query_all(self.passages_c, f"article_id == {literal(article_id)}", PASSAGE_FIELDS)
        return sorted((self._passage_row(r) for r in rows), key=lambda p: p.ordinal)

    def passage_ids(self) -> list[int]:
        return sorted(int(r["id"]) for r in self._query_all(self.passages_c, "", ["id"]))

    def passage_count(self) -> int:
        return self._count(self.passages_c)

    def integrity_errors(self) -> list[str]:
        errors = []
        arts = {r["id"]: r for r in self._query_all(self.articles_c, "", ["id", "npassages"])}
        counts: dict[str, int] = {}
        for r in self._query_all(self.passages_c, "", ["article_id"]):
            counts[r["article_id"]] = counts.get(r["article_id"], 0) + 1
        orphans = set(counts) - set(arts)
        if orphans:
            errors.append(f"passages of {len(orphans)} articles that are not in the library "
                          f"(e.g. {sorted(orphans)[0]!r}; an interrupted add or remove)")
        for aid, r in arts.items():
            if counts.get(aid, 0) != int(r["npassages"]):
                errors.append(f"article {aid}: {counts.get(aid, 0)} passages stored, {r['npassages']} recorded")
        self.flush()
        texts = {r["article_id"] for r in self._query_all(self.texts_c, "", ["article_id"])}
        if set(arts) - texts:
            errors.append(f"{len(set(arts) - texts)} articles without their text")
        want = self._term_counts((r["words"], r["grams"])
                                 for r in self._query_all(self.passages_c, "", ["words", "grams"]))
        have = self._all_counts()
        if want != have:
            wrong = sum(1 for t in want.keys() | have.keys() if want.get(t) != have.get(t))
            errors.append(f"term statistics: {wrong} words or n-grams with a wrong passage count "
                          "(run `docsearch index --rebuild`)")
        return errors
