"""The answer confidence: what `ask` declines, the JSON it writes, and the calibration tool."""
from __future__ import annotations

import json

import numpy as np

from docsearch.config import ENCODER_MODEL, STATIC_MODEL
from docsearch.retrieval.confidence import (FEATURES, LEXICAL, MODEL_FEATURES, NOT_PLACED, TOPICAL_FEATURES,
                                            ConfidenceModel, Evidence, Placement, load_params, specific_terms)
from docsearch.retrieval import topicality
from docsearch.retrieval.familiarity import content_units
from docsearch.retrieval.query import analyze
from docsearch.tools import calibrate_abstain as cal
from helpers import DATA, REPO


def test_the_shipped_models_were_fitted_and_measured():
    for model in (ENCODER_MODEL, STATIC_MODEL, None):
        params = load_params(model)
        assert len(params["weights"]) == len(params["features"]) and 0 < params["threshold"] < 1
        assert set(params["features"]) <= set(TOPICAL_FEATURES)
        test = params["test"]
        # What the fitted model measured on the held-out split when it was written (see README).
        assert test["answerable"] > 0 and test["unanswerable"] > 0
        assert test["answerable_declined"] <= 0.05 * test["answerable"]
    # The default encoder has a topicality gate (its questions' contrast is measured); a model
    # never calibrated gets the lexical entry.
    assert "gate" in load_params(ENCODER_MODEL) and load_params(ENCODER_MODEL)["features"] == list(MODEL_FEATURES)
    assert load_params(None)["features"] == list(FEATURES)    # no model: nothing measured by one
    assert load_params("some/hub-model") == load_params(None) == load_params(LEXICAL)


def test_a_question_on_another_subject_is_declined_as_off_topic(seed):
    """Off-topic questions share words with the library (美国, 怎么) yet sit nearer generic text."""
    model = seed.confidence
    cut = model.params["off_topic_below"]
    assert model.params["gate"] <= cut
    for question in ("红烧肉怎么做才能肥而不腻?", "珍珠奶茶的粉圓要怎麼煮才會Q彈?", "How do I tune a guitar to drop D?"):
        assert model.placement(analyze(question, 200)).contrast < cut, question
        out = seed.ask(question, k=3).to_json()
        assert out["answered"] is False and out["off_topic"] is True and out["passages"]
    for question in ("美国制造业回流的主要来源地是哪里?", "Which countries did reshoring companies come from?"):
        assert model.placement(analyze(question, 200)).contrast > cut, question
        assert seed.ask(question, k=3).to_json()["off_topic"] is False


def test_a_question_on_the_librarys_field_but_not_its_subject_sits_nearer_the_background(seed):
    """Taxes and interest rates are economic policy, as the library is, yet it says nothing about
    them: the background's policy texts (UN) sit nearer such a question than any passage does."""
    model = seed.confidence
    for question in ("中国个人所得税的起征点是多少?", "美联储如何决定利率?"):
        assert model.placement(analyze(question, 200)).contrast < 0, question


def test_the_placement_is_the_gates_search_and_the_evidence_carries_it(seed):
    """The nearest passage's cosine is the one the gate's contrast starts from; English questions
    are marked, because their tower scores lower throughout."""
    model = seed.confidence
    q = analyze("美国制造业回流的主要来源地是哪里?", 200)
    place = model.placement(q)
    vector = seed.embedder.encode_query(q.text)
    assert place.nearest == seed.vectors.search(vector, 1)[0][1]
    assert place.contrast == topicality.contrast(vector, place.nearest, seed.embedder) and place.nearest > place.contrast
    passage = "美国制造业回流的主要来源地是中国。"
    ev = model.evidence(q, passage, passage, place)
    assert (ev.nearest, ev.contrast, ev.english) == (place.nearest, place.contrast, 0.0)
    english = analyze("Which countries did reshoring companies come from?", 200)
    assert model.evidence(english, passage, passage).english == 1.0
    assert model.evidence(q, passage, passage) == model.evidence(q, passage, passage, NOT_PLACED)
    # A model whose entry uses neither the gate nor the placement never encodes the question.
    lexical = ConfidenceModel(seed.library, params=load_params(None))
    assert lexical.placement(q) == Placement() == NOT_PLACED


