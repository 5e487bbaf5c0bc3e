"""Property-based fuzzing: any query is safe through the facade, and any file given to `add` is
either added or refused with a message naming it, never an exception, never a broken index."""
import io
import os

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from docsearch.engine import DocSearch
from docsearch.errors import QueryError
from docsearch.responses import REFUSAL_CODES

from helpers import settings_for
from helpers import minimal_pdf

FUZZ_EXAMPLES = int(os.environ.get("DOCSEARCH_FUZZ_EXAMPLES", "120"))
SYNTAX = ["AND", "OR", "NOT", '"', "*", "^", "NEAR(", "(", ")", ":", "{words grams}:", "C++", "a:b", "-", "+",
          "😀", "👩‍👩‍👧", "\x00", "\x07", "\x1b[31m", "\u200b", "\ufeff", "\u202e", "\ud800", "芯片", "晶片", "歐巴馬",
          "reshoring", "CHIPS Act", "14.3%", " ", "\n", "\t", "'", "\\", "--", "/*", "%", "_", "。", "?"]

# Any Unicode, lone surrogates included (argv can carry them), with FTS5 syntax mixed in.
any_char = st.characters(codec=None, categories=None)
queries = st.one_of(
    st.text(any_char, max_size=120),
    st.lists(st.one_of(st.sampled_from(SYNTAX), st.text(any_char, max_size=4)), max_size=25).map("".join),
    st.text(st.sampled_from("美国制造业回流芯片晶片供應鏈韌性 the US imports?!\"*:"), max_size=80),
)


def _answered(run, q):
    """The response, or None when the query was refused with a message."""
    try:
        return run(q)
    except QueryError as exc:
        assert str(exc)
        return None


def _check_result(seed, r) -> None:
    assert r.text and seed.article_text(r.article_id)[r.start:r.end] == r.text


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(queries)
def test_any_search_query_is_answered_or_refused_cleanly(seed, q):
    resp = _answered(lambda x: seed.search(x, k=5), q)
    if resp is None:
        return
    assert [r.rank for r in resp.results] == list(range(1, len(resp.results) + 1))
    for r in resp.results:
        _check_result(seed, r)


@settings(max_examples=FUZZ_EXAMPLES // 2, deadline=None)
@given(queries)
def test_any_question_is_answered_or_refused_cleanly(seed, q):
    resp = _answered(lambda x: seed.ask(x, k=3), q)
    if resp is None:
        return
    for r, sent, a, b in resp.passages:
        _check_result(seed, r)
        assert 0 <= a <= b <= len(r.text) and r.text[a:b] == sent
    for s in resp.answer:
        assert seed.article_text(s.article_id)[s.start:s.end] == s.text


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(queries)
def test_any_keyword_lookup_is_exact_or_refused_cleanly(seed, q):
    resp = _answered(seed.lookup, q)
    if resp is None:
        return
    for h in resp.results:
        assert h.matches and all(0 <= a < b <= len(h.text) for a, b in h.matches)


@pytest.mark.parametrize("q", ["字" * 100_000, "supply chain " * 8_000, ("芯片😀\x07AND\"" * 20_000)[:100_000],
                               " \t\n" * 30_000])
def test_100_kb_queries(seed, q):
    for run in (seed.search, seed.ask, seed.lookup):
        _answered(run, q)


# -- ingestion ----------------------------------------------------------------------------------
def _docx_bytes() -> bytes:
    import docx
    d = docx.Document()
    d.core_properties.title = "模糊測試"
    d.add_paragraph("美國推動友岸外包,越南與印度承接產能。")
    d.add_paragraph("第二段:墨西哥的工業地產供不應求。")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


DOCX = _docx_bytes()
PDF = minimal_pdf(["Reshoring of US manufacturing", "accelerated after 2020."])
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030", "big5", "latin-1"]


@st.composite
def damaged(draw, base: bytes) -> bytes:
    """A real document with some bytes changed, cut short or spliced."""
    data = bytearray(base)
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    return bytes(data)


@st.composite
def encoded_text(draw) -> bytes:
    text = draw(st.text(st.characters(codec="utf-8"), max_size=400)
                | st.text(st.sampled_from("供应链韧性美國製造業回流芯片 abc,。\n\r\t"), max_size=300))
    if draw(st.booleans()):
        text = "<html><head><title>t</title></head><body><article><p>" + text + "</p></article></body></html>"
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="ignore")


SUFFIXES = [".txt", ".md", ".html", ".docx", ".pdf", ".jsonl"]
files = st.one_of(
    st.tuples(st.sampled_from(SUFFIXES), st.one_of(st.binary(max_size=3000), encoded_text(), damaged(DOCX), damaged(PDF))),
    st.tuples(st.sampled_from([".txt", ".md", ".html"]), encoded_text()),
    st.tuples(st.just(".docx"), damaged(DOCX)),
    st.tuples(st.just(".pdf"), damaged(PDF)),
)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("empty-corpus")
    ds = DocSearch(settings_for(tmp_path_factory.mktemp("fuzz-ix"), corpus_dir=corpus, max_file_bytes=100_000))
    ds.ensure_ready()
    yield ds
    ds.close()


@settings(max_examples=FUZZ_EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files)
def test_any_file_is_added_or_refused_with_its_name_and_the_index_stays_sound(library, tmp_path_factory, file):
    suffix, data = file
    path = tmp_path_factory.mktemp("in") / f"fuzzed{suffix}"
    path.write_bytes(data)
    n_before = len(library.articles())
    report = library.add_paths([path])  # any exception here fails the test
    assert len(report.added) + len(report.duplicates) + len(report.refused) >= 1
    event(f"{suffix}: " + ("added" if report.added else "duplicate" if report.duplicates else "refused"))
    for what, reason, code in report.refused:
        assert reason and ("fuzzed" in what or "fuzzed" in reason)
        assert code in REFUSAL_CODES  # every refusal has a reason the app can translate
    assert len(library.articles()) == n_before + len(report.added)
    for aid in report.added:
        assert library.article_text(aid).strip()
    assert library.verify() == []
