"""The encoder's question-sentence similarity as answer-sentence evidence (retrieval.sentence_meaning,
retrieval.answer.chosen_sentence)."""

from docsearch.retrieval.answer import ScoredSentences, chosen_sentence, sentence_scores
from docsearch.retrieval.compose import passage_sentences
from docsearch.retrieval.query import analyze
from docsearch.responses import Result


def scored(*scores: float) -> ScoredSentences:
    return ScoredSentences([(i, i + 1) for i in range(len(scores))], ["句"] * len(scores), list(scores))


def test_without_cosines_the_lexical_score_decides():
    assert chosen_sentence(scored(1.0, 3.0, 2.0)) == 1
    assert chosen_sentence(scored(1.0, 3.0, 2.0), [0.9, 0.7, 0.8], 0.0) == 1
    assert chosen_sentence(scored(0.0, 0.0)) == 0          # nothing matches: the first sentence


def test_cosines_correct_a_close_lexical_call_but_not_a_clear_one():
    # 2.8 against 3.0 lexically (0.93 of the best); the second sentence is 0.05 nearer in meaning.
    assert chosen_sentence(scored(3.0, 2.8), [0.80, 0.85], 10.0) == 1
    # 1.0 against 3.0: the same cosine gap does not outweigh it.
    assert chosen_sentence(scored(3.0, 1.0), [0.80, 0.85], 10.0) == 0
    # Cosines that do not belong to these sentences are ignored.
    assert chosen_sentence(scored(3.0, 2.8), [0.80], 10.0) == 0


class NoEncoding:
    weight = 0.0

    def cosines(self, question, sentences):  # pragma: no cover - must not run
        raise AssertionError("a model without a weight encodes no sentence")


def test_a_model_without_a_weight_encodes_no_sentence():
    text = "美国制造业增加值年均增速1.8%。就业人数增加了80万。"
    r = Result(1, "a", "t", 1, 1, text, 1.0, "c", 1)
    [(_, choice)] = passage_sentences(analyze("就业人数增加了多少?", 100), [r], NoEncoding())
    assert "80万" in text[choice.start:choice.end]


def test_e5_puts_the_sentence_that_answers_an_english_question_nearest(seed):
    meaning = seed.sentence_meaning
    assert meaning.weight > 0                 # measured for the default encoder
    text = ("美国制造业增加值年均增速1.8%,高于国际金融危机前1.6%的平均增速水平。"
            "特朗普政府对中国超过3000亿美元的产品加征关税。"
            "台积电赴美设厂,要求其产业关联企业也赴美投资。")
    sentences = [s for s in text.split("。") if s]
    cos = meaning.cosines("Which Taiwanese chipmaker built a factory in the US?", sentences)
    assert max(range(3), key=lambda i: cos[i]) == 2
    cos = meaning.cosines("How fast did US manufacturing value added grow each year?", sentences)
    assert max(range(3), key=lambda i: cos[i]) == 0


def test_lexical_scores_cover_every_sentence():
    s = sentence_scores("增速是多少", "增速1.8%。关税加征。台积电设厂。")
    assert len(s.scores) == len(s.spans) == 3 and s.scores[0] == max(s.scores)


def test_tuning_the_fusion_weights_keeps_the_answer_weight(tmp_path, monkeypatch):
    from docsearch import config

    table = tmp_path / "fusion.json"
    table.write_text('{"m": {"dense_weight": 0.3, "answer_dense_weight": 10.0}}', encoding="utf-8")
    monkeypatch.setattr(config, "FUSION_FILE", table)
    config.store_calibration("m", {"dense_weight": 0.4, "tuned_at": "today"})
    assert config.calibrated_fusion("m") == {"dense_weight": 0.4, "answer_dense_weight": 10.0, "tuned_at": "today"}
    s = config.Settings(model="m")
    assert s.resolved_answer_dense_weight == 10.0
    assert config.Settings(model="m", answer_dense_weight=0.0).resolved_answer_dense_weight == 0.0
    assert config.Settings(model="other").resolved_answer_dense_weight == 0.0
