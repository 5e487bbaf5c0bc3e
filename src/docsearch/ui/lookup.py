"""The look-up page: every passage containing a word, in every form it was searched in."""
from __future__ import annotations

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import QueryError
from docsearch.retrieval.lookup import split_keywords
from docsearch.text.normalize import convert_for_display
from docsearch.ui.export import lookup_csv, paragraph_label
from docsearch.ui.filters import filter_box
from docsearch.ui.render import marked, safe
from docsearch.ui.state import go_read


def page_lookup(ds: DocSearch, t: dict, script: str) -> None:
    """The look-up page."""
    ss = st.session_state
    if "keyword" not in ss:
        ss["keyword"] = ss.get("keyword_shown", "")
    with st.form("lookup"):
        st.text_input(t["keyword"], key="keyword")
        if st.form_submit_button(t["find"]):
            ss["keyword_shown"] = ss["keyword"]
    filters = filter_box(ds, t)
    kw = ss.get("keyword_shown") or ss.get("keyword", "")
    ss["keyword_shown"] = kw
    if not kw.strip():
        return
    several = len(split_keywords(kw)) > 1
    # Several words: any of them (OR) or all of them in one passage (AND), the user's choice.
    every = several and st.radio(t["combine"], ["any", "all"], horizontal=True, key="lookup_combine",
                                 format_func=lambda m: t["combined_" + ("or" if m == "any" else "and")]) == "all"
    try:
        resp = ds.lookup_words(kw, filters=filters, every=every)
    except QueryError as exc:
        st.warning(f"{t['query_error']}: {exc}")
        ss["keyword_shown"] = ""
        return
    results = resp.results
    # Say what was searched: every script/vocabulary form (how several words combine is the
    # choice above).
    st.caption(f"{t['forms']}: " + " / ".join(safe(f) for f in resp.forms), unsafe_allow_html=True)
    # The count says how it counts: one word, any of several, or all of them.
    count_key = {"": "lookup_count", "any": "lookup_count_any", "all": "lookup_count_all"}[resp.combine]
    st.markdown(t[count_key].format(n=len(results), m=resp.occurrences))
    if resp.per_keyword:
        _per_word(t, resp)
    if not results:
        st.info(t["no_results"])
        return
    st.dataframe([{t["col_article"]: title, t["col_occurrences"]: n} for title, n in resp.titled_counts.items()],
                 hide_index=True)
    st.download_button(t["export_csv"], lookup_csv(resp), file_name="lookup.csv", mime="text/csv",
                       key="lookup_csv", on_click="ignore")
    for i, h in enumerate(results):
        head = (f'<div class="passage-head">{safe(convert_for_display(h.title, script))} · '
                f'{paragraph_label(t, h.paragraph, h.paragraph_end)}</div>')
        body = marked(h.text, [(a, b, "ans") for a, b in h.matches], script)
        st.markdown(head + f'<div class="passage">{body}</div>', unsafe_allow_html=True)
        st.button(t["open"].format(n=h.paragraph), key=f"lk-open-{i}", on_click=go_read,
                  args=(h.article_id, h.paragraph), type="tertiary")


def _per_word(t: dict, resp) -> None:
    """Each word's own passages and occurrences (in all its forms), whichever way they combine:
    a researcher comparing 晶片 with 墨西哥 wants each one's count, not only the union's."""
    st.dataframe([{t["col_word"]: " / ".join(k["forms"]), t["col_passages"]: k["passages"],
                   t["col_occurrences"]: k["occurrences"]} for k in resp.per_keyword], hide_index=True)
