"""Where a library's state lives: the one place that picks a backend.

A backend gives the engine a `store.Store` and, per embedding model, a `vectors.VectorIndex`.
`EmbeddedBackend` keeps both in `index_dir` (SQLite + a FAISS file); `MilvusBackend`
(milvus_backend.py) keeps everything on a Milvus server or a Milvus Lite file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .config import Settings
from .store import SQLiteStore, Store
from .vectors import IndexPolicy, VectorIndex

DB_NAME = "docsearch.sqlite3"
VECTORS_NAME = "vectors.faiss"


class BackendError(RuntimeError):
    """The backend cannot be reached or used; the message is one line for the user."""


class Backend(Protocol):
    store: Store

    def has_vectors(self) -> bool: ...
    def open_vectors(self, dim: int | None) -> VectorIndex: ...
    def drop_vectors(self) -> None: ...
    def close(self) -> None: ...


class EmbeddedBackend:
    """SQLite database and FAISS file in one folder."""

    def __init__(self, index_dir: Path, policy: IndexPolicy | None = None):
        self.index_dir = Path(index_dir)
        self.store = SQLiteStore(self.index_dir / DB_NAME)
        self.policy = policy  # FAISS index type by corpus size (vectors.IndexPolicy)

    @property
    def vectors_path(self) -> Path:
        return self.index_dir / VECTORS_NAME

    def has_vectors(self) -> bool:
        return self.vectors_path.exists()

    def open_vectors(self, dim: int | None) -> VectorIndex:
        from .vectors import FaissVectors

        return FaissVectors(self.vectors_path, dim, self.policy)

    def drop_vectors(self) -> None:
        self.vectors_path.unlink(missing_ok=True)

    def close(self) -> None:
        self.store.close()


def open_backend(settings: Settings) -> Backend:
    if settings.backend == "milvus":
        from .milvus_backend import MilvusBackend

        return MilvusBackend(settings)
    policy = IndexPolicy(exact_max=settings.vector_exact_max, nlist=settings.ivf_nlist, nprobe=settings.ivf_nprobe)
    return EmbeddedBackend(Path(settings.index_dir), policy)
