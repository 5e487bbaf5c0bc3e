"""The embedded store: articles, passages and the keyword index in one SQLite database (WAL).

Keyword tokens (text.tokens) are stored space-separated, one FTS5 column per token kind; FTS5's
unicode61 tokenizer then only splits at those spaces. Document frequencies come from an
fts5vocab table over the ranking index.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from docsearch.storage.base import FORMAT_VERSION, ArticleRow, PassageRow, PassageTokens, rarest_within
from docsearch.text.tokens import phrase_tokens


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    script TEXT NOT NULL DEFAULT '',
    original_file TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    added_at TEXT NOT NULL,
    content_hash TEXT NOT NULL UNIQUE,
    extra TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    paragraph INTEGER NOT NULL,
    paragraph_end INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (article_id, ordinal)
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
-- Removed articles, whole (metadata and text) until the trash is emptied; seq is the place they
-- had, so a restore puts them back there. Their passages are gone: nothing searches the trash.
CREATE TABLE IF NOT EXISTS trash (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    date TEXT NOT NULL,
    url TEXT NOT NULL,
    script TEXT NOT NULL,
    original_file TEXT NOT NULL,
    origin TEXT NOT NULL,
    added_at TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    extra TEXT NOT NULL,
    text TEXT NOT NULL,
    removed_at TEXT NOT NULL
);
-- Ranking index: jieba words and character n-grams of canonical text.
CREATE VIRTUAL TABLE IF NOT EXISTS passage_fts USING fts5(
    words, grams, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'");
-- Exact lookup index: one token per character of aligned Simplified text; phrase queries
-- find substrings.
CREATE VIRTUAL TABLE IF NOT EXISTS passage_chars USING fts5(
    chars, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'");
-- Document frequencies of n-grams, for sentence-level evidence.
CREATE VIRTUAL TABLE IF NOT EXISTS grams_vocab USING fts5vocab(passage_fts, 'col');
"""


def fts_phrase(token: str) -> str:
    """One token as an FTS5 string literal: user text never reaches FTS5 as syntax."""
    return '"' + token.replace('"', '""') + '"'


