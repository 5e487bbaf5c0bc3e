"""The Milvus backend: every piece of a library's state on a Milvus server (or a Milvus Lite file).

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
import logging
import math
import os
import time
import uuid
import warnings
import zlib
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .backend import BackendError
from .config import Settings
from .store import FORMAT_VERSION, ArticleRow, PassageRow, PassageTokens, phrase_tokens, rarest_within

_MAX_VARCHAR = 65535
_TEXT_PART_CHARS = 16000          # 4 bytes per character at most: one part fits a VARCHAR
_QUERY_WINDOW = 16384             # Milvus's largest query/search result window
_BATCH = 1000
_DUMMY = {"v": [0.0, 0.0]}
_PASSAGE_FIELDS = ["id", "article_id", "ordinal", "paragraph", "paragraph_end", "start", "stop", "text"]
_MAX_TERM_BYTES = 1000
# Keys in the terms collection: n-grams as they are, words behind this prefix (a space never
# occurs inside a token), and the total number of tokens of all passages.
_WORD_KEY = "w "
_TOTAL_KEY = " total"
_ROWS_KEY = " rows"  # passages counted with the term statistics: read in the same query as them
# Term statistics (see MilvusStore._create_terms): terms hashed into shards, one row per
# (writer, shard, part) holding a JSON object term -> count.
_WRITER_FILE = "milvus-writer-id"
_SHARDS = 16384
_SHARD_PARTS = 4                 # a shard's counts over this many rows of at most _PART_BYTES
_PART_BYTES = 60000
# Buffered count changes before they are written: each write rewrites every shard it touches,
# and a bulk add touches nearly all of them (about 100 MB of memory at this size).
_DELTA_MAX = 1_000_000
# Meta key rewritten with a new random value by every write: readers' caches of counts compare it.
_VERSION_KEY = "library_version"
_LEGACY_WRITER = "0" * 32   # counts of a library written before statistics were kept per writer
_PASSAGE_CACHE = 20_000
# FTS5's bm25() constants.
_K1, _B = 1.2, 0.75
_ARTICLE_FIELDS = ["id", "seq", "title", "source", "date", "url", "script", "original_file", "origin",
                   "added_at", "content_hash", "extra", "npassages"]


def _pymilvus():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # milvus_lite imports the deprecated pkg_resources
            import pymilvus
    except ImportError as exc:
        raise BackendError("the milvus backend needs pymilvus: pip install 'docsearch[milvus]'") from exc
    # pymilvus logs every failed call at ERROR; docsearch reports failures itself, in one line.
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pymilvus


def resolve_uri(settings: Settings) -> str:
    return settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")


def is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def _lit(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def _like_any(field: str, token_runs: Iterable[str]) -> str:
    """`field` (space-padded tokens) holds any of the space-joined token runs, whole tokens only."""
    parts = []
    for run in token_runs:
        pat = run.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append(f"{field} like {_lit('% ' + pat + ' %')}")
    return " or ".join(parts)


def writer_id(index_dir: Path) -> str:
    """The name under which this index folder's processes write term statistics. Processes that
    share the folder also share its writer lock, so they never write the same rows at once."""
    path = Path(index_dir) / _WRITER_FILE
    for _ in range(2):
        try:
            name = path.read_text(encoding="ascii").strip()
            if len(name) == 32:
                return name
        except (OSError, UnicodeDecodeError):
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(uuid.uuid4().hex, encoding="ascii")
        try:
            os.link(tmp, path)  # fails if another process named the folder first: read theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


@contextmanager
def _quiet_stderr(log_path: Path | None) -> Iterator[None]:
    """Point fd 2 at a log file while Milvus Lite's server starts: it inherits the descriptor and
    would otherwise print its engine's INFO lines into every CLI's stderr."""
    if log_path is None:
        yield
        return
    saved = os.dup(2)
    try:
        fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def connect(settings: Settings):
    """A MilvusClient for the settings' URI; any failure is one BackendError line."""
    pymilvus = _pymilvus()
    uri = resolve_uri(settings)
    lite = not is_server_uri(uri)
    if lite:
        path = Path(uri).expanduser().resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the folder for the Milvus Lite file {path}: {exc.strerror}") from exc
        uri = str(path)
    if lite:
        # Checked before connecting: a failed attempt by milvus_lite itself upsets the lock file.
        # Sequential CLI calls on one Lite file overlap a little while the previous server stops.
        deadline = time.monotonic() + settings.milvus_lite_wait
        while _lite_in_use(Path(uri)):
            if time.monotonic() >= deadline:
                raise BackendError(f"cannot open the Milvus Lite file {uri}: it is in use by another process "
                                   "(Milvus Lite serves one process per file; share a library through a "
                                   "Milvus server)")
            time.sleep(0.5)
    try:
        with _quiet_stderr(Path(uri + ".log") if lite else None):
            # A Lite server starting on a busy machine can take a while before it answers.
            timeout = max(settings.milvus_timeout, 60.0) if lite else settings.milvus_timeout
            return pymilvus.MilvusClient(uri=uri, token=settings.milvus_token, timeout=timeout)
    except (pymilvus.exceptions.MilvusException, RuntimeError) as exc:  # RuntimeError: a bad Lite file name
        if lite:
            raise BackendError(f"cannot open the Milvus Lite file {uri}: {_reason(exc)}") from exc
        raise BackendError(f"cannot reach Milvus at {uri}: {_reason(exc)}") from exc