def test_a_near_topic_question_far_from_every_passage_is_declined(seed):
    """On the library's field, above the gate, sharing words with a passage (2022, 美国), yet
    further from every passage than an answerable question: the nearest passage declines it."""
    for question in ("欧洲央行为什么在2022年开始加息?", "How does the EU Emissions Trading System set the price of carbon?"):
        out = seed.ask(question, k=5).to_json()
        assert out["answered"] is False and out["off_topic"] is False, question


def test_a_question_the_library_cannot_answer_is_declined(seed):
    resp = seed.ask("日本的养老金制度如何运作?", k=3)
    out = resp.to_json()
    assert out["answered"] is False and out["answer"] == [] and out["passages"]   # related reading stays
    assert 0 <= out["confidence"] < seed.confidence.threshold


def test_an_answered_question_carries_confidences(seed):
    out = seed.ask("美国制造业回流的主要来源地是哪里?", k=3).to_json()
    assert out["answered"] is True and out["answer"] and out["off_topic"] is False
    assert all(seed.confidence.threshold <= a["confidence"] <= 1 for a in out["answer"])
    assert out["confidence"] == out["answer"][0]["confidence"]


def test_evidence_counts_missing_specific_terms(seed):
    model = ConfidenceModel(seed.library)
    q = analyze("2031年台积电在熊本的工厂雇用了多少人?", 200)
    passage = "美国制造业增加值在2021年增长了4.2%。"
    ev = model.evidence(q, passage, passage)
    assert ev.missing >= 1 and 0 <= ev.coverage_sentence <= ev.coverage_passage + 1e-9 <= 1
    assert ev.missing_number == 1            # 2031 (the year), apart from the names
    holding = "2031年台積電在熊本的工廠雇用了三千人。"
    assert model.evidence(q, holding, holding).missing == 0   # found in either script
    q = analyze("What share of US imports came from China in 2022?", 200)
    assert any("进口" in f for forms in content_units(q) for f in forms)
    # Acronyms no dictionary translates are names that can only match as written.
    q = analyze("In which year did the USMCA replace NAFTA?", 200)
    assert {"usmca", "nafta"} <= {forms[0] for forms in specific_terms(q)}
    assert model.evidence(q, passage, passage).missing >= 2


def test_a_sentence_without_the_kind_of_answer_asked_for_is_marked():
    from docsearch.retrieval.answer import holds_expected_type as answer_type_held

    assert answer_type_held("现代汽车工厂的年产能是多少辆?", "工厂年产能30万辆。")
    assert not answer_type_held("现代汽车工厂的年产能是多少辆?", "州政府提供了18亿美元的补贴。")
    assert not answer_type_held("14017号行政令是哪一年签署的?", "拜登政府发布了行政令。")
    assert answer_type_held("美国为什么推动制造业回流?", "因为供应链风险。")


def test_an_uncalibrated_model_declines_nothing(seed):
    model = ConfidenceModel(seed.library, params={})
    assert model.confidence(Evidence(5, 0, 0, 1, contrast=-1.0)) == 1.0


def test_the_gate_declines_below_it_whatever_the_words(seed):
    params = {"features": list(TOPICAL_FEATURES), "weights": [0.0] * len(TOPICAL_FEATURES), "bias": 5.0,
              "threshold": 0.5, "gate": -0.01}
    model = ConfidenceModel(seed.library, params=params)
    assert model.confidence(Evidence(0, 1, 1, 0, contrast=-0.02)) == 0.0
    assert model.confidence(Evidence(0, 1, 1, 0, contrast=0.0)) > 0.99


def test_logistic_fit_separates_what_is_separable():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1, 0.3, (60, 2)), rng.normal(-1, 0.3, (20, 2))])
    y = np.array([1] * 60 + [0] * 20)
    w, b = cal.fit_logistic(x, y)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    assert (p[:60] > 0.5).mean() > 0.95 and (p[60:] < 0.5).mean() > 0.95