class SQLiteStore:
    """The embedded store. One connection per thread; writes go through `transaction()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.transaction() as db:
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            if db.execute("SELECT value FROM meta WHERE key='format_version'").fetchone() is None:
                db.execute("INSERT INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))

    # -- connections -------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # 64 MiB page cache (default 2 MiB): bulk FTS5 inserts and big MATCH queries reuse pages.
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
        return conn

    def flush(self) -> None:
        """Nothing is buffered: every write commits its own transaction."""

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; nests as a no-op."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._local.writes = getattr(self._local, "writes", 0) + 1  # invalidates cached counts

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (key, value))

    # -- writes ------------------------------------------------------------------------
    def add_articles(self, items: list[tuple], origin: str,
                     added_at: dict[str, str] | None = None) -> list[list[int]]:
        """Insert (article, passages, tokens) items in one transaction; the new passage ids of each.
        One transaction and one executemany per table: per-row commits cost more than the rows.
        An article keeps the time it was first added: from `added_at` (a copied library) or its
        own (an exported one)."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        times = added_at or {}

        def when(a) -> str:
            return times.get(a.id) or getattr(a, "added_at", "") or now

        with self.transaction() as db:
            db.executemany(
                "INSERT INTO articles (id, title, source, date, url, script, original_file, origin,"
                " added_at, content_hash, extra, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(a.id, a.title, a.source, a.date, a.url, a.script, a.original_file, origin, when(a),
                  a.content_hash, json.dumps(a.extra, ensure_ascii=False), a.text) for a, _, _ in items])
            return [self._insert_passages(db, a.id, passages, tokens) for a, passages, tokens in items]

    def replace_passages(self, article_id: str, passages: list, tokens: list[PassageTokens]) -> tuple[list[int], list[int]]:
        """Re-derive an article's passages; returns (removed, added) passage ids."""
        with self.transaction() as db:
            removed = self._delete_passages(db, article_id)
            return removed, self._insert_passages(db, article_id, passages, tokens)

    @staticmethod
    def _insert_passages(db: sqlite3.Connection, article_id: str, passages: list,
                         tokens: list[PassageTokens]) -> list[int]:
        # Ids are assigned here (inside BEGIN IMMEDIATE no other writer can take them), so each
        # table gets one executemany; max(id) + 1 is what SQLite would pick itself.
        first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM passages").fetchone()[0]
        ids = list(range(first, first + len(passages)))
        db.executemany(
            'INSERT INTO passages (id, article_id, ordinal, paragraph, paragraph_end, start, "end", text)'
            " VALUES (?,?,?,?,?,?,?,?)",
            [(i, article_id, ordinal, c.paragraph, c.paragraph_end, c.start, c.end, c.text)
             for ordinal, (i, c) in enumerate(zip(ids, passages))])
        db.executemany("INSERT INTO passage_fts (rowid, words, grams) VALUES (?,?,?)",
                       [(i, t.words, t.grams) for i, t in zip(ids, tokens)])
        db.executemany("INSERT INTO passage_chars (rowid, chars) VALUES (?,?)",
                       [(i, t.chars) for i, t in zip(ids, tokens)])
        return ids

    def compact(self) -> None:
        """Merge the keyword indexes' segments into one each (after a bulk add: fewer segments,
        faster MATCH)."""
        with self.transaction() as db:
            for table in ("passage_fts", "passage_chars"):
                db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")

    @staticmethod
    def _delete_passages(db: sqlite3.Connection, article_id: str) -> list[int]:
        ids = [r[0] for r in db.execute("SELECT id FROM passages WHERE article_id=?", (article_id,))]
        db.executemany("DELETE FROM passage_fts WHERE rowid=?", [(i,) for i in ids])
        db.executemany("DELETE FROM passage_chars WHERE rowid=?", [(i,) for i in ids])
        db.execute("DELETE FROM passages WHERE article_id=?", (article_id,))
        return ids

    def delete_passages(self, ids: list[int]) -> None:
        """Delete passages (and their keyword rows) by id, e.g. ones whose article is gone."""
        with self.transaction() as db:
            for table in ("passage_fts", "passage_chars"):
                db.executemany(f"DELETE FROM {table} WHERE rowid=?", [(i,) for i in ids])
            db.executemany("DELETE FROM passages WHERE id=?", [(i,) for i in ids])

    def rebuild_keyword_index(self, rows: Iterable[tuple[int, PassageTokens]]) -> None:
        """Drop both FTS tables (even damaged ones) and fill them again from `rows`."""
        with self.transaction() as db:
            for table in ("grams_vocab", "passage_fts", "passage_chars"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            for pid, tok in rows:
                db.execute("INSERT INTO passage_fts (rowid, words, grams) VALUES (?,?,?)", (pid, tok.words, tok.grams))
                db.execute("INSERT INTO passage_chars (rowid, chars) VALUES (?,?)", (pid, tok.chars))

    def remove_article(self, article_id: str) -> list[int]:
        """Delete an article and everything derived from it; returns the removed passage ids."""
        with self.transaction() as db:
            ids = self._delete_passages(db, article_id)
            db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return ids

    # -- trash -------------------------------------------------------------------------
    _MOVED = "seq, id, title, source, date, url, script, original_file, origin, added_at, content_hash, extra, text"

    def trash_article(self, article_id: str, removed_at: str) -> list[int] | None:
        """Move an article to the trash, deleting its passages; the removed passage ids, or None
        when there is no such article."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone() is None:
                return None
            ids = self._delete_passages(db, article_id)
            db.execute(f"INSERT INTO trash ({self._MOVED}, removed_at) SELECT {self._MOVED}, ? FROM articles"
                       " WHERE id=?", (removed_at, article_id))
            db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return ids

    def restore_article(self, article_id: str) -> bool:
        """Move an article back from the trash (without passages: the caller derives them)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM trash WHERE id=?", (article_id,)).fetchone() is None:
                return False
            db.execute(f"INSERT INTO articles ({self._MOVED}) SELECT {self._MOVED} FROM trash WHERE id=?",
                       (article_id,))
            db.execute("DELETE FROM trash WHERE id=?", (article_id,))
        return True

    def trashed_articles(self) -> list[tuple[ArticleRow, str]]:
        """What the trash holds, oldest removal first: (row, when it was removed)."""
        rows = self.db.execute("SELECT id, title, source, date, url, script, original_file, origin, added_at,"
                               " content_hash, 0, extra, removed_at FROM trash ORDER BY removed_at, seq")
        return [(self._article_row(r[:12]), r[12]) for r in rows]

    def purge_trash(self, article_ids: list[str] | None = None) -> int:
        """Delete trashed articles for good (all of them when `article_ids` is None)."""
        with self.transaction() as db:
            if article_ids is None:
                return db.execute("DELETE FROM trash").rowcount
            return sum(db.execute("DELETE FROM trash WHERE id=?", (i,)).rowcount for i in article_ids)

    # -- reads -------------------------------------------------------------------------
    _ARTICLE_COLS = ("a.id, a.title, a.source, a.date, a.url, a.script, a.original_file, a.origin,"
                     " a.added_at, a.content_hash,"
                     " (SELECT COUNT(*) FROM passages p WHERE p.article_id = a.id), a.extra")

    @staticmethod
    def _article_row(r: tuple) -> ArticleRow:
        return ArticleRow(*r[:11], extra=json.loads(r[11] or "{}"))

    def article(self, article_id: str) -> ArticleRow | None:
        r = self.db.execute(f"SELECT {self._ARTICLE_COLS} FROM articles a WHERE a.id=?", (article_id,)).fetchone()
        return self._article_row(r) if r else None

    def articles_by_id(self, article_ids: Iterable[str]) -> dict[str, ArticleRow]:
        """The rows of these articles (those that exist), by id."""
        return {row.id: row for row in self._articles_where("id", article_ids)}

    def articles_by_hash(self, hashes: Iterable[str]) -> dict[str, ArticleRow]:
        """The stored articles with these content hashes, by hash."""
        return {row.content_hash: row for row in self._articles_where("content_hash", hashes)}

    def _articles_where(self, column: str, values: Iterable[str]) -> Iterator[ArticleRow]:
        values = list(dict.fromkeys(values))
        for i in range(0, len(values), 500):  # one query per 500 values (SQLite's variable limit)
            part = values[i:i + 500]
            marks = ",".join("?" * len(part))
            for r in self.db.execute(f"SELECT {self._ARTICLE_COLS} FROM articles a WHERE a.{column} IN ({marks})", part):
                yield self._article_row(r)

    def article_text(self, article_id: str) -> str | None:
        r = self.db.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        return r[0] if r else None

    def articles(self) -> list[ArticleRow]:
        rows = self.db.execute(f"SELECT {self._ARTICLE_COLS} FROM articles a ORDER BY a.seq").fetchall()
        return [self._article_row(r) for r in rows]

    def articles_with_text(self) -> Iterator[tuple[ArticleRow, str]]:
        """Every article with its text, in order, from one consistent snapshot (one statement)."""
        cur = self.db.execute(f"SELECT {self._ARTICLE_COLS}, a.text FROM articles a ORDER BY a.seq")
        while batch := cur.fetchmany(200):
            for r in batch:
                yield self._article_row(r[:12]), r[12]

    def article_order(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT id, seq FROM articles")}

    def passages(self, ids: Iterable[int]) -> dict[int, PassageRow]:
        ids = list(ids)
        out: dict[int, PassageRow] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            q = ('SELECT id, article_id, ordinal, paragraph, paragraph_end, start, "end", text FROM passages'
                 f" WHERE id IN ({','.join('?' * len(part))})")
            for r in self.db.execute(q, part):
                out[r[0]] = PassageRow(*r)
        return out

    def article_passages(self, article_id: str) -> list[PassageRow]:
        rows = self.db.execute(
            'SELECT id, article_id, ordinal, paragraph, paragraph_end, start, "end", text FROM passages'
            " WHERE article_id=? ORDER BY ordinal", (article_id,))
        return [PassageRow(*r) for r in rows]

    def passage_words(self) -> Iterator[tuple[int, str]]:
        """(passage id, its jieba words joined by spaces) for every passage, by id."""
        yield from self.db.execute("SELECT rowid, words FROM passage_fts ORDER BY rowid")

    def passage_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM passages ORDER BY id")]

    def passage_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def orphan_passages(self) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT id FROM passages WHERE article_id NOT IN (SELECT id FROM articles) ORDER BY id")]

    def keyword_index_problems(self, passage_ids: list[int]) -> list[str]:
        """Passages missing from either FTS table, and FTS rows whose passage is gone."""
        problems = []
        for table in ("passage_fts", "passage_chars"):
            fts = [r[0] for r in self.db.execute(f"SELECT rowid FROM {table} ORDER BY rowid")]
            if fts != passage_ids:
                problems.append(f"{table}: {len(set(passage_ids) - set(fts))} passages missing, "
                                f"{len(set(fts) - set(passage_ids))} stale rows")
        return problems

    def integrity_errors(self) -> list[str]:
        errors = []
        ok = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            errors.append(f"sqlite integrity_check: {ok}")
        for table in ("passage_fts", "passage_chars"):
            try:
                self.db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as exc:
                errors.append(f"{table}: {exc}")
        return errors

    # -- keyword search ----------------------------------------------------------------
    def keyword_search(self, words: list[str], grams: list[str], limit: int,
                       weights: tuple[float, float] = (1.0, 1.0),
                       postings_budget: int = 0) -> list[tuple[int, float]]:
        """BM25 over both token columns; returns (passage id, score) with higher = better.

        bm25() costs time per matching row and phrase, and on a large corpus a question's
        common characters (国, 的 ...) match most rows. With a `postings_budget`, terms are kept
        rarest first while their summed document frequency fits the budget (the rarest always
        stays); the terms left out still count in the caller's sentence re-ranking. When even
        the rarest term matches more rows than the budget allows, only its newest
        `postings_budget` rows are ranked. A corpus whose terms all fit is ranked unchanged."""
        terms = [("words", t) for t in words] + [("grams", t) for t in grams]
        floor = 0
        if postings_budget and terms:
            terms, floor = self._within_budget(terms, postings_budget)
        by_col: dict[str, list[str]] = {"words": [], "grams": []}
        for col, t in terms:
            by_col[col].append(t)
        parts = [f"{col} : (" + " OR ".join(fts_phrase(t) for t in ts) + ")" for col, ts in by_col.items() if ts]
        if not parts:
            return []
        query = " OR ".join(f"({p})" for p in parts)
        rows = self.db.execute(
            "SELECT rowid, bm25(passage_fts, ?, ?) AS s FROM passage_fts WHERE passage_fts MATCH ?"
            " AND rowid >= ? ORDER BY s LIMIT ?", (weights[0], weights[1], query, floor, limit)).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def _within_budget(self, terms: list[tuple[str, str]], budget: int) -> tuple[list[tuple[str, str]], int]:
        """The rarest terms whose document frequencies sum to at most `budget`, and the smallest
        rowid to rank (0, or the start of the newest `budget` rows of a lone very common term)."""
        kept, total = rarest_within(terms, self.column_frequencies([t for _, t in terms]), budget)
        if total <= budget:
            return kept, 0
        col, term = kept[0]
        row = self.db.execute(
            "SELECT rowid FROM passage_fts WHERE passage_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (f"{col} : {fts_phrase(term)}", budget - 1)).fetchone()
        return kept, row[0] if row else 0

    def column_frequencies(self, terms: list[str]) -> dict[tuple[str, str], int]:
        """Rows holding each term, per keyword column: {(column, term): rows}.

        fts5vocab counts a term's rows by reading its whole posting list (FTS5 stores no
        document frequencies), milliseconds per common term at a million passages; counts are
        kept per connection until the database changes (data_version, or a write through it)."""
        cache = self._cache("df")
        missing = [t for t in set(terms) if t not in cache]
        for i in range(0, len(missing), 500):
            part = missing[i:i + 500]
            for t in part:
                cache[t] = {}
            q = f"SELECT col, term, doc FROM grams_vocab WHERE term IN ({','.join('?' * len(part))})"
            for c, t, d in self.db.execute(q, part):
                cache[t][c] = d
        return {(c, t): d for t in set(terms) for c, d in cache[t].items()}

    def _cache(self, name: str) -> dict:
        """A per-connection cache of counts, emptied whenever the database has changed."""
        local = self._local
        version = (self.db.execute("PRAGMA data_version").fetchone()[0], getattr(local, "writes", 0))
        if getattr(local, "cache_version", None) != version:
            local.caches, local.cache_version = {}, version
        cache = local.caches.setdefault(name, {})
        if len(cache) > 500_000:
            cache.clear()
        return cache

    def phrase_candidates(self, phrases: list[list[str]]) -> list[int]:
        """Passages whose character stream holds any of the token sequences (a superset of the
        exact matches; callers confirm on the text)."""
        phrases = [p for p in phrases if p]
        if not phrases:
            return []
        query = " OR ".join(fts_phrase(" ".join(p)) for p in phrases)
        return [r[0] for r in self.db.execute("SELECT rowid FROM passage_chars WHERE passage_chars MATCH ?",
                                              (query,))]

    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many passages hold each n-gram (grams column)."""
        return {t: n for (c, t), n in self.column_frequencies(terms).items() if c == "grams"}

    def phrase_frequencies(self, phrases: list[str]) -> dict[str, int]:
        """How many passages hold each phrase as a substring (Simplified characters)."""
        out: dict[str, int] = {}
        cache = self._cache("phrase")  # counting reads every posting of the phrase's characters
        for p, toks in phrase_tokens(phrases).items():
            if p not in cache:
                cache[p] = self.db.execute("SELECT count(*) FROM passage_chars WHERE passage_chars MATCH ?",
                                           (fts_phrase(" ".join(toks)),)).fetchone()[0]
            out[p] = cache[p]
        return out
