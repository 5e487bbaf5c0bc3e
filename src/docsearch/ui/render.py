"""Turning corpus text into safe HTML for Streamlit, progress bars, the page style and scrolling."""
from __future__ import annotations

import html
import json
import re

import streamlit as st
import streamlit.components.v1 as components

from docsearch.text.normalize import convert_for_display

# Characters HTML and markdown (and Streamlit's $math$) would interpret, as HTML entities, in one
# pass: escaping HTML first and markdown after turned the '#' of &#x27; into an entity too, and
# "Mexico's" showed as Mexico&#x27;s. ( ) ! only act next to [ ], which are escaped; ':' and '@'
# stop GFM's bare-URL and e-mail links, which would show the entities inside them literally.
_MARKDOWN = str.maketrans({**{c: f"&#{ord(c)};" for c in "\\`*_{}[]#+-~$|:@"},
                           **{c: html.escape(c, quote=True) for c in "&<>\"'"}})

# Section headings in the corpus: ▍ or # lines, numbered heads ((一), (1), 一、, 1.) and short lines
# without sentence-final punctuation.
_HEAD_START = re.compile(r"^\s*(▍|#|[((][一二三四五六七八九十\d]{1,3}[))]|[一二三四五六七八九十]{1,3}、)")
_SENTENCE_END = tuple("。.!?!?;;:…”\"』」")
HEADING_MAX_CHARS = 80

STYLE = """<style>
mark.ans{background:#ffe08a} mark.term{background:none;color:#b3261e;font-weight:600;padding:0}
.passage{margin:0 0 .2rem 0;line-height:1.65}
.passage .sechead{font-weight:700;font-size:1.05em;margin:.35rem 0 .15rem}
.article p{margin:0 0 .55rem 0;line-height:1.7;padding:.15rem .4rem;border-left:3px solid transparent}
.article p.head{font-weight:700;font-size:1.08em;margin-top:.9rem}
.article p.cited{background:#fff4c2;border-left-color:#e0a800}
.article .pnum{color:#888;font-size:.8em;margin-right:.4em}
.passage-head{font-weight:600;margin:.2rem 0 .1rem}
.passage-meta{color:#666;font-size:.85em}
sup.cite a{text-decoration:none;font-weight:600}
</style>"""


def safe(text: str) -> str:
    """Corpus text for st.markdown: HTML-escaped and markdown-inert, shown exactly as written."""
    out = text.translate(_MARKDOWN)
    return out.replace("www.", "www&#46;").replace("WWW.", "WWW&#46;")  # GFM's www. links likewise


def url_link(url: str) -> str:
    """A source URL as a link that opens in a new tab (http and https only), else as text."""
    if not url.lower().startswith(("http://", "https://")):
        return safe(url)
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">{safe(url)}</a>'


_MARKDOWN_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$<>&])")


def plain(text: str) -> str:
    """Text for Streamlit elements that render markdown but no HTML (st.warning, st.success):
    every markdown character backslash-escaped, so a URL value or a file name shows as typed."""
    return _MARKDOWN_PUNCT.sub(r"\\\1", text)


def is_heading(line: str) -> bool:
    """Whether a paragraph reads as a section heading: a numbered line up to 40 characters, one
    up to 80 that ends no sentence (policy writing's (二)从回流来源地看,主要来自亚洲,…加快 heads
    its section in one long line), or a short unpunctuated line."""
    s = line.strip()
    if not s or len(s) > HEADING_MAX_CHARS:
        return False
    numbered, ends_sentence = bool(_HEAD_START.match(s)), s.endswith(_SENTENCE_END)
    if len(s) > 40:
        return numbered and not ends_sentence
    return numbered or (len(s) <= 25 and not ends_sentence)


def marked(text: str, spans: list[tuple[int, int, str]], script: str) -> str:
    """Escaped HTML of `text` with <mark> around spans; corpus text is never raw HTML. Blank lines
    are dropped (no gaps) and heading lines are shown as headings."""
    shown = convert_for_display(text, script)
    spans = sorted(spans)
    lines, pos = [], 0
    for line in shown.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        out, last = [], start
        for a, b, cls in spans:
            a, b = max(a, last), min(b, end)
            if a >= b:
                continue
            out += [safe(shown[last:a]), f'<mark class="{cls}">', safe(shown[a:b]), "</mark>"]
            last = b
        out.append(safe(shown[last:end]))
        body = "".join(out)
        # One block per line: no <br> after a heading block, so no blank line under it.
        lines.append(f'<div class="sechead">{body}</div>' if is_heading(line) else f"<div>{body}</div>")
    return "".join(lines)


def scroll_to(element_id: str, nonce: int) -> None:
    """Scroll the app to the element with this id once it is on the page. Streamlit renders
    elements as they arrive, so the script retries for a few seconds; `nonce` makes a new
    iframe (and a new scroll) even when the same paragraph is asked for again."""
    components.html(f"""<script>/* {nonce} */
const id = {json.dumps(element_id)};
let tries = 0;
const timer = setInterval(() => {{
  const el = window.parent.document.getElementById(id);
  if (el || ++tries > 100) {{ clearInterval(timer); if (el) el.scrollIntoView({{block: "center"}}); }}
}}, 100);
</script>""", height=0)


class StreamlitProgress:
    """The engine's progress protocol on a Streamlit progress bar."""

    def __init__(self, total: int, desc: str):
        self.total, self.done, self.desc = max(total, 1), 0, desc
        self.bar = st.progress(0.0, text=desc)

    def update(self, n: int) -> None:
        """Count `n` more items done."""
        self.done += n
        self.bar.progress(min(self.done / self.total, 1.0), text=f"{self.desc} {self.done}/{self.total}")

    def close(self) -> None:
        """Remove the bar."""
        self.bar.empty()
