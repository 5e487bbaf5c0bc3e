"""Turning corpus text into safe HTML for Streamlit, progress bars and links."""
from __future__ import annotations

import html
from urllib.parse import urlencode

import streamlit as st

from docsearch.text.normalize import convert_for_display


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


class StreamlitProgress:
    """The engine's progress protocol on a Streamlit progress bar."""

    def __init__(self, total: int, desc: str):
        self.total, self.done, self.desc = max(total, 1), 0, desc
        self.bar = st.progress(0.0, text=desc)

    def update(self, n: int) -> None:
        self.done += n
        self.bar.progress(min(self.done / self.total, 1.0), text=f"{self.desc} {self.done}/{self.total}")

    def close(self) -> None:
        self.bar.empty()


def link(**params: str) -> str:
    """A link to a page of this app with the given URL parameters."""
    return "?" + urlencode(params)
