"""The reading view: a whole article, every paragraph with an anchor (para-N), the cited one
highlighted and scrolled to."""
from __future__ import annotations

import streamlit as st

from docsearch.engine import DocSearch
from docsearch.text.normalize import convert_for_display
from docsearch.ui.render import is_heading, plain, safe, scroll_to, url_link
from docsearch.ui.state import go_back


def page_read(ds: DocSearch, t: dict, script: str) -> None:
    """The reading page; a stale or made-up article id or paragraph gets a message."""
    ss = st.session_state
    arts = ds.articles()
    titles = {a.id: a.title for a in arts}
    wanted = ss.get("read_article")
    if ss.get("back_to"):
        st.button(t["back"], key="back", on_click=go_back, type="tertiary")
    ids = list(titles)
    # An unknown id chooses nothing (never silently another article); no id at all, the first.
    index = ids.index(wanted) if wanted in ids else (None if wanted else 0)
    chosen = st.selectbox(t["pick"], placeholder=t["choose"], options=ids, index=index,
                          key=f"read_pick-{wanted}", format_func=lambda i: convert_for_display(titles[i], script))
    if wanted and wanted not in titles and chosen is None:
        st.warning(t["no_article"].format(id=plain(wanted[:80])))
        return
    if chosen is None:
        return
    if chosen != wanted:  # picked another article in the box
        ss["read_article"], ss["read_p"], wanted = chosen, None, chosen
    art = ds.article(chosen)
    if art is None:  # removed between the list and now
        st.warning(t["no_article"].format(id=chosen))
        return
    paras = ds.article_paragraphs(chosen)
    focus = _focus(ss.get("read_p"), len(paras), t)
    st.markdown(f"### {safe(convert_for_display(art.title, script))}", unsafe_allow_html=True)
    meta = [safe(x) for x in (art.source, art.date) if x] + ([url_link(art.url)] if art.url else [])
    st.caption(" · ".join(meta + ([safe(art.original_file)] if art.original_file else [])), unsafe_allow_html=True)
    html = []
    for num, para in paras:
        if not para.strip():
            continue
        body = safe(convert_for_display(para, script))
        classes = " ".join(c for c, on in (("head", is_heading(para)), ("cited", num == focus)) if on)
        cls = f' class="{classes}"' if classes else ""
        label = t["paragraph"].format(n=num)
        html.append(f'<p id="para-{num}"{cls}><span class="pnum">{label}</span>{body}</p>')
    # One block for the article: an element per paragraph would add a gap after each.
    st.markdown('<div class="article">' + "".join(html) + "</div>", unsafe_allow_html=True)
    if focus:
        scroll_to(f"para-{focus}", ss.get("read_nonce", 0))


def _focus(value: str | None, count: int, t: dict) -> int | None:
    """The paragraph to show, from the URL or a citation; a warning when it does not exist."""
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= count:
        return int(value)
    st.warning(t["bad_paragraph"].format(p=plain(value[:40]), n=count))
    return None
