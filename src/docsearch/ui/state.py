"""What the URL says and what the session holds, kept in step.

The URL carries every setting (lang, script, page) and what a page shows (q, kw, article, p), so
a reloaded or shared link opens the same view. Within a session, moving between pages goes
through widget callbacks (no page reload), so the question thread in session_state survives
reading an article. URL values are checked once, when a session starts: a bad one becomes a
message in the interface language, never an exception and never a silent substitute.
"""
from __future__ import annotations

import streamlit as st

from docsearch.ui.texts import LANGS, PAGES, SCRIPTS

# URL parameters each page keeps (besides lang, script and page).
PAGE_PARAMS = {"ask": ("q",), "lookup": ("kw",), "read": ("article", "p"), "library": ()}


def start_session() -> None:
    """On a session's first run: settings and page content from the URL, with the problems
    found kept in session_state['url_problems'] as (text key, value) pairs."""
    ss = st.session_state
    if ss.get("_started"):
        return
    ss["_started"] = True
    qp = st.query_params
    problems: list[tuple[str, str]] = []
    for key, allowed, default, problem in (("lang", LANGS, "zh", "bad_lang"), ("page", PAGES, "ask", "bad_page"),
                                           ("script", SCRIPTS, "as-written", "bad_script")):
        value = qp.get(key)
        if value is not None and value not in allowed:
            problems.append((problem, value))
        ss[key] = value if value in allowed else default
    ss["asked"] = qp.get("q", "").strip()
    ss["question"] = ss["asked"]
    ss["keyword"] = qp.get("kw", "")
    ss["read_article"] = qp.get("article")
    ss["read_p"] = qp.get("p")
    ss["read_nonce"] = 0
    ss["url_problems"] = problems


def sync_url(page: str) -> None:
    """Write the current settings and the page's content into the URL (only what changed:
    every write is a message to the browser)."""
    ss = st.session_state
    want = {"lang": ss["lang"], "script": ss["script"], "page": page}
    values = {"q": ss.get("asked") or "", "kw": ss.get("keyword_shown") or "",
              "article": ss.get("read_article") or "", "p": ss.get("read_p") or ""}
    want.update({k: values[k] for k in PAGE_PARAMS[page] if values[k]})
    if dict(st.query_params) != want:
        st.query_params.from_dict(want)


def go_read(article_id: str, paragraph: int | None) -> None:
    """Widget callback: open the reading view at a paragraph (scrolled to and highlighted)."""
    ss = st.session_state
    ss["back_to"] = ss.get("page", "ask")
    ss["page"] = "read"
    ss["read_article"] = article_id
    ss["read_p"] = str(paragraph) if paragraph else None
    ss["read_nonce"] = ss.get("read_nonce", 0) + 1  # scroll again even to the same paragraph


def go_back() -> None:
    """Widget callback: back to the page the reading view was opened from."""
    ss = st.session_state
    ss["page"] = ss.pop("back_to", "ask")


def ask_this(question: str) -> None:
    """Widget callback: ask `question` (an example, or one from the thread)."""
    ss = st.session_state
    ss["page"] = "ask"
    ss["question"] = question
    ss["asked"] = question
