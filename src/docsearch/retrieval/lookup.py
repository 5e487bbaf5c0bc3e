"""Exact look-up: every passage that holds a keyword, in any script or regional vocabulary, in
corpus order, with the offsets of each occurrence; nothing that lacks it."""
from __future__ import annotations

from dataclasses import replace

from docsearch.errors import QueryError
from docsearch.responses import LookupHit, LookupResponse, citation
from docsearch.storage.base import Store
from docsearch.text import segment
from docsearch.text.highlight import spans_of, term_pattern
from docsearch.text.normalize import clean_query, term_variants

MAX_KEYWORD_CHARS = 200
# Quotes that make several words one phrase in `lookup_words`.
_OPEN_QUOTES, _QUOTES = '"“', '"“”'


def lookup(store: Store, keyword: str, limit: int | None = None, allowed: set[str] | None = None) -> LookupResponse:
    """Every passage holding `keyword` (a word or a phrase; spaces inside it may vary), of the
    `allowed` articles only when that is given."""
    cleaned = clean_query(keyword)
    if not cleaned:
        raise QueryError("empty keyword: type a word or phrase to look up")
    if len(cleaned) > MAX_KEYWORD_CHARS:
        raise QueryError(f"keyword too long for lookup (over {MAX_KEYWORD_CHARS} characters): use search instead")
    forms = sorted(f for f in term_variants(cleaned) if segment.chars(f))
    if not forms:
        raise QueryError(f"keyword {keyword!r} has no letters, digits or characters to look up")
    patterns = [term_pattern(f) for f in forms]
    rows = store.passages(store.phrase_candidates([segment.chars(f) for f in forms]))
    order = store.article_order()
    hits: list[LookupHit] = []
    titles: dict[str, str] = {}
    for p in sorted(rows.values(), key=lambda p: (order.get(p.article_id, 0), p.ordinal)):
        if allowed is not None and p.article_id not in allowed:
            continue
        spans = spans_of(p.text, patterns)
        if not spans:
            continue
        if p.article_id not in titles:
            art = store.article(p.article_id)
            titles[p.article_id] = art.title if art else p.article_id
        title = titles[p.article_id]
        hits.append(LookupHit(p.article_id, title, p.paragraph, p.paragraph_end, p.text, spans,
                              citation(title, p.article_id, p.paragraph, p.paragraph_end), p.id))
        if limit and len(hits) >= limit:
            break
    return LookupResponse(keyword, forms, hits)


def split_keywords(text: str) -> list[str]:
    """The keywords of a look-up box: a quoted phrase is one keyword, otherwise each word is."""
    text = text.strip()
    return [text.strip(_QUOTES)] if text[:1] in _OPEN_QUOTES else text.split()


def lookup_words(store: Store, text: str, allowed: set[str] | None = None, every: bool = False) -> LookupResponse:
    """Passages holding any of the keywords in `text` (see split_keywords), or with `every` all
    of them: lookup_keywords over the words of a look-up box."""
    resp = lookup_keywords(store, split_keywords(text), allowed, every)
    resp.keyword = text
    return resp


def lookup_keywords(store: Store, keywords: list[str], allowed: set[str] | None = None,
                    every: bool = False) -> LookupResponse:
    """Passages holding any of `keywords` (each a word or phrase), or with `every` all of them, in
    corpus order, each with the occurrences of all of them; with each keyword's own counts."""
    keywords = [k for k in keywords if k.strip()]
    if not keywords:
        raise QueryError("empty keyword: type a word or phrase to look up")
    hits: dict[int, LookupHit] = {}
    forms: list[str] = []
    holding: list[set[int]] = []
    per_keyword = []
    for word in keywords:
        resp = lookup(store, word, allowed=allowed)
        forms += [f for f in resp.forms if f not in forms]
        holding.append({h.passage_id for h in resp.results})
        per_keyword.append({"keyword": word, "forms": resp.forms, "passages": len(resp.results),
                            "occurrences": resp.occurrences})
        for h in resp.results:
            prev = hits.get(h.passage_id)
            hits[h.passage_id] = h if prev is None else replace(
                prev, matches=sorted(set(prev.matches) | set(h.matches)))
    if every:
        hits = {pid: h for pid, h in hits.items() if all(pid in s for s in holding)}
    order = store.article_order()
    results = sorted(hits.values(), key=lambda h: (order.get(h.article_id, 0), h.paragraph, h.passage_id))
    return LookupResponse(" ".join(keywords), forms, results,
                          per_keyword=per_keyword if len(keywords) > 1 else [],
                          combine=("all" if every else "any") if len(keywords) > 1 else "")
