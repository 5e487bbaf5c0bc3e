"""Dense vectors of a Milvus library: one collection per library, passage id -> vector."""
from __future__ import annotations

from typing import Any

import numpy as np

from docsearch.errors import BackendError
from docsearch.storage.milvus.connection import BATCH, QUERY_WINDOW, Collections, pymilvus_module, reason_of


# Build parameters per dense index type. HNSW (servers only: Milvus Lite refuses it) with the
# common M=16, efConstruction=200; not measured here, as no server could run on these machines.
BUILD_PARAMS = {"IVF_FLAT": {"nlist": 128}, "HNSW": {"M": 16, "efConstruction": 200}}


class MilvusVectors:
    """`storage.base.VectorIndex` on a Milvus collection: passage id -> vector, inner product."""

    def __init__(self, client, collections: Collections, dim: int, index_type: str):
        pm = pymilvus_module()
        self.client = client
        # Vectors added wait for save() (as FAISS's do): one upsert per add call, not per article.
        self._pending: list[dict] = []
        self.dim = int(dim)
        self.index_type = index_type.upper()
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", pm.DataType.INT64, is_primary=True)
        s.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=self.dim)
        ip = client.prepare_index_params()
        ip.add_index("vector", index_type=self.index_type, metric_type="IP",
                     params=BUILD_PARAMS.get(self.index_type, {}))
        try:
            self.name = collections.ensure("vectors", s, ip)
        except pm.exceptions.MilvusException as exc:  # e.g. HNSW on Milvus Lite
            raise BackendError(f"cannot create the vector index {self.index_type} "
                               f"(milvus_index_type): {reason_of(exc)}") from exc
        have = self._dim_of_collection()
        if have != self.dim:
            raise BackendError(f"Milvus collection {self.name} holds {have}-dimensional vectors, "
                               f"the model gives {self.dim}")

    def _dim_of_collection(self) -> int:
        for f in self.client.describe_collection(self.name)["fields"]:
            if f["name"] == "vector":
                return int(f["params"]["dim"])
        return 0

    def __len__(self) -> int:
        self._write_pending()
        res = self.client.query(self.name, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"]) if res else 0

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        self._pending.extend({"id": int(i), "vector": v.tolist()} for i, v in zip(ids, vectors))
        if len(self._pending) >= 10 * BATCH:
            self._write_pending()

    def _write_pending(self) -> None:
        rows, self._pending = self._pending, []
        for i in range(0, len(rows), BATCH):
            self.client.upsert(self.name, rows[i:i + BATCH])

    def remove(self, ids: list[int]) -> None:
        self._write_pending()
        ids = [int(i) for i in ids]
        for i in range(0, len(ids), BATCH):
            self.client.delete(self.name, ids=ids[i:i + BATCH])

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        self._write_pending()
        params: dict[str, Any] = {"metric_type": "IP"}
        if self.index_type == "IVF_FLAT":
            params["params"] = {"nprobe": 32}
        elif self.index_type == "HNSW":
            params["params"] = {"ef": max(64, k)}  # ef below k would return fewer than k
        res = self.client.search(self.name, data=[np.asarray(vector, dtype=np.float32).reshape(-1).tolist()],
                                 anns_field="vector", limit=min(k, QUERY_WINDOW), search_params=params,
                                 output_fields=[])
        return [(int(h["id"]), float(h["distance"])) for h in res[0]]

    def ids(self) -> np.ndarray:
        self._write_pending()
        it = self.client.query_iterator(self.name, batch_size=BATCH, filter="", output_fields=["id"])
        out: list[int] = []
        try:
            while batch := it.next():
                out.extend(int(r["id"]) for r in batch)
        finally:
            it.close()
        return np.asarray(sorted(out), dtype=np.int64)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything stored (the scale benchmark's exact baseline)."""
        self._write_pending()
        it = self.client.query_iterator(self.name, batch_size=BATCH, filter="", output_fields=["id", "vector"])
        ids: list[int] = []
        vecs: list[list[float]] = []
        try:
            while batch := it.next():
                ids.extend(int(r["id"]) for r in batch)
                vecs.extend(r["vector"] for r in batch)
        finally:
            it.close()
        return np.asarray(ids, dtype=np.int64), np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)

    def save(self) -> None:
        self._write_pending()

    def describe(self) -> dict:
        return {"type": f"milvus:{self.index_type.lower()}", "ntotal": len(self)}
