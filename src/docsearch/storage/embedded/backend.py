"""The embedded backend: a SQLite database and a FAISS file in one index folder."""
from __future__ import annotations

from pathlib import Path

from docsearch.errors import IndexCorrupt
from docsearch.storage.base import VectorIndex
from docsearch.storage.embedded.faiss_vectors import IndexPolicy
from docsearch.storage.embedded.sqlite import SQLiteStore

DB_NAME = "docsearch.sqlite3"
VECTORS_NAME = "vectors.faiss"
# What FaissVectors.save leaves behind when it is killed between writing and renaming.
_UNFINISHED_VECTORS = ".vectors-*.tmp"


class EmbeddedBackend:
    """`storage.base.Backend` in one folder: SQLite for documents and keywords, FAISS for vectors."""

    def __init__(self, index_dir: Path, policy: IndexPolicy | None = None):
        self.index_dir = Path(index_dir)
        self.store = SQLiteStore(self.index_dir / DB_NAME)
        self.policy = policy  # FAISS index type by corpus size

    @property
    def vectors_path(self) -> Path:
        return self.index_dir / VECTORS_NAME

    def has_vectors(self) -> bool:
        return self.vectors_path.exists()

    def open_vectors(self, dim: int | None) -> VectorIndex:
        """The FAISS index in the folder (a new one of `dim` when there is none)."""
        from docsearch.storage.embedded.faiss_vectors import FaissVectors

        try:
            return FaissVectors(self.vectors_path, dim, self.policy)
        except (RuntimeError, ValueError) as exc:  # faiss raises RuntimeError on a damaged file
            raise IndexCorrupt.unreadable_vectors(_faiss_reason(exc)) from exc

    def drop_vectors(self) -> None:
        self.vectors_path.unlink(missing_ok=True)

    def drop_library(self) -> None:
        """Delete the database and the vector file; this backend is closed afterwards."""
        self.store.close()
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", VECTORS_NAME):
            (self.index_dir / name).unlink(missing_ok=True)

    def heal(self) -> list[str]:
        """Remove the temporary files of vector saves that never finished."""
        fixed = []
        for tmp in self.index_dir.glob(_UNFINISHED_VECTORS):
            tmp.unlink(missing_ok=True)
            fixed.append(f"removed the unfinished vector file {tmp.name}")
        return fixed

    def close(self) -> None:
        self.store.close()


def _faiss_reason(exc: BaseException) -> str:
    """FAISS errors start with the C++ function and source line; keep what comes after."""
    msg = " ".join(str(exc).split())
    return (msg.split(": ", 1)[-1] if msg.startswith("Error in ") else msg)[:160]
