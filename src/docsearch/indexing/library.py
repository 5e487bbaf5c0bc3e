"""One open library and its write protocol: the backend, the embedding model and vector index
(loaded lazily), the locks, and the healing of a write that died half-way.

Every change runs inside `Library.writing()`: one thread of this process and one process (the
writer lock) at a time; a marker in the database stays set until the vector index has caught up
with the committed passages, so whoever opens the library after a crash finishes the derived work.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import numpy as np

from docsearch.config import AUTO_MODEL, Settings, auto_model
from docsearch.errors import BackendError, IndexCorrupt, IndexFormatError
from docsearch.indexing.lock import WriterLock
from docsearch.indexing.progress import ProgressFactory, no_progress
from docsearch.storage.base import FORMAT_VERSION, VectorIndex
from docsearch.storage.factory import open_backend

# Set in the database while a write is under way and cleared once the vector index has caught up.
PENDING_KEY = "write_pending"


class Library:
    """The state every write and read of one library shares."""

    def __init__(self, settings: Settings, progress: ProgressFactory | None = None):
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.progress = progress or no_progress
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.backend = open_backend(settings)
        self.store = self.backend.store
        version = int(self.store.get_meta("format_version") or FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise IndexFormatError(
                f"index at {self.index_dir} has format {version}, this docsearch reads format {FORMAT_VERSION}; "
                "left untouched: open it with the docsearch that wrote it, or point --index-dir elsewhere")
        self._vectors: VectorIndex | None = None
        self._embedder = None
        # Under "auto" the settings name the model this library uses (see fit_model).
        self.requested_model = settings.model
        if settings.model == AUTO_MODEL:
            self.settings = replace(settings, model=self._auto_model(0))
        # One writer at a time within a process, and no vector search while the vector index is
        # being changed (app sessions share one engine) ...
        self.lock = threading.RLock()
        # ... and one writing process at a time (see lock.py).
        self.writer = WriterLock(self.index_dir, settings.lock_wait_seconds)
        # A write that died half-way (killed, power cut) left its marker: finish its derived work
        # now, unless another process is writing (it heals before its own write).
        self.healed: list[str] = []
        if self.store.get_meta(PENDING_KEY) and self.writer.try_acquire():
            try:
                self.healed = self.heal()
            except IndexCorrupt:
                pass  # `verify` reports it and `repair` rebuilds it; reading keyword-only still works
            finally:
                self.writer.release()
        self.last_add_stats = None  # pipeline.StageStats of the latest add (read by the bench)

    # -- lazily loaded parts -------------------------------------------------------------
    @property
    def embedder(self):
        """The configured embedding model (loaded on first use)."""
        if self._embedder is None:
            from docsearch.models.embedding import embedder_for

            self._embedder = embedder_for(self.settings.model, self.settings.embed_batch_size,
                                          self.settings.english_query_tower)
        return self._embedder

    @property
    def vectors(self) -> VectorIndex:
        """The vector index of the configured model (vectors of another model are dropped: they
        must never mix). Opening an existing index does not load the model."""
        if self._vectors is None:
            if self.store.get_meta("model") == self.settings.model:
                try:
                    self._vectors = self.backend.open_vectors(int(self.store.get_meta("model_dim") or 0)
                                                              or self.embedder.dim)
                except BackendError as exc:  # stored vectors the backend refuses to open
                    raise IndexCorrupt.unreadable_vectors(str(exc)) from exc
                return self._vectors
            with self.writing():
                if self._vectors is None:
                    self._switch_model()
        return self._vectors

    def _auto_model(self, incoming: int) -> str:
        return auto_model(self.store.get_meta("model") or None, self.store.passage_count(), incoming,
                          self.settings.encoder_max_passages)

    @property
    def chooses_model(self) -> bool:
        """Whether "auto" chooses this library's model (config.auto_model), not the user."""
        return self.requested_model == AUTO_MODEL

    def fit_model(self, incoming: int) -> bool:
        """Before `incoming` passages are added: under "auto", a library that would outgrow the
        encoder moves to the static model (its passages are embedded again, at the static model's
        speed). Call inside `writing()`. True when the model changed."""
        if not self.chooses_model:
            return False
        model = self._auto_model(incoming)
        if model == self.settings.model:
            return False
        self.settings = replace(self.settings, model=model)
        self._embedder = None
        self._vectors = None  # the next use embeds the stored passages with the new model
        return True

    def has_vectors(self) -> bool:
        """Whether vectors exist (stored, or open in this process)."""
        return self._vectors is not None or self.backend.has_vectors()

    def _switch_model(self) -> None:
        """Drop the vectors of another model and embed every passage with this one."""
        dim = self.embedder.dim
        self.store.set_meta(PENDING_KEY, "1")  # killed while re-embedding: the next open finishes it
        self.backend.drop_vectors()
        self.store.set_meta("model", self.settings.model)
        self.store.set_meta("model_dim", str(dim))
        self._vectors = self.backend.open_vectors(dim)
        if self.store.passage_count():
            self.sync_vectors()

    def drop_vectors(self) -> None:
        """Forget the vector index (it is built again, for the configured model, on next use)."""
        self.backend.drop_vectors()
        self._vectors = None

    # -- the write protocol --------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Every change to the library runs inside this (see the module docstring)."""
        with self.lock:
            self.writer.acquire()
            try:
                outermost = self.writer.depth == 1
                if outermost:
                    self.heal()
                    self.store.set_meta(PENDING_KEY, "1")
                yield
                if outermost:
                    # Every write path keeps the vectors itself; this is the safety net, and a
                    # full comparison of the id sets only runs when the counts disagree (at a
                    # million passages the full comparison costs about a second per write).
                    self.sync_vectors(full=False)
                    self.store.flush()
                    self.store.set_meta(PENDING_KEY, "")
            finally:
                self.writer.release()

    def heal(self) -> list[str]:
        """Bring the vectors in line with the committed passages and let the backend tidy what an
        interrupted write left. Call with the writer lock held."""
        fixed = []
        # The marker says a write was interrupted: compare the id sets, not just their sizes.
        n = self.sync_vectors(full=bool(self.store.get_meta(PENDING_KEY)))
        if n:
            fixed.append(f"vectors: {n} added or dropped to match the passages")
        fixed += self.backend.heal()
        if self.store.get_meta(PENDING_KEY):
            self.store.set_meta(PENDING_KEY, "")
        return fixed

    def sync_vectors(self, full: bool = True) -> int:
        """Embed passages without a vector, drop vectors without a passage; returns how many
        changed. `full=False` first compares only the counts and stops there when they agree."""
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
        self.save_vectors(vec)
        return len(extra) + len(missing)

    def save_vectors(self, vec: VectorIndex) -> None:
        """Write the vector index, then what the store buffered, and record the index's type and
        parameters in the metadata."""
        vec.save()
        self.store.flush()
        self.store.set_meta("vector_index", json.dumps(vec.describe()))

    def close(self) -> None:
        self.backend.close()
