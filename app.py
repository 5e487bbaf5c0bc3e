"""docsearch in the browser: ask, look up, manage the library, read. Presentation only: every
search, answer and change goes through docsearch.engine.DocSearch.

    streamlit run app.py
"""
from __future__ import annotations

import html
import os
from dataclasses import replace
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import streamlit as st  # noqa: E402

from docsearch import access  # noqa: E402
from docsearch.config import load_settings  # noqa: E402
from docsearch.engine import DocSearch  # noqa: E402
from docsearch.ingest import SUPPORTED_SUFFIXES, Article, IngestError  # noqa: E402
from docsearch.lock import IndexBusy  # noqa: E402
from docsearch.normalize import convert_for_display  # noqa: E402
from docsearch.search import QueryError  # noqa: E402

MAX_UPLOAD_MB = 20

TEXT = {
    "zh": {
        "title": "docsearch 文献检索", "ask": "提问", "lookup": "查词", "library": "文献库", "read": "阅读",
        "page": "页面", "lang": "界面语言", "script": "正文显示", "as_written": "原文", "simp": "简体", "trad": "繁體",
        "question": "输入问题(简体、繁體或英文)", "go": "提问", "answer": "答案", "passages": "出处段落",
        "understood": "检索词", "translated": "英文词译为", "no_results": "没有找到相关段落。",
        "keyword": "关键词(可多个,或用引号括起的短语)", "find": "查找", "matches": "处匹配",
        "per_article": "各文章匹配数", "context": "上下文(前后段落)", "open": "阅读全文",
        "history": "本次提问记录", "articles": "文章", "add": "添加文章", "upload": "上传文件",
        "paste": "粘贴文本", "paste_title": "标题", "paste_text": "正文", "source": "来源", "date": "日期",
        "add_button": "添加", "add_files": "添加上传的文件", "added": "已添加", "duplicate": "内容已在文献库中,对应文章", "refused": "未添加",
        "remove": "删除文章", "confirm": "确认删除(不可撤销)", "remove_button": "删除", "removed": "已删除",
        "pick": "选择文章", "paragraph": "第{n}段", "empty_corpus": "文献库是空的:请先在“文献库”页添加文章。",
        "too_big": "文件超过 {mb} MB 上限", "type_refused": "不支持的文件类型",
        "no_article": "找不到这篇文章。",
        "editor": "编辑登录", "password": "编辑密码", "sign_in": "登录", "sign_out": "退出登录",
        "signed_in": "已作为编辑登录", "bad_password": "密码不对", "read_only": "此文献库为只读:不能添加或删除文章。",
        "readers_only": "添加或删除文章需要编辑登录(侧栏)。",
    },
    "en": {
        "title": "docsearch", "ask": "Ask", "lookup": "Look up", "library": "Library", "read": "Read",
        "page": "Page", "lang": "Interface", "script": "Show text as", "as_written": "as written", "simp": "Simplified",
        "trad": "Traditional", "question": "Your question (Simplified, Traditional or English)", "go": "Ask",
        "answer": "Answer", "passages": "Cited passages", "understood": "Searched for",
        "translated": "English translated as", "no_results": "No passages found.",
        "keyword": "Keyword (several words, or a quoted phrase)", "find": "Find", "matches": "matches",
        "per_article": "Matches per article", "context": "Context (neighbouring paragraphs)", "open": "Read the article",
        "history": "Questions this session", "articles": "Articles", "add": "Add articles", "upload": "Upload files",
        "paste": "Paste text", "paste_title": "Title", "paste_text": "Text", "source": "Source", "date": "Date",
        "add_button": "Add", "add_files": "Add the uploaded files", "added": "Added", "duplicate": "Already in the library as", "refused": "Not added",
        "remove": "Remove an article", "confirm": "Yes, remove it (cannot be undone)", "remove_button": "Remove",
        "removed": "Removed", "pick": "Article", "paragraph": "¶{n}",
        "empty_corpus": "The library is empty: add articles on the Library page.",
        "too_big": "file is over the {mb} MB limit", "type_refused": "unsupported file type",
        "no_article": "No such article.",
        "editor": "Editor sign-in", "password": "Editor password", "sign_in": "Sign in", "sign_out": "Sign out",
        "signed_in": "Signed in as editor", "bad_password": "Wrong password", "read_only":
        "This library is read-only: articles cannot be added or removed.",
        "readers_only": "Adding or removing articles needs an editor sign-in (sidebar).",
    },
}
PAGES = ("ask", "lookup", "library", "read")


@st.cache_resource(show_spinner=False)
def engine(index_dir: str, corpus_dir: str) -> DocSearch:
    """One engine per process, shared by every session (the model and index load once)."""
    ds = DocSearch(load_settings(index_dir=index_dir, corpus_dir=corpus_dir))
    ds.ensure_ready()
    return ds


# Characters markdown (and Streamlit's $math$) would interpret, as HTML entities.
# ( ) ! only act next to [ ], which are escaped; < > are HTML-escaped before this.
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "\\`*_{}[]#+-~$|"})


