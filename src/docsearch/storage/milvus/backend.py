"""The Milvus backend: store and vectors of one library on one client."""
from __future__ import annotations

from docsearch.config import Settings
from docsearch.errors import BackendError
from docsearch.storage.milvus.connection import connect, reason_of, resolve_uri
from docsearch.storage.milvus.store import MilvusStore
from docsearch.storage.milvus.vectors import MilvusVectors


class MilvusBackend:
    """`storage.base.Backend` on Milvus: store and vectors share one client."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.uri = resolve_uri(settings)
        self.client = connect(settings)
        try:
            self.store = MilvusStore(self.client, settings)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line for the user, not a gRPC trace
            raise BackendError(f"Milvus at {self.uri}: {reason_of(exc)}") from exc
        self.collections = self.store.c

    def has_vectors(self) -> bool:
        return self.client.has_collection(self.collections.name("vectors"))

    def open_vectors(self, dim: int | None) -> MilvusVectors:
        return MilvusVectors(self.client, self.collections, dim, self.settings.milvus_index_type)

    def drop_vectors(self) -> None:
        self.client.drop_collection(self.collections.name("vectors"))

    def drop_library(self) -> None:
        """Drop every collection of the library; this backend is closed afterwards."""
        self.drop_vectors()
        self.store.drop_all()

    def heal(self) -> list[str]:
        """Nothing to tidy: an interrupted write leaves no files (verify reports its rows)."""
        return []

    def close(self) -> None:
        try:
            self.store.flush()
            self.client.close()
        except Exception:  # noqa: BLE001 - closing a dead connection is not an error
            pass
