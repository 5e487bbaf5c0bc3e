"""Is a question about what this library holds at all? The contrast between the question's
nearest passage in the library and its nearest text in a fixed background of generic Chinese
(Wikipedia paragraphs, everyday sentences: data/background_zh.tsv.gz, built by
training/build_background.py).

A question on the library's subject sits closer to some passage of the library than to anything
in the background; a question about cooking, sport or programming sits as close or closer to the
background. Raw similarity cannot tell them apart: the encoder's cosines depend on the question's
language and length (English questions over Chinese text score lower throughout), and the
contrast cancels that out, because the library and the background are measured with the same
question vector.

The background's vectors depend on the model. The default encoder's ship with the package
(data/background_<model>.npz); any other model's are computed once (the static model takes well
under a second) and kept in the cache directory.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from docsearch.config import PACKAGE_DATA, cache_dir, model_key

BACKGROUND_TEXTS = PACKAGE_DATA / "background_zh.tsv.gz"
_vectors: dict[str, np.ndarray] = {}
_vectors_lock = threading.Lock()


@lru_cache(maxsize=1)
def background_texts() -> tuple[str, ...]:
    """The background's texts (the file's first column; the second names each text's origin)."""
    with gzip.open(BACKGROUND_TEXTS, "rt", encoding="utf-8") as f:
        return tuple(line.split("\t", 1)[0] for line in f if line.strip())


def _digest(texts: tuple[str, ...]) -> str:
    return hashlib.sha1("\n".join(texts).encode("utf-8")).hexdigest()[:16]


def shipped_vectors_path(model: str) -> Path:
    return PACKAGE_DATA / f"background_{model_key(model)}.npz"


def _cached_vectors_path(identity: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in identity)
    return cache_dir() / "background" / f"{safe}.npz"


def _read(path: Path, identity: str, digest: str) -> np.ndarray | None:
    """Vectors stored for this model and these texts (None when absent or made for others)."""
    try:
        with np.load(path) as f:
            if str(f["identity"]) == identity and str(f["digest"]) == digest:
                return f["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError):
        pass
    return None


def _write(path: Path, vectors: np.ndarray, identity: str, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, vectors=vectors.astype(np.float16), identity=identity, digest=digest)
    tmp.replace(path)   # whole or not at all: a reader never sees half a file


def background_vectors(embedder) -> np.ndarray:
    """The background's vectors by `embedder`'s model: shipped, cached, or computed and cached."""
    identity = embedder.identity
    with _vectors_lock:
        if identity not in _vectors:
            texts = background_texts()
            digest = _digest(texts)
            vectors = _read(shipped_vectors_path(embedder.model_name), identity, digest)
            cached = _cached_vectors_path(identity)
            if vectors is None:
                vectors = _read(cached, identity, digest)
            if vectors is None:
                vectors = embedder.encode(list(texts))
                try:
                    _write(cached, vectors, identity, digest)
                except OSError:
                    pass    # a read-only cache costs the computation again next process, nothing else
            _vectors[identity] = vectors
        return _vectors[identity]


def write_shipped_vectors(embedder) -> Path:
    """Compute the background's vectors by `embedder` and store them in the package data."""
    texts = background_texts()
    path = shipped_vectors_path(embedder.model_name)
    _write(path, embedder.encode(list(texts)), embedder.identity, _digest(texts))
    return path


def contrast(query_vector: np.ndarray, library_best: float, embedder) -> float:
    """The question's best similarity in the library minus its best in the background."""
    return float(library_best) - float((background_vectors(embedder) @ query_vector).max())