def safe(text: str) -> str:
    """Corpus text for st.markdown: HTML-escaped and markdown-inert, shown exactly as written."""
    return html.escape(text, quote=True).replace("&", "\0").translate(_MARKDOWN).replace("\0", "&")


def marked(text: str, spans: list[tuple[int, int, str]], script: str) -> str:
    """Escaped HTML of `text` with <mark> around spans; corpus text is never raw HTML."""
    shown = convert_for_display(text, script)
    out, last = [], 0
    for a, b, cls in sorted(spans):
        if a < last:
            continue
        out += [safe(shown[last:a]), f'<mark class="{cls}">', safe(shown[a:b]), "</mark>"]
        last = b
    out.append(safe(shown[last:]))
    return "".join(out).replace("\n", "<br>")


class _Bar:
    """The engine's progress protocol on a Streamlit progress bar."""

    def __init__(self, total: int, desc: str):
        self.total, self.done, self.desc = max(total, 1), 0, desc
        self.bar = st.progress(0.0, text=desc)

    def update(self, n: int) -> None:
        self.done += n
        self.bar.progress(min(self.done / self.total, 1.0), text=f"{self.desc} {self.done}/{self.total}")

    def close(self) -> None:
        self.bar.empty()


def with_progress(ds: DocSearch, work):
    """Run an add with a progress bar (the shared engine's own progress is restored after);
    None, with the message shown, when another process is writing to the index."""
    with ds.lock:
        saved, ds.progress = ds.progress, _Bar
        try:
            return work()
        except IndexBusy as exc:
            st.error(str(exc))
            return None
        finally:
            ds.progress = saved


def link(**params: str) -> str:
    from urllib.parse import urlencode
    return "?" + urlencode(params)


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
    editor_sign_in(ds, t, settings)
    st.title(t["title"])
    if page != "library" and not ds.articles():
        st.info(t["empty_corpus"])
        return
    {"ask": page_ask, "lookup": page_lookup, "library": page_library, "read": page_read}[page](ds, t, script)


def page_ask(ds: DocSearch, t: dict, script: str) -> None:
    qp = st.query_params
    history = st.session_state.setdefault("history", [])
    with st.form("ask"):
        question = st.text_input(t["question"], value=qp.get("q", ""), key="question")
        st.form_submit_button(t["go"])
    if history:
        with st.sidebar.expander(t["history"]):
            for h in reversed(history[-20:]):
                st.markdown(f"[{safe(h)}]({link(page='ask', q=h)})")
    if not question.strip():
        return
    try:
        resp = ds.ask(question, k=5)
    except QueryError as exc:
        st.warning(str(exc))
        return
    st.query_params.update(page="ask", q=question)
    if question not in history:
        history.append(question)
    for tr in resp.translations:
        st.caption(f"{t['translated']}: {tr['english']} → {' / '.join(tr['chinese'])}")
    st.caption(f"{t['understood']}: {' '.join(resp.terms)}")
    if not resp.passages:
        st.info(t["no_results"])
        return
    st.subheader(t["answer"])
    cite_no = {}
    for a in resp.answer:
        n = cite_no.setdefault((a.article_id, a.passage_rank), len(cite_no) + 1)
        st.markdown(f"{safe(convert_for_display(a.text, script))} <sup>[{n}]</sup>", unsafe_allow_html=True)
    st.subheader(t["passages"])
    terms = resp.terms + [alt for tr in resp.translations for alt in tr["chinese"]]
    for r, sent, a, b in resp.passages:
        n = cite_no.get((r.article_id, r.rank))
        head = f"**{'[' + str(n) + '] ' if n else ''}{safe(r.title)}** · {t['paragraph'].format(n=r.paragraph)}"
        meta = " · ".join(x for x in (r.source, r.date) if x)
        st.markdown(head + (f" · {safe(meta)}" if meta else ""))
        spans = [(a, b, "ans")] + [(x, y, "term") for x, y in ds.highlight_spans(r.text, terms)
                                   if y <= a or x >= b]
        st.markdown(marked(r.text, spans, script), unsafe_allow_html=True)
        with st.expander(t["context"]):
            for num, para in ds.article_paragraphs(r.article_id):
                if r.paragraph - 1 <= num <= r.paragraph_end + 1:
                    st.markdown(f"{t['paragraph'].format(n=num)} {safe(convert_for_display(para, script))}",
                                unsafe_allow_html=True)
        st.markdown(f"[{t['open']}]({link(page='read', article=r.article_id, p=str(r.paragraph))})")