def test_logistic_fit_weighs_a_narrow_feature_like_a_wide_one():
    """Standardised for the fit: a feature spanning 0.05 separates as well scaled as not."""
    rng = np.random.default_rng(1)
    signal = np.r_[rng.normal(1, 0.3, 60), rng.normal(-1, 0.3, 20)]
    noise = rng.normal(0, 3, 80)
    y = np.array([1] * 60 + [0] * 20)
    for scale in (1.0, 0.02):
        w, b = cal.fit_logistic(np.c_[signal * scale, noise], y)
        p = 1 / (1 + np.exp(-(np.c_[signal * scale, noise] @ w + b)))
        assert (p[:60] > 0.5).mean() > 0.9 and (p[60:] < 0.5).mean() > 0.9, scale


def test_calibration_writes_threshold_and_held_out_rates(seed, tmp_path):
    rows = [json.loads(x) for x in (DATA / "abstain_qa.jsonl").read_text(encoding="utf-8").splitlines()][::4]
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    seed.confidence.params = {}
    try:
        fitted = cal.calibrate(seed, [small], 0.05, log=lambda m: None)
    finally:
        seed.confidence.params = None    # back to the shipped entry of the library's model
    entry = fitted["entry"]
    assert fitted["model"] == ENCODER_MODEL and fitted["lexical"]["features"] == list(FEATURES)
    topical = cal.fit_entry(cal.read_rows([small]), [np.asarray(cal.candidate_evidence(seed, ConfidenceModel(
        seed.library, params={}), r["q"])) for r in cal.read_rows([small])], MODEL_FEATURES, 0.05, 0.0)
    assert topical["features"] == list(MODEL_FEATURES) and topical["gate"] <= topical["off_topic_below"]
    assert set(entry["test"]) >= {"answerable_declined", "unanswerable_declined", "decline_precision"}
    n_test = sum(1 for r in rows if r["split"] == "test")
    assert entry["test"]["answerable"] + entry["test"]["unanswerable"] == n_test
    assert entry["calibration"]["answerable_declined"] <= 0.05 * entry["calibration"]["answerable"]
    assert cal.default_data(REPO)[0].name == "abstain_qa.jsonl"
    # Written beside the other models' entries, not over them.
    path = tmp_path / "abstain.json"
    path.write_text(json.dumps({"models": {"other": {"weights": [1.0]}}, LEXICAL: {"weights": [2.0]}}), encoding="utf-8")
    cal.write_params(fitted, path)
    table = json.loads(path.read_text(encoding="utf-8"))
    assert set(table["models"]) == {"other", ENCODER_MODEL} and table[LEXICAL]["features"] == fitted["lexical"]["features"]
    assert load_params("other", path) == {"weights": [1.0]} and load_params("unknown", path) == table[LEXICAL]


def test_the_calibration_sets_are_consistent():
    """Every question set `calibrate-abstain` reads: unique ids, both halves of every kind, and
    each answerable row's gold text inside the paragraph it names (t2s, as the sets are written)."""
    from docsearch.ingest import article_from_text
    from docsearch.text.chunk import paragraphs as numbered_paragraphs
    from docsearch.text.normalize import converter

    t2s = converter("t2s")
    paragraphs = {}
    for path in sorted((REPO / "corpus").glob("*.md")):
        art = article_from_text(path.read_text(encoding="utf-8"), path.name)
        # Numbered as the product numbers them (the rows' `paragraph.n`).
        paragraphs[art.id] = [t2s.convert(art.text[p.start:p.end]) for p in numbered_paragraphs(art.text)]
    seen = set()
    for path in (DATA / n for n in ("abstain_qa.jsonl", "abstain_extra_qa.jsonl", "abstain_near_qa.jsonl")):
        rows = cal.read_rows([path])
        assert {r["split"] for r in rows} == {"calib", "test"}, path.name
        for r in rows:
            assert r["id"] not in seen and r["q"].strip(), r["id"]
            seen.add(r["id"])
            if r["answerable"] and r.get("paragraph"):
                text = paragraphs[r["paragraph"]["article"]][r["paragraph"]["n"] - 1]
                assert any(g in text for g in r["gold"]), r["id"]
    near = cal.read_rows([DATA / "abstain_near_qa.jsonl"])
    assert sum(1 for r in near if r["topic"] == "near" and not r["answerable"]) == 60
