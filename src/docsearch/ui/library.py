"""The library page (list, add, remove) and the editor sign-in."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import IndexBusy
from docsearch.ingest import SUPPORTED_SUFFIXES, pasted_article
from docsearch.ui.render import StreamlitProgress


def editor_sign_in(ds: DocSearch, t: dict, settings) -> None:
    """The sidebar sign-in, shown when the library has an editor credential."""
    if settings.read_only or not ds.has_editor_password():
        return
    st.sidebar.markdown(f"**{t['editor']}**")
    if st.session_state.get("editor"):
        st.sidebar.caption(t["signed_in"])
        if st.sidebar.button(t["sign_out"], key="sign_out"):
            st.session_state["editor"] = False
            st.rerun()
        return
    with st.sidebar.form("sign_in"):
        secret = st.text_input(t["password"], type="password", key="editor_password")
        if st.form_submit_button(t["sign_in"]):
            if ds.sign_in_editor(secret):
                st.session_state["editor"] = True
                st.rerun()
            st.error(t["bad_password"])


def may_edit(ds: DocSearch) -> bool:
    """Asked again right before every change: a reader's session never reaches one, even when
    it replays the messages of an editor's widgets."""
    return ds.can_edit(bool(st.session_state.get("editor")))


def changed(work):
    """Run a change of the library; None, with the message shown, when another process is
    writing to the index."""
    try:
        return work()
    except IndexBusy as exc:
        st.error(str(exc))
        return None


def page_library(ds: DocSearch, t: dict, script: str) -> None:
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)
    arts = ds.articles()
    st.subheader(t["articles"])
    st.dataframe([{"id": a.id, "title": a.title, "source": a.source, "date": a.date, "script": a.script,
                   "passages": a.passages, "added": a.added_at} for a in arts], width="stretch")
    if not may_edit(ds):
        # Readers get no add/remove widgets at all, so there is nothing to submit.
        st.info(t["read_only"] if ds.settings.read_only else t["readers_only"])
        return
    st.subheader(t["add"])
    files = st.file_uploader(t["upload"], accept_multiple_files=True,
                             type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)], key="upload")
    if files and st.button(t["add_files"], key="add_files") and may_edit(ds):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for f in files:
                if f.size > ds.settings.max_file_bytes:
                    mb = ds.settings.max_file_bytes // (1024 * 1024)
                    st.error(f"{t['refused']}: {f.name}: {t['too_big'].format(mb=mb)}")
                    continue
                path = Path(tmp) / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            report = changed(lambda: ds.add_paths(paths, progress=StreamlitProgress))
            if report is not None:
                flash(ds, report, t)
    with st.form("paste", clear_on_submit=False):
        st.markdown(f"**{t['paste']}**")
        title = st.text_input(t["paste_title"], key="paste_title")
        body = st.text_area(t["paste_text"], height=200, key="paste_text")
        source = st.text_input(t["source"], key="paste_source")
        date = st.text_input(t["date"], key="paste_date")
        submitted = st.form_submit_button(t["add_button"])
    if submitted and may_edit(ds):
        if not body.strip():
            st.error(f"{t['refused']}: {t['paste_text']}")
        else:
            article = pasted_article(title, body, source=source, date=date)
            report = changed(lambda: ds.add_articles([article], progress=StreamlitProgress))
            if report is not None:
                flash(ds, report, t)
    if arts:
        st.subheader(t["remove"])
        victim = st.selectbox(t["pick"], [a.id for a in arts], key="remove_pick",
                              format_func=lambda i: f"{i} · {next(a.title for a in arts if a.id == i)}")
        sure = st.checkbox(t["confirm"], key="remove_confirm")
        if st.button(t["remove_button"], disabled=not sure, key="remove_button") and sure and may_edit(ds):
            if changed(lambda: ds.remove(victim)) is not None:
                st.session_state["flash"] = [("success", f"{t['removed']}: {victim}")]
                st.rerun()


def flash(ds: DocSearch, report, t: dict) -> None:
    """Keep the outcome of an add for the next run, then rerun so the table shows the change."""
    messages = []
    for aid in report.added:
        art = ds.article(aid)
        messages.append(("success", f"{t['added']}: {aid} · {art.title if art else ''}"))
    messages += [("info", f"{what}: {t['duplicate']} {existing}") for what, existing in report.duplicates]
    messages += [("error", f"{t['refused']}: {reason}") for what, reason in report.refused]
    st.session_state["flash"] = messages
    st.rerun()
