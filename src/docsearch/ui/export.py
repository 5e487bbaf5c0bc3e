"""Citations and exports as plain text: no Streamlit here, so they are tested directly.

Citations and exports quote titles and text as written (not in the display script): a
citation should match the source.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

CSV_FIELDS = ("cite", "rank", "article_id", "title", "source", "date", "paragraph", "paragraph_end",
              "score", "answer_sentence", "text")


def paragraph_label(t: dict, first: int, last: int | None = None) -> str:
    """'第3段' / '¶3', or a range for a passage over several paragraphs."""
    if last and last != first:
        return t["paragraph"].format(n=f"{first}-{last}")
    return t["paragraph"].format(n=first)


def citation_text(t: dict, title: str, source: str, date: str, first: int, last: int | None = None,
                  url: str = "") -> str:
    """A citation to paste into notes: title, source, date, paragraph (and URL when known)."""
    source = source or t["source_unknown"]
    date = date or t["date_unknown"]
    para = paragraph_label(t, first, last)
    if t["paragraph"].startswith("第"):
        text = f"《{title.strip('《》')}》,{source},{date},{para}。"
    else:
        text = f"“{title}”, {source}, {date}, {para}."
    return f"{text} {url}" if url else text


def citation_numbers(resp: Any) -> dict[tuple[str, int], int]:
    """[n] per cited passage, numbered in the order the answer first cites them, then the
    passages the answer does not cite."""
    nums: dict[tuple[str, int], int] = {}
    for a in resp.answer:
        nums.setdefault((a.article_id, a.passage_rank), len(nums) + 1)
    for r, *_ in resp.passages:
        nums.setdefault((r.article_id, r.rank), len(nums) + 1)
    return nums


def in_citation_order(resp: Any) -> list[tuple]:
    """The answer's passages in the order of their [n]: a reference list reads [1], [2], [3]
    even when the answer cites a passage ranked below others (the rest keep their rank order)."""
    nums = citation_numbers(resp)
    return sorted(resp.passages, key=lambda p: nums[(p[0].article_id, p[0].rank)])


def declined_message(resp: Any, t: dict) -> str:
    """Why a declined question has no answer, in the interface language: far from everything the
    library holds (the topicality gate), or no sentence confident enough."""
    key = "off_topic" if getattr(resp, "off_topic", False) else "no_reliable_answer"
    return t[key].format(conf=getattr(resp, "confidence", 0.0))


def confidence_label(t: dict, confidence: float) -> str:
    """An answer sentence's calibrated confidence as the page and the export show it."""
    return f"{t['confidence']} {confidence:.2f}"


def answer_markdown(resp: Any, t: dict, urls: dict[str, str] | None = None) -> str:
    """The answer with its numbered citations and the cited passages, as Markdown."""
    urls = urls or {}
    nums = citation_numbers(resp)
    lines = [f"# {resp.question}", "", f"## {t['answer']}", ""]
    answered = getattr(resp, "answered", True)
    if not answered:    # a declined question exports as declined, its passages as related reading
        lines.append(declined_message(resp, t))
    for a in resp.answer:
        lines.append(f"- {a.text} [{nums[(a.article_id, a.passage_rank)]}] ({confidence_label(t, a.confidence)})")
    lines += ["", f"## {t['passages'] if answered else t['related']}", ""]
    for r, sent, _, _ in in_citation_order(resp):
        n = nums[(r.article_id, r.rank)]
        cite = citation_text(t, r.title, r.source, r.date, r.paragraph, r.paragraph_end, urls.get(r.article_id, ""))
        lines += [f"[{n}] {cite}", ""]
        lines += ["> " + line for line in r.text.splitlines() if line.strip()]
        lines.append("")
    return "\n".join(lines)


def _rows(resp: Any) -> list[dict]:
    nums = citation_numbers(resp)
    return [{"cite": nums[(r.article_id, r.rank)], "rank": r.rank, "article_id": r.article_id, "title": r.title,
             "source": r.source, "date": r.date, "paragraph": r.paragraph, "paragraph_end": r.paragraph_end,
             "score": round(r.score, 6), "answer_sentence": sent, "text": r.text}
            for r, sent, _, _ in resp.passages]


def results_csv(resp: Any) -> str:
    """The passages of an answer as CSV (UTF-8 with a BOM, so spreadsheet programs read the
    Chinese text right)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(_rows(resp))
    return "\ufeff" + buf.getvalue()


def results_json(resp: Any) -> str:
    """The whole answer in the engine's JSON form (what `docsearch ask --json` prints)."""
    return json.dumps(resp.to_json(), ensure_ascii=False, indent=2)


def lookup_csv(resp: Any) -> str:
    """Look-up hits as CSV: one row per passage, with its occurrence count."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["article_id", "title", "paragraph", "paragraph_end", "occurrences", "matches", "text"])
    for h in resp.results:
        writer.writerow([h.article_id, h.title, h.paragraph, h.paragraph_end, len(h.matches),
                         " ".join(h.text[a:b] for a, b in h.matches), h.text])
    return "\ufeff" + buf.getvalue()


def library_summary(arts: list, t: dict, escape=lambda s: s) -> str:
    """One line on what the library holds: articles, passages, sources, scripts, date range
    (`escape` makes the sources, which uploads set, safe for where the line is shown)."""
    sources = sorted({escape(a.source) for a in arts if a.source})
    scripts = sorted({a.script for a in arts if a.script})
    dates = sorted(a.date for a in arts if a.date)
    names = t["script_names"]
    span = (dates[0] if dates[0] == dates[-1] else f"{dates[0]} – {dates[-1]}") if dates else t["no_dates"]
    shown_sources = "、".join(sources[:6]) + (" …" if len(sources) > 6 else "") if sources else t["source_unknown"]
    return t["holdings"].format(a=len(arts), p=sum(a.passages for a in arts), s=shown_sources,
                                sc=", ".join(names.get(s, s) for s in scripts), d=span)


def shorten(text: str, limit: int = 40) -> str:
    """A long question cut for the history list."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
