"""The reading pages: ask, look up, read."""
from __future__ import annotations

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.errors import QueryError
from docsearch.text.normalize import convert_for_display
from docsearch.ui.render import link, marked, safe


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
    try:
        resp = ds.lookup_words(kw)
    except QueryError as exc:
        st.warning(str(exc))
        return
    st.query_params.update(page="lookup", kw=kw)
    results = resp.results
    total = sum(len(h.matches) for h in results)
    st.markdown(f"**{len(results)}** {t['passages']} · **{total}** {t['matches']}")
    if not results:
        st.info(t["no_results"])
        return
    counts = resp.titled_counts
    st.caption(t["per_article"] + ": " + "; ".join(f"{k}: {v}" for k, v in counts.items()))
    for h in results:
        st.markdown(f"**{safe(h.title)}** · [{t['paragraph'].format(n=h.paragraph)}]"
                    f"({link(page='read', article=h.article_id, p=str(h.paragraph))})")
        st.markdown(marked(h.text, [(a, b, "ans") for a, b in h.matches], script), unsafe_allow_html=True)


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
