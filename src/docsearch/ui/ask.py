"""The Ask page: the question box, a start page when nothing is asked, the current answer and the
session's earlier questions as a thread (newest first)."""
from __future__ import annotations

import re
from typing import Any

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import QueryError
from docsearch.retrieval.filters import Filters
from docsearch.text.normalize import canonical, clean_query
from docsearch.text.segment import runs
from docsearch.ui.answer import show_answer
from docsearch.ui.export import library_summary, shorten
from docsearch.ui.filters import filter_box
from docsearch.ui.render import safe
from docsearch.ui.state import ask_this
from docsearch.ui.texts import EXAMPLES

_MARKUP = re.compile(r"<[^>]*>")
THREAD_LIMIT = 20  # answers kept per session (each holds its passages)


def question_problem(question: str, max_chars: int, t: dict) -> str | None:
    """Why a question should not be sent to the engine (too long, nothing to search), or None.
    Markup is not a question: `<script>` alone has nothing to search for."""
    cleaned = clean_query(question)
    if len(cleaned) > max_chars:
        return t["too_long"].format(n=max_chars, m=len(cleaned))
    if not runs(canonical(_MARKUP.sub(" ", cleaned))):
        return t["not_searchable"].format(example=EXAMPLES[0])
    return None


def page_ask(ds: DocSearch, t: dict, script: str) -> None:
    """The Ask page."""
    ss = st.session_state
    if "question" not in ss:  # the box's state goes when another page is shown
        ss["question"] = ss.get("asked", "")
    with st.form("ask"):
        st.text_input(t["question"], key="question")
        if st.form_submit_button(t["go"]):
            ss["asked"] = ss["question"].strip()
    filters = filter_box(ds, t)
    asked = ss.get("asked", "")
    if not asked:
        start_page(ds, t)
        return
    problem = question_problem(asked, ds.settings.max_query_chars, t)
    if problem:
        st.warning(problem)
        ss["asked"] = ""  # nothing of it goes into the URL
        return
    resp = _answer(ds, t, asked, filters)
    if resp is not None:
        show_answer(ds, t, script, resp)
    _thread(t, asked)


def _answer(ds: DocSearch, t: dict, question: str, filters: Filters | None = None) -> Any:
    """The answer from this session's thread, or asked now (then it becomes the newest)."""
    thread: list[dict] = st.session_state.setdefault("thread", [])
    for item in thread:
        if item["q"] == question and item.get("filters") == filters:
            thread.remove(item)
            thread.append(item)
            return item["resp"]
    try:
        # The first question of a process loads the model, jieba and OpenCC: say that it works.
        with st.spinner(t["thinking"]):
            resp = ds.ask(question, k=5, filters=filters)
    except QueryError as exc:
        st.warning(f"{t['query_error']}: {exc}")
        return None
    thread.append({"q": question, "resp": resp, "filters": filters})
    del thread[:-THREAD_LIMIT]
    return resp


def _thread(t: dict, current: str) -> None:
    """Earlier questions under the answer (newest first), and the whole list in the sidebar,
    the current question included."""
    thread = st.session_state.get("thread", [])
    earlier = [item for item in reversed(thread) if item["q"] != current]
    if earlier:
        st.subheader(t["thread"])
        for i, item in enumerate(earlier):
            with st.expander(shorten(item["q"], 80)):
                st.markdown("<br>".join(safe(a.text) for a in item["resp"].answer) or t["no_results"],
                            unsafe_allow_html=True)
                st.button(t["show_again"], key=f"again-{i}", on_click=ask_this, args=(item["q"],))
    if thread:
        box = st.sidebar.expander(t["history"], expanded=True)
        for i, item in enumerate(reversed(thread)):
            label = shorten(item["q"])
            if item["q"] == current:
                box.markdown(f"**▸ {safe(label)}**", unsafe_allow_html=True)
            else:
                box.button(label, key=f"hist-{i}", help=item["q"], on_click=ask_this, args=(item["q"],),
                           type="tertiary")


def start_page(ds: DocSearch, t: dict) -> None:
    """What the library holds and example questions that run on a click."""
    st.markdown(t["start_intro"])
    st.markdown(library_summary(ds.articles(), t, escape=safe), unsafe_allow_html=True)
    st.markdown(f"**{t['examples']}**")
    for i, q in enumerate(EXAMPLES):
        st.button(q, key=f"example-{i}", on_click=ask_this, args=(q,))
