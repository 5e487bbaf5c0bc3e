"""The app's frame: one engine per process, the sidebar (language, page, display script, editor
sign-in) and the page chosen."""
from __future__ import annotations

import streamlit as st

from docsearch.config import load_settings
from docsearch.engine import DocSearch
from docsearch.ui.library import editor_sign_in, page_library
from docsearch.ui.pages import page_ask, page_lookup, page_read
from docsearch.ui.texts import PAGES, TEXT


@st.cache_resource(show_spinner=False)
def engine(index_dir: str, corpus_dir: str) -> DocSearch:
    """One engine per process, shared by every session (the model and index load once)."""
    ds = DocSearch(load_settings(index_dir=index_dir, corpus_dir=corpus_dir))
    ds.ensure_ready()
    return ds


def main() -> None:
    st.set_page_config(page_title="docsearch", layout="wide")
    st.markdown("<style>mark.ans{background:#ffe08a} mark.term{background:none;color:#b3261e;"
                "font-weight:600;padding:0}</style>", unsafe_allow_html=True)
    qp = st.query_params
    lang = st.sidebar.radio("Language / 界面语言", ["zh", "en"], format_func=lambda x: "中文" if x == "zh" else "English",
                            horizontal=True, key="lang")
    t = TEXT[lang]
    page = st.sidebar.radio(t["page"], PAGES, index=PAGES.index(qp.get("page", "ask")) if qp.get("page") in PAGES else 0,
                            format_func=lambda p: t[p], key="page")
    script = st.sidebar.radio(t["script"], ["as-written", "zh-Hans", "zh-Hant"], horizontal=True, key="script",
                              format_func=lambda s: {"as-written": t["as_written"], "zh-Hans": t["simp"],
                                                     "zh-Hant": t["trad"]}[s])
    settings = load_settings()
    ds = engine(str(settings.index_dir), str(settings.corpus_dir))
    editor_sign_in(ds, t, ds.settings)
    st.title(t["title"])
    if page != "library" and not ds.articles():
        st.info(t["empty_corpus"])
        return
    {"ask": page_ask, "lookup": page_lookup, "library": page_library, "read": page_read}[page](ds, t, script)
