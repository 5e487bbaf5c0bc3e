"""Where terms occur in a text, in any script or regional vocabulary: the spans that look-up
counts and the app and CLI mark.

Matching runs on the aligned Simplified view of the text (same length, same offsets), so a span
found there marks the same characters in the text as written.
"""
from __future__ import annotations

import re
from typing import Iterable

from docsearch.text.normalize import aligned_simplified, term_variants


def term_pattern(form: str, whole_words: bool = False) -> re.Pattern[str]:
    """Han characters match anywhere; a Latin/digit run must start at a word start (and with
    `whole_words` also end at a word end: marking "go" inside "Good" helps no reader)."""
    pieces = []
    for part in re.split(r"(\s+)", form):
        if not part:
            continue
        if part.isspace():
            pieces.append(r"\s*")
            continue
        esc = re.escape(part)
        if part[0].isascii() and part[0].isalnum():
            esc = r"(?<![0-9a-z])" + esc
        pieces.append(esc)
    if whole_words and form.rstrip()[-1:].isascii() and form.rstrip()[-1:].isalnum():
        pieces.append(r"(?![0-9a-z])")
    return re.compile("".join(pieces))


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def spans_of(text: str, patterns: list[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Merged spans of any of the patterns in `text` (matched on its aligned Simplified view)."""
    view = aligned_simplified(text)
    return merge_spans(m.span() for pat in patterns for m in pat.finditer(view))


def highlight_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Where the given (canonical) terms occur in `text`, in any script or vocabulary. Single
    Latin letters and digits are left out: they would mark half the text."""
    forms = {f for t in terms if len(t) > 1 or not t.isascii() for f in term_variants(t) if f.strip()}
    return spans_of(text, [term_pattern(f, whole_words=True) for f in forms])
