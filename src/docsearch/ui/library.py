"""The library page (list, add, remove) and the editor sign-in."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import IndexBusy
from docsearch.ingest import SUPPORTED_SUFFIXES, pasted_article
from docsearch.responses import Refusal
from docsearch.ui.render import StreamlitProgress, plain, safe


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


def refusal(r: Refusal, t: dict, tmp: str = "") -> str:
    """A refusal for people: the uploaded file's own name (never the server's temporary path)
    and the reason, by its code, in the interface language."""
    name = Path(r.what).name if tmp and r.what.startswith(tmp) else r.what
    reason = t["reasons"].get(r.code)
    if reason is None:  # a code this page has no words for: the engine's words, without temp paths
        reason = r.reason.replace(tmp + "/", "") if tmp else r.reason
    return f"{t['refused']}: {plain(name)}: {plain(reason)}"


def page_library(ds: DocSearch, t: dict, script: str) -> None:
    """The library page: the articles, and for editors adding and removing."""
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)
    arts = ds.articles()
    st.subheader(t["articles"])
    st.dataframe([{t["col_id"]: a.id, t["col_title"]: a.title, t["col_source"]: a.source, t["col_date"]: a.date,
                   t["col_script"]: t["script_names"].get(a.script, a.script), t["col_passages"]: a.passages,
                   t["col_added"]: a.added_at} for a in arts], width="stretch", hide_index=True)
    st.caption(t["model_auto" if ds.model_is_automatic else "model_set"].format(
        m=ds.model, n=ds.settings.encoder_max_passages))
    if not may_edit(ds):
        # Readers get no add/remove widgets at all, so there is nothing to submit.
        st.info(t["read_only"] if ds.settings.read_only else t["readers_only"])
        return
    st.subheader(t["add"])
    _upload(ds, t)
    _paste(ds, t)
    if arts:
        _remove(ds, t, arts)
    _trash(ds, t)


def _upload(ds: DocSearch, t: dict) -> None:
    ss = st.session_state
    # A new key after each successful add empties the upload box.
    key = f"upload-{ss.setdefault('upload_round', 0)}"
    mb = ds.settings.max_file_bytes // (1024 * 1024)
    files = st.file_uploader(t["upload"], accept_multiple_files=True, key=key, max_upload_size=max(mb, 1),
                             type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)])
    if not files:
        return
    st.caption(t["upload_meta"])
    c1, c2, c3 = st.columns(3)
    overrides = {"source": c1.text_input(t["source"], key=f"up_source-{key}").strip(),
                 "date": c2.text_input(t["date"], key=f"up_date-{key}", placeholder="2024-01-15").strip(),
                 "url": c3.text_input(t["url"], key=f"up_url-{key}").strip()}
    if not (st.button(t["add_files"], key="add_files") and may_edit(ds)):
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths, refused = [], []
        for f in files:
            if f.size > ds.settings.max_file_bytes:
                refused.append(("error", f"{t['refused']}: {plain(f.name)}: {t['too_big'].format(mb=mb)}"))
                continue
            path = Path(tmp) / Path(f.name).name
            path.write_bytes(f.getvalue())
            paths.append(path)
        report = changed(lambda: ds.add_paths(paths, {k: v for k, v in overrides.items() if v},
                                              progress=StreamlitProgress))
        if report is not None:
            if report.added:
                ss["upload_round"] += 1
            flash(ds, report, t, tmp, refused)


def _paste(ds: DocSearch, t: dict) -> None:
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


def _remove(ds: DocSearch, t: dict, arts: list) -> None:
    ss = st.session_state
    st.subheader(t["remove"])
    titles = {a.id: a.title for a in arts}
    # Nothing chosen at first, and after every removal a cleared choice and confirmation (set
    # here, before the widgets are drawn: Streamlit refuses changes to a drawn widget's value).
    if ss.pop("remove_reset", False) or "remove_pick" not in ss:
        ss["remove_pick"], ss["remove_confirm"] = None, False
    victim = st.selectbox(t["pick"], placeholder=t["choose"], options=list(titles), key="remove_pick",
                          format_func=lambda i: f"{i} · {titles[i]}")
    sure = st.checkbox(t["confirm"], key="remove_confirm")
    ready = sure and victim is not None
    if st.button(t["remove_button"], disabled=not ready, key="remove_button") and ready and may_edit(ds):
        if changed(lambda: ds.remove(victim)) is not None:
            ss["remove_reset"] = True
            ss["flash"] = [("success", f"{t['removed']}: {victim} · {plain(titles[victim])}")]
            st.rerun()


def _trash(ds: DocSearch, t: dict) -> None:
    """What was removed, each with a restore button; emptying the trash asks for a confirmation."""
    items = ds.trash()
    st.subheader(t["trash"])
    if not items:
        st.caption(t["trash_empty"])
        return
    for row, when in items:
        cols = st.columns([5, 1])
        cols[0].markdown(f"{safe(row.title)} · `{row.id}` · {t['removed_at']} {when[:16].replace('T', ' ')}")
        if cols[1].button(t["restore"], key=f"restore-{row.id}") and may_edit(ds):
            if changed(lambda: ds.restore(row.id)) is not None:
                st.session_state["flash"] = [("success", f"{t['restored']}: {row.id} · {plain(row.title)}")]
                st.rerun()
    if st.session_state.pop("empty_reset", False):
        st.session_state["empty_confirm"] = False
    sure = st.checkbox(t["confirm_empty"], key="empty_confirm")
    if st.button(t["empty_trash"], disabled=not sure, key="empty_trash") and sure and may_edit(ds):
        if changed(ds.empty_trash) is not None:
            st.session_state["empty_reset"] = True
            st.session_state["flash"] = [("success", t["trash_emptied"])]
            st.rerun()


def flash(ds: DocSearch, report, t: dict, tmp: str = "", refused: list | None = None) -> None:
    """Keep the outcome of an add for the next run, then rerun so the table shows the change."""
    messages = list(refused or [])
    for aid in report.added:
        art = ds.article(aid)
        messages.append(("success", f"{t['added']}: {aid} · {plain(art.title) if art else ''}"))
    messages += [("info", f"{plain(Path(what).name if tmp and what.startswith(tmp) else what)}: {t['duplicate']} {existing}")
                 for what, existing in report.duplicates]
    messages += [("error", refusal(r, t, tmp)) for r in report.refused]
    st.session_state["flash"] = messages
    st.rerun()
