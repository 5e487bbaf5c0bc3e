"""Term statistics of a Milvus library (see TermStatistics)."""
from __future__ import annotations

import json
import zlib
from typing import Iterable

from docsearch.errors import BackendError
from docsearch.storage.milvus.connection import BATCH, DUMMY, MAX_VARCHAR, QUERY_WINDOW

MAX_TERM_BYTES = 1000
# Keys in the term shards: n-grams as they are, words behind this prefix (a space never occurs
# inside a token), the total number of tokens of all passages, and the passages counted.
WORD_KEY = "w "
# Terms hashed into shards, one row per (writer, shard, part) holding a JSON object term -> count.
SHARDS = 16384
SHARD_PARTS = 4                 # a shard's counts over this many rows of at most PART_BYTES
PART_BYTES = 60000
# Buffered count changes before they are written: each write rewrites every shard it touches,
# and a bulk add touches nearly all of them (about 100 MB of memory at this size).
DELTA_MAX = 1_000_000
LEGACY_WRITER = "0" * 32   # counts of a library written before statistics were kept per writer
TOTAL_KEY = " total"
ROWS_KEY = " rows"  # passages counted with the term statistics: read in the same query as them


class TermStatistics:
    """Mixin of MilvusStore: passages per word and per n-gram, and the total token count, kept per
    writer in hashed shards (what FTS5 keeps in its own tables: the document frequencies BM25 and
    sentence-level re-ranking need). Uses the store's client, collections and buffers."""

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
        s.add_field("counts", DT.VARCHAR, max_length=MAX_VARCHAR)
        name = self.c.ensure("termshards", s, self._dummy_index(s))
        w = self._schema()
        w.add_field("id", DT.VARCHAR, is_primary=True, max_length=64)
        self.writers_c = self.c.ensure("writers", w, self._dummy_index(w))
        legacy = self.c.name("terms")
        if self.client.has_collection(legacy):  # one row per term, from earlier versions
            self.client.load_collection(legacy)
            rows = self._query_all(legacy, "", ["term", "df"])
            self._add_to_shards(name, LEGACY_WRITER, {r["term"]: int(r["df"]) for r in rows})
            self.client.drop_collection(legacy)
        return name

    @staticmethod
    def _shard(term: str) -> int:
        return zlib.crc32(term.encode("utf-8")) % SHARDS

    @staticmethod
    def _part_keys(writer: str, shard: int) -> list[str]:
        return [f"{writer}:{shard}:{part}" for part in range(SHARD_PARTS)]

    def _read_shards(self, collection: str, keys: list[str]) -> dict[str, dict[str, int]]:
        """key -> counts of the rows that exist among `keys`."""
        out: dict[str, dict[str, int]] = {}
        for i in range(0, len(keys), BATCH):
            part = keys[i:i + BATCH]
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
        self.client.upsert(self.writers_c, [{"id": writer, **DUMMY}])  # a rebuild may have cleared it
        shards = sorted(by_shard)
        for i in range(0, len(shards), BATCH // SHARD_PARTS):
            group = shards[i:i + BATCH // SHARD_PARTS]
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
                rows += [{"key": k, "counts": c, **DUMMY} for k, c in zip(keys, parts)]
                gone += [k for k in keys[len(parts):] if k in have]
            for j in range(0, len(rows), BATCH):
                self.client.upsert(collection, rows[j:j + BATCH])
            if gone:
                self.client.delete(collection, ids=gone)

    @staticmethod
    def _split(counts: dict[str, int]) -> list[str]:
        """One shard's counts as JSON texts of at most PART_BYTES bytes each."""
        if not counts:
            return []
        whole = json.dumps(counts, ensure_ascii=False, separators=(",", ":"))
        if len(whole.encode("utf-8")) <= PART_BYTES:  # nearly always: one dump per shard
            return [whole]
        parts, cur, size = [], {}, 2
        for t, n in sorted(counts.items()):
            item = len(json.dumps({t: n}, ensure_ascii=False).encode("utf-8"))
            if cur and size + item > PART_BYTES:
                parts.append(cur)
                cur, size = {}, 2
            cur[t] = n
            size += item
        parts.append(cur)
        if len(parts) > SHARD_PARTS:
            raise BackendError(f"term statistics: a shard needs {len(parts)} rows (at most {SHARD_PARTS}); "
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
        rows = self.client.query(self.writers_c, filter='id != ""', output_fields=["id"], limit=QUERY_WINDOW)
        return sorted(r["id"] for r in rows)

    @staticmethod
    def _term_counts(fields: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Passages per word and per n-gram, and the total token count, of (words, grams) fields."""
        counts: dict[str, int] = {}
        total = rows = 0
        for words, grams in fields:
            w, g = words.split(), grams.split()
            total += len(w) + len(g)
            rows += 1
            for key in [WORD_KEY + t for t in set(w)] + list(set(g)):
                if len(key.encode("utf-8")) <= MAX_TERM_BYTES:
                    counts[key] = counts.get(key, 0) + 1
        if total:
            counts[TOTAL_KEY] = total
        if rows:
            counts[ROWS_KEY] = rows
        return counts

    def _count_terms(self, fields: Iterable[tuple[str, str]], sign: int) -> None:
        for t, n in self._term_counts(fields).items():
            self._term_delta[t] = self._term_delta.get(t, 0) + sign * n
        if len(self._term_delta) > DELTA_MAX:
            self.flush()

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
