"""The app's frame: one engine per process, the sidebar (language, page, display script, editor
sign-in), messages about the URL, and the page chosen."""
from __future__ import annotations

import streamlit as st

from docsearch.config import load_settings
from docsearch.engine import DocSearch
from docsearch.ui.ask import page_ask
from docsearch.ui.library import editor_sign_in, page_library
from docsearch.ui.lookup import page_lookup
from docsearch.ui.read import page_read
from docsearch.ui.render import STYLE, plain
from docsearch.ui.state import start_session, sync_url
from docsearch.ui.texts import LANGS, PAGES, SCRIPTS, TEXT

# The file uploader's own texts are English in Streamlit; for the Chinese interface they are
# replaced through CSS (the component has no parameters for them).
_UPLOADER_ZH = """<style>
[data-testid=stFileUploaderDropzoneInstructions] > div > span {display:none}
[data-testid=stFileUploaderDropzoneInstructions] > div::before {content:"%s"; display:block}
[data-testid=stFileUploaderDropzoneInstructions] > div > small {display:none}
[data-testid=stFileUploaderDropzoneInstructions] > div::after {content:"%s"; font-size:.85em; opacity:.7}
[data-testid=stFileUploaderDropzone] button * {display:none}
[data-testid=stFileUploaderDropzone] button::after {content:"%s"}
</style>"""


@st.cache_resource(show_spinner=False)
def engine(index_dir: str, corpus_dir: str) -> DocSearch:
    """One engine per process, shared by every session (the model and index load once)."""
    ds = DocSearch(load_settings(index_dir=index_dir, corpus_dir=corpus_dir))
    ds.ensure_ready()
    return ds


def main() -> None:
    """Run one pass of the app."""
    st.set_page_config(page_title="docsearch", layout="wide")
    start_session()
    st.markdown(STYLE, unsafe_allow_html=True)
    lang = st.sidebar.radio("Language / 界面语言", LANGS, format_func=lambda x: "中文" if x == "zh" else "English",
                            horizontal=True, key="lang")
    t = TEXT[lang]
    page = st.sidebar.radio(t["page"], PAGES, format_func=lambda p: t[p], key="page")
    script = st.sidebar.radio(t["script"], SCRIPTS, horizontal=True, key="script",
                              format_func=lambda s: {"as-written": t["as_written"], "zh-Hans": t["simp"],
                                                     "zh-Hant": t["trad"]}[s])
    settings = load_settings()
    with st.spinner(t["starting"]):  # instant once the process has its engine
        ds = engine(str(settings.index_dir), str(settings.corpus_dir))
    if lang == "zh":
        mb = ds.settings.max_file_bytes // (1024 * 1024)
        st.markdown(_UPLOADER_ZH % (t["uploader_drop"], t["uploader_limit"].format(mb=mb), t["uploader_browse"]),
                    unsafe_allow_html=True)
    editor_sign_in(ds, t, ds.settings)
    st.title(t["title"])
    for key, value in st.session_state.pop("url_problems", []):
        st.warning(t[key].format(v=plain(value[:40])))
    if page != "library" and not ds.articles():
        st.info(t["empty_corpus"])
    else:
        {"ask": page_ask, "lookup": page_lookup, "library": page_library, "read": page_read}[page](ds, t, script)
    sync_url(page)
