"""The English -> Traditional Chinese sentence set (issue 15): deterministic, Traditional, apart from
the Tatoeba background lines, and measured through the real engine on a small sample."""
import random
from dataclasses import replace
from functools import partial

import pytest

from docsearch.config import STATIC_MODEL, Settings
from docsearch.text.normalize import converter
from docsearch.tools import sentence_retrieval as sr
from docsearch.tools.evaluate import build_index, rank_lists
from docsearch.tools.ranks import metrics, ranks_for

from helpers import BENCH, SHARED, needs_bench

TRAIN = SHARED / "train"
pytestmark = pytest.mark.skipif(not sr.available(TRAIN), reason="../shared/train is not beside the repo")


def simplified_only(ch: str) -> bool:
    """A character OpenCC would make Traditional and Big5 (Traditional) cannot write: 发, 为, 这.
    (Running s2twp twice is no check: it rewrites Traditional text, 程序 -> 程式, 了 -> 瞭.)"""
    if converter("s2t").convert(ch) == ch:
        return False
    try:
        ch.encode("big5")
    except UnicodeEncodeError:
        return True
    return False


def test_the_sample_is_deterministic_and_a_smaller_one_is_its_prefix():
    a, b = sr.build_set(TRAIN, 40), sr.build_set(TRAIN, 40)
    assert a == b
    assert [p.source for p in a] == ["un"] * 40 + ["tatoeba"] * 40
    small = sr.build_set(TRAIN, 10)
    assert small == a[:10] + a[40:50]


def test_a_changed_sample_is_a_different_library():
    # benchmark indexes are cached by corpus name (and only the first text): one changed
    # sentence must not reuse the old index, whose ids would point at other sentences
    pairs = sr.build_set(TRAIN, 5)
    changed = pairs[:-1] + [replace(pairs[-1], zh=pairs[-1].zh + "。")]
    assert sr.as_corpus(pairs).name == sr.as_corpus(list(pairs)).name
    assert sr.as_corpus(pairs).name != sr.as_corpus(changed).name


def test_the_sample_depends_on_the_text_not_the_file_order():
    pairs = sr.read_tatoeba(TRAIN)[:3000]
    shuffled = pairs[:]
    random.Random(7).shuffle(shuffled)
    assert sr.sample_pairs(pairs, "tatoeba", 30) == sr.sample_pairs(shuffled, "tatoeba", 30)


def test_the_sample_is_traditional_long_enough_and_without_repeats():
    pairs = sr.build_set(TRAIN, 300)
    assert len(pairs) == 600
    assert not [p.zh for p in pairs if any(simplified_only(c) for c in p.zh)]
    # The sources are Simplified: the check above has something to catch.
    assert any(simplified_only(c) for en, zh in sr.read_un(TRAIN)[:50] for c in zh)
    assert all(sum(map(sr.is_han, p.zh)) >= sr.MIN_ZH_CHARS for p in pairs)
    assert len({p.zh for p in pairs}) == len({p.en.lower() for p in pairs}) == len(pairs)
    assert len({p.id for p in pairs}) == len(pairs)


def test_background_lines_and_their_sentences_are_left_out():
    every = sr.read_tatoeba(TRAIN, keep_background=True)
    assert len(every) > 29000                                  # the untabbed lines are skipped
    assert every[0][0] == "Hi." and not every[0][0].startswith("\ufeff")   # the BOM is read as such
    background = [p for i, p in enumerate(every) if i % 19 == 0]
    kept = sr.read_tatoeba(TRAIN)
    assert len(kept) <= len(every) - len(background)
    bg_en, bg_zh = {en for en, _ in background}, {zh for _, zh in background}
    assert not [p for p in kept if p[0] in bg_en or p[1] in bg_zh]
    s2twp = converter("s2twp")
    sample = [p for p in sr.build_set(TRAIN, 400) if p.source == "tatoeba"]
    bg_trad = {s2twp.convert(zh) for zh in bg_zh}
    assert not [p for p in sample if p.en in bg_en or p.zh in bg_trad]


def test_a_small_sample_measures_sensibly_through_the_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSEARCH_CACHE_DIR", str(tmp_path / "cache"))
    # The static model: the encoder's ~30 s for this sample belongs in `docsearch eval`.
    settings = Settings(index_dir=tmp_path / "ix", model=STATIC_MODEL)
    res = sr.measure(TRAIN, settings, build_index, rank_lists, per_source=20, misses=50)
    figs = res["figures"]
    assert set(figs) == {sr.GROUP, f"{sr.GROUP}:un", f"{sr.GROUP}:tatoeba"}
    assert figs[sr.GROUP]["hybrid"]["n"] == 40 and figs[f"{sr.GROUP}:un"]["hybrid"]["n"] == 20
    for label, modes in figs.items():
        for mode, m in modes.items():
            assert 0.0 <= m["R@1"] <= m["R@5"] <= m["R@10"] <= 1.0, (label, mode)
    # 40 unrelated sentences: a working engine finds nearly every one; a broken side finds ~1/40.
    assert figs[sr.GROUP]["hybrid"]["R@1"] >= 0.8
    assert figs[sr.GROUP]["keyword"]["R@5"] >= 0.7
    assert figs[sr.GROUP]["dense"]["R@5"] >= 0.7
    # The misses listed are exactly the hybrid questions not at rank 1.
    assert len(res["misses"]) == round(40 * (1 - figs[sr.GROUP]["hybrid"]["R@1"]))
    assert all(m["rank"] != 1 and m["gold"] != m["top"] for m in res["misses"])
    # The same figures as `docsearch eval` computes from the groups it is given (index cached).
    groups, note = sr.sentence_groups(TRAIN, settings, build_index, rank_lists, per_source=20)
    assert "20 UN + 20 Tatoeba" in note
    w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
    for label, lists, qs, rel in groups:
        for mode in ("keyword", "dense", "hybrid"):
            m = metrics(ranks_for(lists, qs, rel, w, mode, w_en))
            assert (m["R@1"], m["R@5"], m["n"]) == tuple(figs[label][mode][k] for k in ("R@1", "R@5", "n"))


def test_without_the_training_folder_the_group_is_skipped_with_a_note(tmp_path):
    def never(*args, **kwargs):
        raise AssertionError("nothing is indexed without the sentences")

    groups, note = sr.sentence_groups(tmp_path / "no-train", Settings(index_dir=tmp_path / "ix"), never, never)
    assert groups == [] and "skipped" in note


@needs_bench()
@pytest.mark.slow
@pytest.mark.parametrize("with_train", [True, False])
def test_eval_reports_the_group_or_notes_its_absence(tmp_path, tmp_path_factory, monkeypatch, with_train):
    from docsearch.tools import evaluate as evaluate_module

    # one cache for both runs: the benchmark indexes are built once
    monkeypatch.setenv("DOCSEARCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "eval-cache"))
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "bench").symlink_to(BENCH)
    if with_train:
        (shared / "train").symlink_to(TRAIN)
    monkeypatch.setattr(evaluate_module, "sentence_groups", partial(sr.sentence_groups, per_source=30))
    res = evaluate_module.evaluate(replace(Settings(index_dir=tmp_path / "ix"), model=STATIC_MODEL), shared / "bench",
                   sample=20, log=lambda m: None)
    assert (sr.GROUP in res["figures"]) is with_train
    assert ("skipped" in res["notes"][0]) is not with_train
    if with_train:
        assert res["figures"][sr.GROUP]["hybrid"]["n"] == 3   # 60 questions, every 20th
