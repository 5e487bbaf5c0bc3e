"""One answer on the page: sentences with [n] marks that jump to their passage, the passages with
their context, a way into the article at the cited paragraph, a citation to copy, and exports."""
from __future__ import annotations

from typing import Any

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.retrieval.compose import paragraph_at
from docsearch.text.normalize import convert_for_display
from docsearch.text.segment import STOP_UNIGRAMS
from docsearch.ui import export
from docsearch.ui.render import marked, safe
from docsearch.ui.state import go_read


def show_translations(resp: Any, t: dict) -> None:
    """What the question was understood as: English words' translations, the search terms, and
    the words the library never uses (with whether the ranking leaned on meaning for them)."""
    # One caption (one element, no gaps) for the translations and the terms.
    lines = [f"{t['translated']}: " + "; ".join(f"{safe(tr['english'])} → {' / '.join(map(safe, tr['chinese']))}"
                                               for tr in resp.translations)] if resp.translations else []
    lines.append(f"{t['understood']}: {safe(' '.join(resp.terms))}")
    wording = getattr(resp, "wording", None)
    if wording and wording.not_in_library:
        lines.append(f"{t['not_in_library']}: {safe(' '.join(wording.not_in_library))}"
                     + (f" ({t['by_meaning']})" if wording.by_meaning else ""))
    st.caption("  \n".join(lines), unsafe_allow_html=True)


def show_answer(ds: DocSearch, t: dict, script: str, resp: Any) -> None:
    """The current answer in full (only one per page: the passage anchors are cite-1, cite-2 …)."""
    show_translations(resp, t)
    if not resp.passages:
        st.info(t["no_results"])
        return
    nums = export.citation_numbers(resp)
    st.subheader(t["answer"])
    if not getattr(resp, "answered", True):
        # Below the calibrated confidence: say so, and offer the passages as related reading only.
        st.warning(export.declined_message(resp, t))
    else:
        # One block for all sentences: one element per sentence would put a gap between each.
        # Each sentence with its calibrated confidence: a researcher weighs a 0.55 answer differently.
        sentences = [f"{safe(convert_for_display(a.text, script))} <sup class=\"cite\">"
                     f"<a href=\"#cite-{nums[(a.article_id, a.passage_rank)]}\">"
                     f"[{nums[(a.article_id, a.passage_rank)]}]</a></sup>"
                     f' <span class="passage-meta">{export.confidence_label(t, a.confidence)}</span>'
                     for a in resp.answer]
        st.markdown("<br>".join(sentences), unsafe_allow_html=True)
    st.subheader(t["passages"] if getattr(resp, "answered", True) else t["related"])
    terms = highlight_terms(resp.terms + [alt for tr in resp.translations for alt in tr["chinese"]])
    arts = {a.id: a for a in ds.articles()}
    # A declined question's passages are related reading: no sentence of theirs is marked as
    # its answer (the words searched for still are).
    answered = getattr(resp, "answered", True)
    for r, sent, a, b in export.in_citation_order(resp):
        _passage(ds, t, script, r, (a, b), terms, nums[(r.article_id, r.rank)], arts.get(r.article_id), answered)
    _exports(t, resp, {aid: art.url for aid, art in arts.items() if art.url})


def highlight_terms(terms: list[str]) -> list[str]:
    """The terms to mark in passages: a single character that is part of a longer term (比 of 占比,
    split off by segmentation) would mark that character everywhere (出口比上年), so it goes; one
    that follows a number is its unit (2022 年) and is marked with it (2022年), not on its own in
    every year of the article; a single character searched for on its own (铜) stays, unless it
    is a function word (在, 的: marked in every sentence, they point at nothing)."""
    longer = [t for t in terms if len(t) > 1]
    out: list[str] = []
    for prev, term in zip([""] + terms, terms):
        if len(term) == 1 and prev[-1:].isdigit():
            out.append(prev + term)
        elif len(term) > 1 or not (term in STOP_UNIGRAMS or any(term in w for w in longer)):
            out.append(term)
    return list(dict.fromkeys(out))


def _passage(ds: DocSearch, t: dict, script: str, r: Any, answer_span: tuple[int, int], terms: list[str],
             n: int, art: Any, mark_answer: bool = True) -> None:
    a, b = answer_span
    meta = " · ".join(safe(x) for x in (r.source, r.date) if x)
    head = (f'<div id="cite-{n}" class="passage-head">[{n}] {safe(convert_for_display(r.title, script))} · '
            f'{export.paragraph_label(t, r.paragraph, r.paragraph_end)}'
            + (f' <span class="passage-meta">· {meta}</span>' if meta else "") + "</div>")
    if mark_answer:
        spans = [(a, b, "ans")] + [(x, y, "term") for x, y in ds.highlight_spans(r.text, terms) if y <= a or x >= b]
    else:
        spans = [(x, y, "term") for x, y in ds.highlight_spans(r.text, terms)]
    st.markdown(head + f'<div class="passage">{marked(r.text, spans, script)}</div>', unsafe_allow_html=True)
    left, mid, right = st.columns([3, 2, 3])
    # The reading view opens at the paragraph holding the highlighted sentence (a passage can
    # span several paragraphs).
    cited = paragraph_at(r, a)
    left.button(t["open"].format(n=cited), key=f"open-{n}", on_click=go_read,
                args=(r.article_id, cited), type="tertiary")
    with mid.popover(t["copy_citation"]):
        st.caption(t["citation_hint"])
        st.code(export.citation_text(t, r.title, r.source, r.date, r.paragraph, r.paragraph_end,
                                     art.url if art else ""), language=None, wrap_lines=True)
    with right.expander(t["context"]):
        shown = [f"<small>{t['paragraph'].format(n=num)}</small> {safe(convert_for_display(para, script))}"
                 for num, para in ds.article_paragraphs(r.article_id)
                 if r.paragraph - 1 <= num <= r.paragraph_end + 1 and para.strip()]
        st.markdown("<br>".join(shown), unsafe_allow_html=True)


def _exports(t: dict, resp: Any, urls: dict[str, str]) -> None:
    st.markdown(f"**{t['export']}**")
    c1, c2, c3 = st.columns(3)
    c1.download_button(t["export_md"], export.answer_markdown(resp, t, urls), file_name="answer.md",
                       mime="text/markdown", key="export_md", on_click="ignore")
    c2.download_button(t["export_csv"], export.results_csv(resp), file_name="results.csv", mime="text/csv",
                       key="export_csv", on_click="ignore")
    c3.download_button(t["export_json"], export.results_json(resp), file_name="results.json",
                       mime="application/json", key="export_json", on_click="ignore")