def _lite_in_use(path: Path) -> bool:
    """Whether another process holds the lock Milvus Lite keeps beside its file."""
    import fcntl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # milvus_lite imports the deprecated pkg_resources
        from milvus_lite.server_manager import server_manager_instance

    # This process serves the file already (pymilvus reuses that server). Probing the lock here
    # would even release it: closing any descriptor of a file drops the process's POSIX locks.
    if str(path.resolve()) in getattr(server_manager_instance, "_servers", {}):
        return False
    try:
        with open(path.parent / f".{path.name}.lock", "a") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _reason(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    return str(msg).splitlines()[0] if msg else type(exc).__name__


class _Collections:
    """Creates the library's collections on first use and loads them."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix

    def name(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"

    def ensure(self, kind: str, schema, index_params) -> str:
        name = self.name(kind)
        if not self.client.has_collection(name):
            try:
                self.client.create_collection(name, schema=schema, index_params=index_params,
                                              consistency_level="Strong")
            except Exception:  # noqa: BLE001 - another process may have created it first
                if not self.client.has_collection(name):
                    raise
                if not self.client.list_indexes(name):
                    # Created, but its index was refused (e.g. an index type Milvus Lite lacks):
                    # not a lost race. Leave nothing half-made behind.
                    self.client.drop_collection(name)
                    raise
        self.client.load_collection(name)
        return name


class MilvusStore:
    """`store.Store` on Milvus."""

    def __init__(self, client, settings: Settings):
        self.client = client
        self.settings = settings
        self._pm = _pymilvus()
        self.c = _Collections(client, settings.milvus_collection)
        # Term-count changes wait here until flush(): one read-modify-write per add or remove call
        # instead of one per article (the engine saves the vectors at the end of each; see
        # MilvusBackend.open_vectors).
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

    # -- schema ------------------------------------------------------------------------
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
        s.add_field("value", DT.VARCHAR, max_length=_MAX_VARCHAR)
        self.meta = self.c.ensure("meta", s, self._dummy_index(s))

        s = self._schema()
        s.add_field("id", DT.VARCHAR, is_primary=True, max_length=1024)
        s.add_field("seq", DT.INT64)
        for f in ("title", "source", "date", "url", "script", "original_file", "origin", "added_at",
                  "content_hash", "extra"):
            s.add_field(f, DT.VARCHAR, max_length=_MAX_VARCHAR)
        s.add_field("npassages", DT.INT64)
        self.articles_c = self.c.ensure("articles", s, self._dummy_index(s))

        s = self._schema()
        s.add_field("id", DT.VARCHAR, is_primary=True, max_length=1100)
        s.add_field("article_id", DT.VARCHAR, max_length=1024)
        s.add_field("part", DT.INT64)
        s.add_field("text", DT.VARCHAR, max_length=_MAX_VARCHAR)
        self.texts_c = self.c.ensure("texts", s, self._dummy_index(s))

        s = self._schema(auto_id=True)   # ids allocated by Milvus: unique across app servers
        s.add_field("id", DT.INT64, is_primary=True)
        s.add_field("article_id", DT.VARCHAR, max_length=1024)
        for f in ("ordinal", "paragraph", "paragraph_end", "start", "stop"):
            s.add_field(f, DT.INT64)
        s.add_field("text", DT.VARCHAR, max_length=_MAX_VARCHAR)
        ws = {"tokenizer": "whitespace"}
        for f in ("words", "grams"):
            s.add_field(f, DT.VARCHAR, max_length=_MAX_VARCHAR, enable_analyzer=True, analyzer_params=ws)
            s.add_field(f + "_sparse", DT.SPARSE_FLOAT_VECTOR)
            s.add_function(self._pm.Function(name=f + "_bm25", function_type=self._pm.FunctionType.BM25,
                                             input_field_names=[f], output_field_names=[f + "_sparse"]))
        s.add_field("chars", DT.VARCHAR, max_length=_MAX_VARCHAR)
        ip = self.client.prepare_index_params()
        for f in ("words", "grams"):
            ip.add_index(f + "_sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        self.passages_c = self.c.ensure("passages", s, ip)
        self.terms_c = self._create_terms()

    def _create_terms(self) -> str:
        """Passages per term. One row per term costs a row write per new term (about 80 per
        passage: a bulk add ran at under 100 passages/s), so terms are hashed into shards and a row
        holds one shard's counts as JSON; an add rewrites the shards it touches. Rows are kept per
        writer: several app servers add to one library, and a shared row would be a
        read-modify-write that loses counts when two add at once. A writer changes only its own
        rows (under its index folder's writer lock); a term's count is the sum over the writers."""
        DT = self._pm.DataType
        s = self._schema()
        s.add_field("key", DT.VARCHAR, is_primary=True, max_length=64)
        s.add_field("counts", DT.VARCHAR, max_length=_MAX_VARCHAR)
        name = self.c.ensure("termshards", s, self._dummy_index(s))
        w = self._schema()
        w.add_field("id", DT.VARCHAR, is_primary=True, max_length=64)
        self.writers_c = self.c.ensure("writers", w, self._dummy_index(w))
        legacy = self.c.name("terms")
        if self.client.has_collection(legacy):  # one row per term, from earlier versions
            self.client.load_collection(legacy)
            rows = self._query_all(legacy, "", ["term", "df"])
            self._add_to_shards(name, _LEGACY_WRITER, {r["term"]: int(r["df"]) for r in rows})
            self.client.drop_collection(legacy)
        return name

    @staticmethod
    def _shard(term: str) -> int:
        return zlib.crc32(term.encode("utf-8")) % _SHARDS

    @staticmethod
    def _part_keys(writer: str, shard: int) -> list[str]:
        return [f"{writer}:{shard}:{part}" for part in range(_SHARD_PARTS)]

    def _read_shards(self, collection: str, keys: list[str]) -> dict[str, dict[str, int]]:
        """key -> counts of the rows that exist among `keys`."""
        out: dict[str, dict[str, int]] = {}
        for i in range(0, len(keys), _BATCH):
            part = keys[i:i + _BATCH]
            for r in self.client.query(collection, filter=f"key in {json.dumps(part)}", output_fields=["key", "counts"]):
                out[r["key"]] = json.loads(r["counts"])
        return out

    def _add_to_shards(self, collection: str, writer: str, delta: dict[str, int]) -> None:
        """Add `delta` to `writer`'s counts: read the shards it touches, rewrite them."""
        by_shard: dict[int, dict[str, int]] = {}
        for t, n in delta.items():
            if n:
                by_shard.setdefault(self._shard(t), {})[t] = n
        if not by_shard:
            return
        self.client.upsert(self.writers_c, [{"id": writer, **_DUMMY}])  # a rebuild may have cleared it
        shards = sorted(by_shard)
        for i in range(0, len(shards), _BATCH // _SHARD_PARTS):
            group = shards[i:i + _BATCH // _SHARD_PARTS]
            have = self._read_shards(collection, [k for sh in group for k in self._part_keys(writer, sh)])
            rows, gone = [], []
            for sh in group:
                keys = self._part_keys(writer, sh)
                counts: dict[str, int] = {}
                for k in keys:
                    counts.update(have.get(k, {}))
                for t, n in by_shard[sh].items():
                    # Below zero is fine: this writer removed passages another one added.
                    counts[t] = counts.get(t, 0) + n
                    if not counts[t]:
                        del counts[t]
                parts = self._split(counts)
                rows += [{"key": k, "counts": c, **_DUMMY} for k, c in zip(keys, parts)]
                gone += [k for k in keys[len(parts):] if k in have]
            for j in range(0, len(rows), _BATCH):
                self.client.upsert(collection, rows[j:j + _BATCH])
            if gone:
                self.client.delete(collection, ids=gone)

    @staticmethod
    def _split(counts: dict[str, int]) -> list[str]:
        """One shard's counts as JSON texts of at most _PART_BYTES bytes each."""
        if not counts:
            return []
        whole = json.dumps(counts, ensure_ascii=False, separators=(",", ":"))
        if len(whole.encode("utf-8")) <= _PART_BYTES:  # nearly always: one dump per shard
            return [whole]
        parts, cur, size = [], {}, 2
        for t, n in sorted(counts.items()):
            item = len(json.dumps({t: n}, ensure_ascii=False).encode("utf-8"))
            if cur and size + item > _PART_BYTES:
                parts.append(cur)
                cur, size = {}, 2
            cur[t] = n
            size += item
        parts.append(cur)
        if len(parts) > _SHARD_PARTS:
            raise BackendError(f"term statistics: a shard needs {len(parts)} rows (at most {_SHARD_PARTS}); "
                               "the library has outgrown this layout")
        return [json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in parts]

    def _all_counts(self) -> dict[str, int]:
        """Every term's count, summed over the writers (verify)."""
        total: dict[str, int] = {}
        for r in self._query_all(self.terms_c, "", ["counts"]):
            for t, n in json.loads(r["counts"]).items():
                total[t] = total.get(t, 0) + n
        return {t: n for t, n in total.items() if n}

    def _drop_terms(self) -> None:
        self.client.drop_collection(self.terms_c)
        self.client.drop_collection(self.writers_c)

    def _writers(self) -> list[str]:
        rows = self.client.query(self.writers_c, filter='id != ""', output_fields=["id"], limit=_QUERY_WINDOW)
        return sorted(r["id"] for r in rows)

    def drop_all(self) -> None:
        for kind in ("meta", "articles", "texts", "passages", "termshards", "writers", "terms"):
            self.client.drop_collection(self.c.name(kind))
        self._passage_cache.clear()

    # -- helpers -----------------------------------------------------------------------
    def _query_all(self, collection: str, filter_: str, fields: list[str]) -> list[dict]:
        """Every row matching the filter (an iterator: no result-window limit)."""
        it = self.client.query_iterator(collection, batch_size=_BATCH, filter=filter_, output_fields=fields)
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

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.client.query(self.meta, filter=f"key == {_lit(key)}", output_fields=["value"])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.client.upsert(self.meta, [{"key": key, "value": value, **_DUMMY}])

    @contextmanager
    def transaction(self):
        # Milvus has no multi-row transactions; each write below is atomic per row and `verify`
        # reports a library left half-written by an interrupted add.
        yield None

    def close(self) -> None:
        self.flush()  # the client belongs to the backend

    # -- writes ------------------------------------------------------------------------
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

    def optimize(self) -> None:
        """The end of a bulk add: write the buffered statistics (Milvus compacts by itself)."""
        self.flush()

    def add_article(self, article, origin: str, passages: list, tokens: list[PassageTokens],
                    added_at: str | None = None) -> list[int]:
        ids = self._insert_passages(article.id, passages, tokens)
        self._buffer_article(article, origin, len(ids), added_at)
        return ids

    def _buffer_article(self, article, origin: str, npassages: int, added_at: str | None) -> None:
        now = added_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
        text = article.text
        parts = [text[i:i + _TEXT_PART_CHARS] for i in range(0, len(text), _TEXT_PART_CHARS)] or [""]
        self._pending_texts.extend({"id": f"{article.id}#{n}", "article_id": article.id, "part": n,
                                    "text": t, **_DUMMY} for n, t in enumerate(parts))
        self._pending_articles.append({
            "id": article.id, "seq": time.time_ns(), "title": article.title, "source": article.source,
            "date": article.date, "url": article.url, "script": article.script,
            "original_file": article.original_file, "origin": origin, "added_at": now,
            "content_hash": article.content_hash, "extra": json.dumps(article.extra, ensure_ascii=False),
            "npassages": npassages, **_DUMMY})
        if len(self._pending_texts) >= _BATCH:
            self.flush()

    @staticmethod
    def _passage_rows(article_id: str, passages: list, tokens: list[PassageTokens]) -> list[dict]:
        rows = []
        for ordinal, (ch, tok) in enumerate(zip(passages, tokens)):
            row = {"article_id": article_id, "ordinal": ordinal, "paragraph": ch.paragraph,
                   "paragraph_end": ch.paragraph_end, "start": ch.start, "stop": ch.end, "text": ch.text,
                   "words": tok.words, "grams": f" {tok.grams} ", "chars": f" {tok.chars} "}
            for f in ("text", "words", "grams", "chars"):
                if len(row[f].encode("utf-8")) > _MAX_VARCHAR:
                    raise ValueError(f"passage {ordinal} of {article_id} is too long for Milvus "
                                     f"({f} over {_MAX_VARCHAR} bytes); lower max_passage_chars")
            rows.append(row)
        return rows

    def _insert_rows(self, rows: list[dict]) -> list[int]:
        ids: list[int] = []
        for i in range(0, len(rows), _BATCH):
            ids.extend(int(x) for x in self.client.insert(self.passages_c, rows[i:i + _BATCH])["ids"])
        return ids

    def _insert_passages(self, article_id: str, passages: list, tokens: list[PassageTokens]) -> list[int]:
        ids = self._insert_rows(self._passage_rows(article_id, passages, tokens))
        self._count_terms(((t.words, t.grams) for t in tokens), +1)
        return ids

    def _delete_passages(self, article_id: str) -> list[int]:
        rows = self._query_all(self.passages_c, f"article_id == {_lit(article_id)}", ["id", "words", "grams"])
        if rows:
            self.client.delete(self.passages_c, filter=f"article_id == {_lit(article_id)}")
            self._forget(int(r["id"]) for r in rows)
            self._count_terms(((r["words"], r["grams"]) for r in rows), -1)
        return sorted(int(r["id"]) for r in rows)

    def _forget(self, ids: Iterable[int]) -> None:
        """Passages deleted: out of the row cache, and the next flush changes the version token."""
        self._deleted = True
        for i in ids:
            self._passage_cache.pop(i, None)

    @staticmethod
    def _term_counts(fields: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Passages per word and per n-gram, and the total token count, of (words, grams) fields."""
        counts: dict[str, int] = {}
        total = rows = 0
        for words, grams in fields:
            w, g = words.split(), grams.split()
            total += len(w) + len(g)
            rows += 1
            for key in [_WORD_KEY + t for t in set(w)] + list(set(g)):
                if len(key.encode("utf-8")) <= _MAX_TERM_BYTES:
                    counts[key] = counts.get(key, 0) + 1
        if total:
            counts[_TOTAL_KEY] = total
        if rows:
            counts[_ROWS_KEY] = rows
        return counts

    def _count_terms(self, fields: Iterable[tuple[str, str]], sign: int) -> None:
        for t, n in self._term_counts(fields).items():
            self._term_delta[t] = self._term_delta.get(t, 0) + sign * n
        if len(self._term_delta) > _DELTA_MAX:
            self.flush()

    def flush(self) -> None:
        """Write the buffered article texts and rows, then add the buffered changes to this
        writer's term counts (its own rows only: see _create_terms)."""
        texts, self._pending_texts = self._pending_texts, []
        arts, self._pending_articles = self._pending_articles, []
        for pending, collection in ((texts, self.texts_c), (arts, self.articles_c)):
            for i in range(0, len(pending), _BATCH):
                self.client.insert(collection, pending[i:i + _BATCH])
        delta, self._term_delta = self._term_delta, {}
        self._add_to_shards(self.terms_c, self.writer, delta)
        if texts or arts or any(delta.values()) or self._deleted:
            self._deleted = False
            self.set_meta(_VERSION_KEY, uuid.uuid4().hex)

    def replace_passages(self, article_id: str, passages: list,
                         tokens: list[PassageTokens]) -> tuple[list[int], list[int]]:
        removed = self._delete_passages(article_id)
        added = self._insert_passages(article_id, passages, tokens)
        rows = self.client.query(self.articles_c, filter=f"id == {_lit(article_id)}", output_fields=_ARTICLE_FIELDS)
        if rows:
            self.client.upsert(self.articles_c, [{**rows[0], "npassages": len(added), **_DUMMY}])
        self.flush()
        return removed, added

    def delete_passages(self, ids: list[int]) -> None:
        """Delete passages by id (e.g. ones whose article is gone), with their term counts."""
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), _BATCH):
            part = ids[i:i + _BATCH]
            rows = self.client.query(self.passages_c, filter=f"id in {part}", output_fields=["words", "grams"])
            self.client.delete(self.passages_c, ids=part)
            self._forget(part)
            self._count_terms(((r["words"], r["grams"]) for r in rows), -1)
        self.flush()

    def rebuild_keyword_index(self, rows: Iterable[tuple[int, PassageTokens]]) -> None:
        """The keyword fields live in the passage rows; what can drift is the term statistics:
        count them again from `rows`."""
        self._term_delta = {}
        self._drop_terms()
        self.terms_c = self._create_terms()
        self._count_terms(((tok.words, tok.grams) for _, tok in rows), +1)
        self.flush()

    def prune_keyword_rows(self) -> int:
        return 0  # keyword fields are part of their passage row: none can outlive it

    def orphan_passages(self) -> list[int]:
        arts = {r["id"] for r in self._query_all(self.articles_c, "", ["id"])}
        return sorted(int(r["id"]) for r in self._query_all(self.passages_c, "", ["id", "article_id"])
                      if r["article_id"] not in arts)

    def articles_with_text(self) -> Iterator[tuple[ArticleRow, str]]:
        for row in self.articles():
            yield row, self.article_text(row.id) or ""

    def clear_derived(self) -> None:
        self._term_delta = {}
        self.client.delete(self.passages_c, filter="id >= 0")
        self._passage_cache.clear()
        self._deleted = True
        self._drop_terms()
        self.terms_c = self._create_terms()

    def remove_article(self, article_id: str) -> list[int]:
        # The article row goes first: once it is gone, the article is gone for every reader.
        self.client.delete(self.articles_c, filter=f"id == {_lit(article_id)}")
        ids = self._delete_passages(article_id)
        self.client.delete(self.texts_c, filter=f"article_id == {_lit(article_id)}")
        self.flush()
        return ids

    # -- reads -------------------------------------------------------------------------
    @staticmethod
    def _article_row(r: dict) -> ArticleRow:
        return ArticleRow(r["id"], r["title"], r["source"], r["date"], r["url"], r["script"], r["original_file"],
                          r["origin"], r["added_at"], r["content_hash"], int(r["npassages"]),
                          json.loads(r["extra"] or "{}"))

    def _articles_where(self, filter_: str) -> list[dict]:
        if self._pending_articles:
            self.flush()
        return self.client.query(self.articles_c, filter=filter_, output_fields=_ARTICLE_FIELDS)

    def article(self, article_id: str) -> ArticleRow | None:
        rows = self._articles_where(f"id == {_lit(article_id)}")
        return self._article_row(rows[0]) if rows else None

    def articles_by_id(self, article_ids: Iterable[str]) -> dict[str, ArticleRow]:
        return {row.id: row for row in self._articles_in("id", article_ids)}

    def articles_by_hash(self, hashes: Iterable[str]) -> dict[str, ArticleRow]:
        return {row.content_hash: row for row in self._articles_in("content_hash", hashes)}

    def _articles_in(self, field: str, values: Iterable[str]) -> Iterator[ArticleRow]:
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), _BATCH):
            part = values[i:i + _BATCH]
            for r in self._articles_where(f"{field} in {json.dumps(part, ensure_ascii=False)}"):
                yield self._article_row(r)

    def article_text(self, article_id: str) -> str | None:
        if self.article(article_id) is None:
            return None
        parts = self.client.query(self.texts_c, filter=f"article_id == {_lit(article_id)}",
                                  output_fields=["part", "text"])
        return "".join(p["text"] for p in sorted(parts, key=lambda p: p["part"]))

    def articles(self) -> list[ArticleRow]:
        if self._pending_articles:
            self.flush()
        rows = self._query_all(self.articles_c, "", _ARTICLE_FIELDS)
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
        for i in range(0, len(missing), _BATCH):
            part = missing[i:i + _BATCH]
            for r in self.client.query(self.passages_c, filter=f"id in {part}", output_fields=_PASSAGE_FIELDS):
                out[int(r["id"])] = self._passage_row(r)
        if len(self._passage_cache) + len(missing) > _PASSAGE_CACHE:
            self._passage_cache.clear()
        self._passage_cache.update((i, out[i]) for i in missing if i in out)
        return out

    def article_passages(self, article_id: str) -> list[PassageRow]:
        rows = self._query_all(self.passages_c, f"article_id == {_lit(article_id)}", _PASSAGE_FIELDS)
        return sorted((self._passage_row(r) for r in rows), key=lambda p: p.ordinal)

    def passage_words(self) -> Iterator[tuple[int, str]]:
        rows = self._query_all(self.passages_c, "", ["id", "words"])
        yield from sorted((int(r["id"]), r["words"]) for r in rows)

    def passage_ids(self) -> list[int]:
        return sorted(int(r["id"]) for r in self._query_all(self.passages_c, "", ["id"]))

    def passage_count(self) -> int:
        return self._count(self.passages_c)

    def fts_ids(self, table: str) -> list[int]:
        # Keyword fields live in the passage rows themselves: they cannot drift apart.
        return self.passage_ids()

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

    # -- keyword search ----------------------------------------------------------------
    def _bm25(self, field: str, tokens: list[str], limit: int) -> dict[int, float]:
        if not tokens:
            return {}
        res = self.client.search(self.passages_c, data=[" ".join(tokens)], anns_field=field + "_sparse",
                                 limit=min(limit, _QUERY_WINDOW), search_params={"metric_type": "BM25"},
                                 output_fields=[])
        return {int(h["id"]): float(h["distance"]) for h in res[0]}

    def keyword_search(self, words: list[str], grams: list[str], limit: int,
                       weights: tuple[float, float] = (1.0, 1.0),
                       postings_budget: int = 0) -> list[tuple[int, float]]:
        """Candidates from Milvus's BM25 on each token field (each list deeper than `limit`), then
        scored with exactly the formula of the embedded engine (FTS5's bm25() over two weighted
        columns: one document length for both, column-weighted term frequencies), so both
        backends rank alike. A `postings_budget` keeps the same query terms as the embedded
        engine does (store.rarest_within)."""
        # One statistics query serves the budget, the IDFs and the collection size.
        stats = self._stats([_WORD_KEY + t for t in words] + list(grams) + [_TOTAL_KEY, _ROWS_KEY])
        if postings_budget and (words or grams):
            df = {("words", t): stats.get(_WORD_KEY + t, 0) for t in words}
            df.update({("grams", t): stats.get(t, 0) for t in grams})
            kept, _ = rarest_within([("words", t) for t in words] + [("grams", t) for t in grams], df, postings_budget)
            words = [t for c, t in kept if c == "words"]
            grams = [t for c, t in kept if c == "grams"]
        depth = max(2 * limit, 200)
        cands = sorted(self._bm25("words", words, depth).keys() | self._bm25("grams", grams, depth).keys())
        if not cands:
            return []
        # A library written before the row count was kept has no _ROWS_KEY: count the rows.
        n_rows = stats[_ROWS_KEY] if _ROWS_KEY in stats else self.passage_count()
        avgdl = stats.get(_TOTAL_KEY, 0) / max(n_rows, 1) or 1.0
        phrases = [("words", t, _WORD_KEY + t, weights[0]) for t in words] + \
                  [("grams", t, t, weights[1]) for t in grams]
        idf = {}
        for _, _, key, _ in phrases:
            n_hit = stats.get(key, 0)
            idf[key] = max(math.log((n_rows - n_hit + 0.5) / (n_hit + 0.5)), 1e-6)
        scores = []
        for i in range(0, len(cands), _BATCH):
            part = cands[i:i + _BATCH]
            for r in self.client.query(self.passages_c, filter=f"id in {part}", output_fields=["id", "words", "grams"]):
                tf = {"words": Counter(r["words"].split()), "grams": Counter(r["grams"].split())}
                doc_len = sum(tf["words"].values()) + sum(tf["grams"].values())
                norm = _K1 * (1 - _B + _B * doc_len / avgdl)
                score = 0.0
                for field, t, key, w in phrases:
                    f = tf[field].get(t, 0) * w
                    if f:
                        score += idf[key] * f * (_K1 + 1) / (f + norm)
                scores.append((int(r["id"]), score))
        return sorted(scores, key=lambda x: (-x[1], x[0]))[:limit]

    def _stats(self, keys: list[str]) -> dict[str, int]:
        """Passages per term: the sum of every writer's count, read from the terms' shards."""
        self.flush()
        keys = set(keys)
        shards = sorted({self._shard(k) for k in keys})
        rows = self._read_shards(self.terms_c, [k for w in self._writers() for sh in shards
                                                for k in self._part_keys(w, sh)])
        out: dict[str, int] = {}
        for counts in rows.values():
            for k in keys & counts.keys():
                out[k] = out.get(k, 0) + counts[k]
        return out

    def phrase_candidates(self, phrases: list[list[str]]) -> list[int]:
        """Passages whose character stream holds any of the token sequences (whole tokens)."""
        phrases = [p for p in phrases if p]
        if not phrases:
            return []
        rows = self._query_all(self.passages_c, _like_any("chars", (" ".join(p) for p in phrases)), ["id"])
        return sorted(int(r["id"]) for r in rows)

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many passages hold each n-gram (from the term statistics: one query, not a scan)."""
        return self._stats([t for t in terms if t != _TOTAL_KEY])

    def phrase_frequencies(self, phrases: list[str]) -> dict[str, int]:
        """Passages holding each phrase. Each count is a LIKE scan of every passage, so counts are
        cached until any writer changes the library (the version token in the meta collection)."""
        version = self.get_meta(_VERSION_KEY)
        if version != self._phrase_version or len(self._phrase_cache) > 100_000:
            self._phrase_cache, self._phrase_version = {}, version
        out = {}
        for p, toks in phrase_tokens(phrases).items():
            if p not in self._phrase_cache:
                self._phrase_cache[p] = self._count(self.passages_c, _like_any("chars", [" ".join(toks)]))
            out[p] = self._phrase_cache[p]
        return out


# Build parameters per dense index type. HNSW (servers only: Milvus Lite refuses it) with the
# common M=16, efConstruction=200; not measured here, as no server could run on these machines.
_BUILD_PARAMS = {"IVF_FLAT": {"nlist": 128}, "HNSW": {"M": 16, "efConstruction": 200}}


class MilvusVectors:
    """`vectors.VectorIndex` on a Milvus collection: passage id -> vector, inner product."""

    def __init__(self, client, collections: _Collections, dim: int, index_type: str, on_save=None):
        pm = _pymilvus()
        self.client = client
        # Vectors added wait for save() (as FAISS's do): one upsert per add call, not per article.
        self._pending: list[dict] = []
        self._on_save = on_save
        self.dim = int(dim)
        self.index_type = index_type.upper()
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", pm.DataType.INT64, is_primary=True)
        s.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=self.dim)
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type=self.index_type, metric_type="IP",
                     params=_BUILD_PARAMS.get(self.index_type, {}))
        try:
            self.name = collections.ensure("vectors", s, ip)
        except pm.exceptions.MilvusException as exc:  # e.g. HNSW on Milvus Lite
            raise BackendError(f"cannot create the vector index {self.index_type} "
                               f"(milvus_index_type): {_reason(exc)}") from exc
        have = self._dim_of_collection()
        if have != self.dim:
            raise BackendError(f"Milvus collection {self.name} holds {have}-dimensional vectors, "
                               f"the model gives {self.dim}")

    def _dim_of_collection(self) -> int:
        for f in self.client.describe_collection(self.name)["fields"]:
            if f["name"] == "vector":
                return int(f["params"]["dim"])
        return 0

    def __len__(self) -> int:
        self._write_pending()
        res = self.client.query(self.name, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"]) if res else 0

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        self._pending.extend({"id": int(i), "vector": v.tolist()} for i, v in zip(ids, vectors))
        if len(self._pending) >= 10 * _BATCH:
            self._write_pending()

    def _write_pending(self) -> None:
        rows, self._pending = self._pending, []
        for i in range(0, len(rows), _BATCH):
            self.client.upsert(self.name, rows[i:i + _BATCH])

    def remove(self, ids: list[int]) -> None:
        self._write_pending()
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), _BATCH):
            self.client.delete(self.name, ids=ids[i:i + _BATCH])

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        self._write_pending()
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type == "IVF_FLAT":
            params["params"] = {"nprobe": 32}
        elif self.index_type == "HNSW":
            params["params"] = {"ef": max(64, k)}  # ef below k would return fewer than k
        res = self.client.search(self.name, data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
                                 anns_field="vector", limit=min(k, _QUERY_WINDOW), search_params=params,
                                 output_fields=[])
        return [(int(h["id"]), float(h["distance"])) for h in res[0]]

    def ids(self) -> np.ndarray:
        self._write_pending()
        it = self.client.query_iterator(self.name, batch_size=_BATCH, filter="", output_fields=["id"])
        out: list[int] = []
        try:
            while batch := it.next():
                out.extend(int(r["id"]) for r in batch)
        finally:
            it.close()
        return np.asarray(sorted(out), dtype=np.int64)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored (the scale benchmark's exact baseline)."""
        self._write_pending()
        it = self.client.query_iterator(self.name, batch_size=_BATCH, filter="", output_fields=["id", "vector"])
        ids: list[int] = []
        vecs: list[list[float]] = []
        try:
            while batch := it.next():
                ids.extend(int(r["id"]) for r in batch)
                vecs.extend(r["vector"] for r in batch)
        finally:
            it.close()
        return np.asarray(ids, dtype=np.int64), np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)

    def save(self) -> None:
        self._write_pending()
        if self._on_save:
            self._on_save()

    def describe(self) -> dict:
        return {"type": f"milvus:{self.index_type.lower()}", "ntotal": len(self)}


class MilvusBackend:
    """`backend.Backend` on Milvus: store and vectors share one client."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.uri = resolve_uri(settings)
        self.client = connect(settings)
        try:
            self.store = MilvusStore(self.client, settings)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line for the user, not a gRPC trace
            raise BackendError(f"Milvus at {self.uri}: {_reason(exc)}") from exc
        self.collections = self.store.c

    def has_vectors(self) -> bool:
        return self.client.has_collection(self.collections.name("vectors"))

    def open_vectors(self, dim: int) -> MilvusVectors:
        # Saving the vectors ends every add and remove: the store's term counts are written then too.
        return MilvusVectors(self.client, self.collections, dim, self.settings.milvus_index_type,
                             on_save=self.store.flush)

    def drop_vectors(self) -> None:
        self.client.drop_collection(self.collections.name("vectors"))

    def drop_library(self) -> None:
        self.drop_vectors()
        self.store.drop_all()

    def close(self) -> None:
        try:
            self.store.flush()
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error
            pass
