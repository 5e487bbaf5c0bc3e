"""Passages that follow the source's paragraphs, with offsets back into the article text.

A paragraph is a non-empty line. Short lines that do not end a sentence are headings: they join
the paragraph they introduce. Paragraphs longer than the limit split at sentence ends.
Paragraph numbers count non-empty lines from 1, as the article view shows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A line ending in one of these is not a heading.
_SENTENCE_END = "。！？!?…；;"
# A sentence ends at a full stop, question or exclamation mark (plus closing quotes/brackets);
# semicolons stay inside: measured on DRCD/CMRC, splitting there cuts answers apart.
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」』)）\"']*|$)")
_LINE = re.compile(r"[^\n]+")
# Section markers: (1) (一) 1. 01. 一是 第三 ▍ ■ ● … — a short line opening with one is a heading
# even when it ends with a full stop.
_ENUMERATED = re.compile(r"^\s*(?:[(（][0-9一二三四五六七八九十]+[)）]|[0-9]{1,2}[.、)]|[一二三四五六七八九十]+[是、.]"
                         r"|第[一二三四五六七八九十0-9]+[章节部分期条]|[▍■●◆▶#]+)")


@dataclass(frozen=True)
class Paragraph:
    number: int
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    paragraph: int       # first source paragraph in the passage
    paragraph_end: int   # last source paragraph in the passage
    start: int           # character offsets into the article text
    end: int
    text: str


def paragraphs(text: str) -> list[Paragraph]:
    """Non-empty lines with their offsets, leading/trailing white space trimmed."""
    out: list[Paragraph] = []
    for m in _LINE.finditer(text):
        line = m.group(0)
        stripped = line.strip()
        if not stripped:
            continue
        lead = len(line) - len(line.lstrip())
        start = m.start() + lead
        out.append(Paragraph(len(out) + 1, start, start + len(stripped)))
    return out


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets of the sentences in text[start:end], white space trimmed, none empty."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for m in _SENTENCE.finditer(text, start, end):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans


def is_enumerated(line: str) -> bool:
    """Whether a line or sentence opens with a section marker ((一), 2., 一是, 第三期 …)."""
    return bool(_ENUMERATED.match(line))


def _is_heading(text: str, p: Paragraph, max_chars: int) -> bool:
    line = text[p.start:p.end]
    if len(line) > max_chars:
        # A numbered section title may run long (a whole clause) but still ends no sentence.
        return len(line) <= 2 * max_chars and is_enumerated(line) and line[-1] not in _SENTENCE_END
    return line[-1] not in _SENTENCE_END or line[-1] in ":：" or is_enumerated(line)


def _split_long(text: str, a: int, b: int, max_chars: int) -> list[tuple[int, int]]:
    """Pack whole sentences into pieces of at most max_chars (a longer sentence stays whole
    unless it exceeds twice the limit, then it is cut at the limit)."""
    pieces: list[tuple[int, int]] = []
    cur_a = cur_b = None
    for sa, sb in sentence_spans(text, a, b):
        while sb - sa > 2 * max_chars:
            if cur_a is not None:
                pieces.append((cur_a, cur_b))
                cur_a = None
            pieces.append((sa, sa + max_chars))
            sa += max_chars
        if cur_a is None:
            cur_a, cur_b = sa, sb
        elif sb - cur_a <= max_chars:
            cur_b = sb
        else:
            pieces.append((cur_a, cur_b))
            cur_a, cur_b = sa, sb
    if cur_a is not None:
        pieces.append((cur_a, cur_b))
    return pieces


def chunk(text: str, max_chars: int = 400, heading_max_chars: int = 50) -> list[Chunk]:
    """Split an article's text into passages (see module doc)."""
    paras = paragraphs(text)
    chunks: list[Chunk] = []
    pending: list[Paragraph] = []  # headings waiting for the paragraph they introduce

    def emit(first: Paragraph, last: Paragraph, a: int, b: int) -> None:
        chunks.append(Chunk(first.number, last.number, a, b, text[a:b]))

    def flush_pending() -> None:
        if pending:
            emit(pending[0], pending[-1], pending[0].start, pending[-1].end)
            pending.clear()

    for p in paras:
        if _is_heading(text, p, heading_max_chars):
            if pending and p.end - pending[0].start > max_chars:
                flush_pending()
            pending.append(p)
            continue
        length = p.end - p.start
        if length <= max_chars:
            if pending and p.end - pending[0].start <= max_chars + heading_max_chars:
                emit(pending[0], p, pending[0].start, p.end)
                pending.clear()
            else:
                flush_pending()
                emit(p, p, p.start, p.end)
            continue
        pieces = _split_long(text, p.start, p.end, max_chars)
        first_a, first_b = pieces[0]
        if pending and first_b - pending[0].start <= max_chars + heading_max_chars:
            emit(pending[0], p, pending[0].start, first_b)
            pending.clear()
            pieces = pieces[1:]
        else:
            flush_pending()
        for a, b in pieces:
            emit(p, p, a, b)
    flush_pending()
    return chunks