def page_lookup(ds: DocSearch, t: dict, script: str) -> None:
    qp = st.query_params
    with st.form("lookup"):
        kw = st.text_input(t["keyword"], value=qp.get("kw", ""), key="keyword")
        st.form_submit_button(t["find"])
    if not kw.strip():
        return
    keywords = [kw.strip().strip('"“”')] if kw.strip()[:1] in '"“' else kw.split()
    hits = {}
    try:
        for word in keywords:
            for h in ds.lookup(word).results:
                prev = hits.get(h.passage_id)
                hits[h.passage_id] = h if prev is None else replace(
                    prev, matches=sorted(set(prev.matches) | set(h.matches)))
    except QueryError as exc:
        st.warning(str(exc))
        return
    st.query_params.update(page="lookup", kw=kw)
    order = {a.id: n for n, a in enumerate(ds.articles())}
    results = sorted(hits.values(), key=lambda h: (order.get(h.article_id, 0), h.paragraph, h.passage_id))
    total = sum(len(h.matches) for h in results)
    st.markdown(f"**{len(results)}** {t['passages']} · **{total}** {t['matches']}")
    if not results:
        st.info(t["no_results"])
        return
    counts: dict[str, int] = {}
    for h in results:
        counts[h.title] = counts.get(h.title, 0) + len(h.matches)
    st.caption(t["per_article"] + ": " + "; ".join(f"{k}: {v}" for k, v in counts.items()))
    for h in results:
        st.markdown(f"**{safe(h.title)}** · [{t['paragraph'].format(n=h.paragraph)}]"
                    f"({link(page='read', article=h.article_id, p=str(h.paragraph))})")
        st.markdown(marked(h.text, [(a, b, "ans") for a, b in h.matches], script), unsafe_allow_html=True)


def editor_sign_in(ds: DocSearch, t: dict, settings) -> None:
    """The sidebar sign-in, shown when the library has an editor credential."""
    if settings.read_only or not access.has_credential(ds.store):
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
            if access.sign_in(ds.store, secret):
                st.session_state["editor"] = True
                st.rerun()
            st.error(t["bad_password"])


def may_edit(ds: DocSearch) -> bool:
    """Asked again right before every change: a reader's session never reaches one, even when
    it replays the messages of an editor's widgets."""
    return access.can_edit(load_settings(), ds.store, bool(st.session_state.get("editor")))


def page_library(ds: DocSearch, t: dict, script: str) -> None:
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)
    arts = ds.articles()
    st.subheader(t["articles"])
    st.dataframe([{"id": a.id, "title": a.title, "source": a.source, "date": a.date, "script": a.script,
                   "passages": a.passages, "added": a.added_at} for a in arts], width="stretch")
    if not may_edit(ds):
        # Readers get no add/remove widgets at all, so there is nothing to submit.
        st.info(t["read_only"] if load_settings().read_only else t["readers_only"])
        return
    st.subheader(t["add"])
    files = st.file_uploader(t["upload"], accept_multiple_files=True,
                             type=[s.lstrip(".") for s in sorted(SUPPORTED_SUFFIXES)], key="upload")
    if files and st.button(t["add_files"], key="add_files") and may_edit(ds):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for f in files:
                if f.size > MAX_UPLOAD_MB * 1024 * 1024:
                    st.error(f"{t['refused']}: {f.name}: {t['too_big'].format(mb=MAX_UPLOAD_MB)}")
                    continue
                path = Path(tmp) / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            report = with_progress(ds, lambda: ds.add_paths(paths))
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
            article = Article(title=title or body.strip().split("\n")[0][:60], text=body, source=source, date=date)
            report = with_progress(ds, lambda: ds.add_articles([article]))
            if report is not None:
                flash(ds, report, t)
    if arts:
        st.subheader(t["remove"])
        victim = st.selectbox(t["pick"], [a.id for a in arts], key="remove_pick",
                              format_func=lambda i: f"{i} · {next(a.title for a in arts if a.id == i)}")
        sure = st.checkbox(t["confirm"], key="remove_confirm")
        if st.button(t["remove_button"], disabled=not sure, key="remove_button") and sure and may_edit(ds):
            if with_progress(ds, lambda: ds.remove(victim)) is not None:
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


def page_read(ds: DocSearch, t: dict, script: str) -> None:
    qp = st.query_params
    arts = ds.articles()
    ids = [a.id for a in arts]
    wanted = qp.get("article")
    if not ids:
        return
    aid = st.selectbox(t["pick"], ids, index=ids.index(wanted) if wanted in ids else 0, key="read_pick",
                       format_func=lambda i: next(a.title for a in arts if a.id == i))
    art = ds.article(aid)
    if art is None:
        st.warning(t["no_article"])
        return
    focus = int(qp.get("p", "0") or 0) if aid == wanted else 0
    st.markdown(f"### {safe(convert_for_display(art.title, script))}")
    st.caption(" · ".join(x for x in (art.source, art.date, art.script, art.original_file) if x))
    for num, para in ds.article_paragraphs(aid):
        body = safe(convert_for_display(para, script))
        if num == focus:
            body = f'<mark class="ans">{body}</mark>'
        st.markdown(f"<small>{t['paragraph'].format(n=num)}</small> {body}", unsafe_allow_html=True)


main()
