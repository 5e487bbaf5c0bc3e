"""Dense vectors in a FAISS index keyed by passage id, saved atomically beside the database.

`FaissVectors` implements `storage.base.VectorIndex` (inner product over L2-normalized
vectors, i.e. cosine similarity).

The index type follows the corpus size: exact `IndexIDMap2(IndexFlatIP)` up to
`IndexPolicy.exact_max` vectors, then `IndexIVFFlat` (trained on the vectors present at the
switch, and again each time the corpus has grown fourfold, so lists stay about as long). IVF
rather than HNSW because FAISS's IVF removes by id (HNSW does not: it would need
tombstones and rebuilds), and its recall is set per query by `nprobe`.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class IndexPolicy:
    exact_max: int = 50_000    # flat (exact) up to here
    nlist: int = 0             # IVF lists; 0 = 4 * sqrt(n) at the switch
    nprobe: int = 256
    train_max: int = 80_000    # vectors used to train the IVF quantizer (k-means cost)

    def lists_for(self, n: int) -> int:
        # FAISS wants >= 39 training points per list; 4 * sqrt(n) is its usual starting point.
        return self.nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))


class FaissVectors:
    def __init__(self, path: Path, dim: int | None, policy: IndexPolicy | None = None):
        import faiss  # imported here: only commands that touch vectors pay for it

        self._faiss = faiss
        self.path = Path(path)
        self.dim = dim
        self.policy = policy or IndexPolicy()
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
        self._set_nprobe()

    @property
    def ivf(self):
        """The IVF index, or None while the index is exact."""
        try:
            return self._faiss.extract_index_ivf(self.index)
        except RuntimeError:
            return None

    def _set_nprobe(self) -> None:
        ivf = self.ivf
        if ivf is not None:
            ivf.nprobe = min(self.policy.nprobe, ivf.nlist)

    def describe(self) -> dict:
        """What the index metadata records: type and parameters."""
        ivf = self.ivf
        if ivf is None:
            return {"type": "flat", "ntotal": len(self), "exact_max": self.policy.exact_max}
        return {"type": "ivf_flat", "ntotal": len(self), "nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe),
                "exact_max": self.policy.exact_max}

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored, in no particular order."""
        if len(self) == 0:
            return np.empty(0, dtype=np.int64), np.empty((0, self.dim), dtype=np.float32)
        ivf = self.ivf
        if ivf is None:
            flat = self._faiss.downcast_index(self.index.index)
            vecs = self._faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dim)
            return self._faiss.vector_to_array(self.index.id_map).astype(np.int64), \
                vecs.reshape(len(self), self.dim).copy()
        # Filled in place: per-list copies joined at the end were a third copy of every vector
        # while the lists are retrained (the 1M benchmark peaked at 6.5 GB that way).
        total = len(self)
        ids = np.empty(total, dtype=np.int64)
        vecs = np.empty((total, self.dim), dtype=np.float32)
        inv, at = ivf.invlists, 0
        for lst in range(ivf.nlist):
            n = inv.list_size(lst)
            if n:
                ids[at:at + n] = self._faiss.rev_swig_ptr(inv.get_ids(lst), n)
                codes = self._faiss.rev_swig_ptr(inv.get_codes(lst), n * ivf.code_size)
                vecs[at:at + n] = codes.view(np.float32).reshape(n, self.dim)
                at += n
        return ids[:at], vecs[:at]

    def _rebuild_ivf(self) -> None:
        """Rebuild as IVF: train the coarse quantizer on (a sample of) the stored vectors, then
        add them all under their ids."""
        faiss = self._faiss
        ids, vecs = self.all_vectors()
        self.index = None  # free the old index first: peak memory is two copies, not three
        nlist = self.policy.lists_for(len(ids))
        rng = np.random.default_rng(0)
        sample = vecs if len(vecs) <= self.policy.train_max else \
            vecs[rng.choice(len(vecs), self.policy.train_max, replace=False)]
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(sample))
        index.add_with_ids(vecs, ids)
        index.own_fields = True
        quantizer.this.disown()  # the IVF index owns and frees its quantizer
        self.index = index
        self._set_nprobe()

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        ivf = self.ivf
        if ivf is None and len(self) > self.policy.exact_max:
            self._rebuild_ivf()
        elif ivf is not None and not self.policy.nlist and self.policy.lists_for(len(self)) >= 2 * ivf.nlist:
            # Lists trained for a quarter of today's vectors hold 4x as many each: train again.
            self._rebuild_ivf()

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
        ivf = self.ivf
        if ivf is None:
            return self._faiss.vector_to_array(self.index.id_map).astype(np.int64)
        inv = ivf.invlists
        parts = [self._faiss.rev_swig_ptr(inv.get_ids(lst), inv.list_size(lst)).copy()
                 for lst in range(ivf.nlist) if inv.list_size(lst)]
        return np.sort(np.concatenate(parts)).astype(np.int64)

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
