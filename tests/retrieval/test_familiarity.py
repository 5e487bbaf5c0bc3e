"""Questions worded unlike the library: how much of their wording it never uses, and the fusion
weight that follows from it (retrieval.familiarity, Ranker.weight_for)."""
from dataclasses import replace

from docsearch.config import ENCODER_MODEL, STATIC_MODEL, calibrated_fusion
from docsearch.engine import DocSearch
from docsearch.retrieval.familiarity import content_units, passages_holding, unknown_share, unknown_terms
from docsearch.retrieval.query import analyze
from helpers import settings_for

FAMILIAR = "美国制造业回流的主要来源地是哪里?"          # the source's own words
UNFAMILIAR = "新冠暴发那一年,美国工厂的产出缩水了多少?"   # 暴发, 缩水, 新冠 ... occur nowhere


def test_content_units_leave_question_words_out_and_keep_both_scripts():
    units = content_units(analyze("哪些國家的企業把工廠搬回美國?", 500))
    firsts = [u[0] for u in units]
    assert "企业" in firsts and "搬回" in firsts
    assert not any(w in firsts for w in ("哪些", "哪里"))


def test_passages_holding_counts_in_either_script(seed):
    assert passages_holding(seed.store, ["回流"]) == passages_holding(seed.store, ["迴流", "回流"]) > 3
    assert passages_holding(seed.store, ["养老金"]) == 0


def test_unknown_share_tells_reworded_questions_from_the_sources_wording(seed):
    familiar = unknown_share(seed.store, analyze(FAMILIAR, 500))
    unfamiliar = unknown_share(seed.store, analyze(UNFAMILIAR, 500))
    assert familiar < seed.settings.unfamiliar_share <= unfamiliar
    # The same question in the other script is as (un)familiar.
    assert unknown_share(seed.store, analyze("新冠暴發那一年,美國工廠的產出縮水了多少?", 500)) == unfamiliar


def test_unfamiliar_chinese_questions_take_their_own_weight(seed_index_dir):
    ds = DocSearch(replace(seed_settings(seed_index_dir), dense_weight=0.35, dense_weight_translated=0.6,
                           dense_weight_unfamiliar=0.9))
    try:
        assert ds.weight_for(analyze(FAMILIAR, 500)) == 0.35
        assert ds.weight_for(analyze(UNFAMILIAR, 500)) == 0.9
        # English takes the translated weight, however many of its words the library lacks.
        assert ds.weight_for(analyze("Why did pension funds in Japan collapse?", 500)) == 0.6
    finally:
        ds.close()


def test_a_model_calibrated_without_an_unfamiliar_weight_keeps_one_weight(seed_index_dir):
    # all-MiniLM-L6-v2 was calibrated before the unfamiliar weight existed.
    s = replace(seed_settings(seed_index_dir), model="all-MiniLM-L6-v2")
    assert "dense_weight_unfamiliar" not in calibrated_fusion("all-MiniLM-L6-v2")
    assert s.resolved_dense_weight_unfamiliar == s.resolved_dense_weight
    # The static model was tuned for it and found nothing above its Chinese weight.
    static = replace(seed_settings(seed_index_dir), model=STATIC_MODEL)
    assert static.resolved_dense_weight_unfamiliar == static.resolved_dense_weight


def test_search_ranks_each_question_with_the_weight_of_its_kind(seed_index_dir):
    ds = DocSearch(replace(seed_settings(seed_index_dir), dense_weight=0.35, dense_weight_unfamiliar=0.9))
    try:
        def ids(query, weight=None):
            return [r.passage_id for r in ds.search(query, k=8, dense_weight=weight).results]
        assert ids(UNFAMILIAR) == ids(UNFAMILIAR, 0.9) != ids(UNFAMILIAR, 0.35)
        assert ids(FAMILIAR) == ids(FAMILIAR, 0.35)
    finally:
        ds.close()


def seed_settings(index_dir):
    return settings_for(index_dir)


def test_the_encoder_was_calibrated_to_lean_on_meaning_for_unfamiliar_questions():
    fusion = calibrated_fusion(ENCODER_MODEL)
    assert fusion["dense_weight"] < fusion["dense_weight_unfamiliar"] <= 1.0


def test_unknown_terms_name_the_words_no_passage_holds_as_the_question_writes_them(seed):
    terms = unknown_terms(seed.store, analyze(UNFAMILIAR, 500))
    assert "暴发" in terms and "缩水" in terms and "美国" not in terms
    assert unknown_terms(seed.store, analyze("新冠暴發那一年,美國工廠的產出縮水了多少?", 500)) == terms
    # English words were translated, not searched as typed: nothing to name.
    assert unknown_terms(seed.store, analyze("Why did pension funds in Japan collapse?", 500)) == []


def test_search_and_ask_say_which_words_the_library_lacks_and_how_they_ranked(seed):
    unfamiliar, familiar = seed.ask(UNFAMILIAR).to_json(), seed.search(FAMILIAR).to_json()
    assert "缩水" in unfamiliar["not_in_library"] and unfamiliar["ranked_by_meaning"] is True
    assert familiar["ranked_by_meaning"] is False and "回流" not in familiar["not_in_library"]
    # The passage that answers, though the words differ: 2020年出现-4.5%的负增长.
    assert "-4.5%" in unfamiliar["answer"][0]["text"]
