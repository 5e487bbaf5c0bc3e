"""The background set that tells a question on another subject from one on the library's."""
from __future__ import annotations

import numpy as np
import pytest

from docsearch.config import ENCODER_MODEL, STATIC_MODEL
from docsearch.models.embedding import embedder_for
from docsearch.retrieval import topicality


def test_the_background_is_generic_text_with_its_origins():
    texts = topicality.background_texts()
    assert len(texts) > 2000 and all(t and "\t" not in t and "\n" not in t for t in texts)
    import gzip

    with gzip.open(topicality.BACKGROUND_TEXTS, "rt", encoding="utf-8") as f:
        origins = {line.rstrip("\n").split("\t")[1].split(",")[0] for line in f}
    assert origins == {"CMRC 2018 test", "Tatoeba", "PAWS-X (Google LLC)",
                       "UN Parallel Corpus v1.0 (Ziemski et al. LREC 2016)"}


def test_the_shipped_vectors_are_the_default_encoders_for_these_texts():
    emb = embedder_for(ENCODER_MODEL)
    texts = topicality.background_texts()
    path = topicality.shipped_vectors_path(ENCODER_MODEL)
    shipped = topicality._read(path, emb.identity, topicality._digest(texts))
    assert shipped is not None and shipped.shape == (len(texts), emb.dim)
    # They are what the encoder gives now (float16 on disk).
    fresh = emb.encode(list(texts[:3]) + list(texts[-3:]))
    assert np.allclose(np.r_[shipped[:3], shipped[-3:]], fresh, atol=2e-3)


def test_another_models_vectors_are_computed_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSEARCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(topicality, "_vectors", {})
    emb = embedder_for(STATIC_MODEL)
    first = topicality.background_vectors(emb)
    cached = list((tmp_path / "background").glob("*.npz"))
    assert len(cached) == 1 and first.shape == (len(topicality.background_texts()), emb.dim)
    monkeypatch.setattr(topicality, "_vectors", {})
    monkeypatch.setattr(emb, "encode", lambda texts: pytest.fail("read from the cache, not computed again"))
    assert np.allclose(topicality.background_vectors(emb), first, atol=1e-3)


def test_vectors_made_for_other_texts_are_not_used(tmp_path):
    path = tmp_path / "v.npz"
    topicality._write(path, np.ones((2, 3), np.float32), "m|dim=3", "abc")
    assert topicality._read(path, "m|dim=3", "abc") is not None
    assert topicality._read(path, "m|dim=3", "other texts") is None
    assert topicality._read(path, "n|dim=3", "abc") is None
    assert topicality._read(tmp_path / "absent.npz", "m|dim=3", "abc") is None


def test_contrast_is_library_best_minus_background_best():
    emb = embedder_for(ENCODER_MODEL)
    v = emb.encode_query("红烧肉怎么做")
    best_background = float((topicality.background_vectors(emb) @ v).max())
    assert topicality.contrast(v, 0.9, emb) == pytest.approx(0.9 - best_background)


def test_a_query_vector_is_encoded_once_and_shared_read_only():
    emb = embedder_for(ENCODER_MODEL)
    a = emb.encode_query("美国制造业回流")
    assert emb.encode_query("美國製造業回流") is a          # one canonical form, one vector
    with pytest.raises(ValueError):
        a[0] = 1.0
