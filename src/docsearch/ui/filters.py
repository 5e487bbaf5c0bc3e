"""The filters of the Ask and Look-up pages: articles, source, date range (shared by both pages
in the session, like the CLI's --article/--source/--since/--until)."""
from __future__ import annotations

from datetime import date

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import QueryError
from docsearch.retrieval.filters import Filters


def filter_box(ds: DocSearch, t: dict) -> Filters | None:
    """The filters the user set (None: none), in an expander that opens while any is set."""
    ss = st.session_state
    arts = {a.id: a.title for a in ds.articles()}
    # A filter kept from before may name an article removed since: drop it rather than fail.
    ss["f_articles"] = [a for a in ss.get("f_articles", []) if a in arts]
    active = bool(ss["f_articles"] or ss.get("f_source") or ss.get("f_since") or ss.get("f_until"))
    with st.expander(t["filters"] + (f" · {t['filtered']}" if active else ""), expanded=active):
        st.multiselect(t["f_articles"], list(arts), key="f_articles", format_func=lambda i: f"{arts[i]} [{i}]",
                       placeholder=t["choose"])
        st.text_input(t["f_source"], key="f_source")
        cols = st.columns(2)
        cols[0].date_input(t["f_since"], value=None, key="f_since", min_value=date(1900, 1, 1))
        cols[1].date_input(t["f_until"], value=None, key="f_until", min_value=date(1900, 1, 1))
        st.caption(t["f_note"])
    since, until = ss.get("f_since"), ss.get("f_until")
    try:
        filters = Filters(tuple(ss["f_articles"]), ss.get("f_source") or "",
                          since.isoformat() if since else "", until.isoformat() if until else "")
    except QueryError as exc:
        st.warning(f"{t['query_error']}: {exc}")
        return None
    return filters if filters.active else None
