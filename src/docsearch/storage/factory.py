"""The one place that picks a backend from the settings. Backends are imported here, lazily:
a library on the embedded backend never imports pymilvus, and one on Milvus never opens SQLite."""
from __future__ import annotations

from pathlib import Path

from docsearch.config import Settings
from docsearch.storage.base import Backend


def open_backend(settings: Settings) -> Backend:
    """The backend the settings name, opened (Milvus: connected; embedded: folder created)."""
    if settings.backend == "milvus":
        from docsearch.storage.milvus.backend import MilvusBackend

        return MilvusBackend(settings)
    from docsearch.storage.embedded.backend import EmbeddedBackend
    from docsearch.storage.embedded.faiss_vectors import IndexPolicy

    policy = IndexPolicy(exact_max=settings.vector_exact_max, nlist=settings.ivf_nlist, nprobe=settings.ivf_nprobe)
    return EmbeddedBackend(Path(settings.index_dir), policy)


def describe_location(settings: Settings) -> str:
    """Where the settings' library lives, for messages ("embedded index/", "milvus URI (prefix)")."""
    if settings.backend == "milvus":
        from docsearch.storage.milvus.connection import resolve_uri

        return f"milvus {resolve_uri(settings)} ({settings.milvus_collection})"
    return f"embedded {settings.index_dir}"
