"""Dense vectors in a FAISS index keyed by passage id, saved atomically beside the database.

`VectorIndex` is the narrow interface; `FaissVectors` is the embedded implementation
(inner product over L2-normalized vectors, i.e. cosine similarity).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorIndex(Protocol):
    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: list[int]) -> None: ...
    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def ids(self) -> np.ndarray: ...
    def save(self) -> None: ...
    def __len__(self) -> int: ...


class FaissVectors:
    def __init__(self, path: Path, dim: int | None):
        import faiss  # imported here: only commands that touch vectors pay for it

        self._faiss = faiss
        self.path = Path(path)
        self.dim = dim
        if self.path.exists():
            index = faiss.read_index(str(self.path))
            if dim is not None and index.d != dim:
                raise ValueError(f"vector file {self.path} has dimension {index.d}, model gives {dim}")
            self.index = index
        elif dim is None:
            raise ValueError(f"no vector file at {self.path} and no dimension to create one")
        else:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.dim = int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, min(k, len(self)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def ids(self) -> np.ndarray:
        if len(self) == 0:
            return np.empty(0, dtype=np.int64)
        return self._faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def save(self) -> None:
        """Write to a temporary file in the same folder, fsync, then rename over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".vectors-", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        try:
            self._faiss.write_index(self.index, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            # The rename itself must reach the disk too, or a power cut could bring back the old file.
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
