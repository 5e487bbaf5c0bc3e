"""Narrowing a search, an answer or a look-up to some articles: by id, by source and by the
article's date (a range; undated articles are left out of a dated range)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from docsearch.errors import QueryError
from docsearch.storage.base import ArticleRow
from docsearch.text.normalize import canonical

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The date an article's metadata gives: a year, a month or a day (2024, 2024-01, 2024-01-15).
_ARTICLE_DATE = re.compile(r"(\d{4})(?:[-./年](\d{1,2})(?:[-./月](\d{1,2}))?)?")


@dataclass(frozen=True)
class Filters:
    articles: tuple[str, ...] = ()
    source: str = ""      # a part of the source's name, in either script, any case
    since: str = ""       # YYYY-MM-DD, inclusive
    until: str = ""       # YYYY-MM-DD, inclusive

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value and not _valid_day(value):
                raise QueryError(f"--{name} {value!r}: give a date as YYYY-MM-DD, e.g. 2024-01-31")
        if self.since and self.until and self.since > self.until:
            raise QueryError(f"--since {self.since} is after --until {self.until}: nothing can match")

    @property
    def active(self) -> bool:
        return bool(self.articles or self.source.strip() or self.since or self.until)

    def allows(self, row: ArticleRow) -> bool:
        """Whether an article passes every filter."""
        if self.articles and row.id not in self.articles:
            return False
        if self.source.strip() and canonical(self.source.strip()).lower() not in canonical(row.source).lower():
            return False
        if self.since or self.until:
            span = article_days(row.date)
            if span is None:
                return False
            first, last = span
            if (self.since and last < self.since) or (self.until and first > self.until):
                return False
        return True

    def describe(self) -> dict:
        """The active filters, as the JSON output shows them."""
        out: dict = {}
        if self.articles:
            out["articles"] = list(self.articles)
        for name in ("source", "since", "until"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def _valid_day(value: str) -> bool:
    if not _DAY.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def article_days(value: str) -> tuple[str, str] | None:
    """The first and last day an article's date stands for (a year covers the whole year), as
    YYYY-MM-DD; None for an undated article."""
    m = _ARTICLE_DATE.search(value or "")
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    if month and day:
        d = f"{year}-{int(month):02d}-{int(day):02d}"
        return d, d
    if month:
        return f"{year}-{int(month):02d}-01", f"{year}-{int(month):02d}-31"
    return f"{year}-01-01", f"{year}-12-31"


def allowed_articles(rows: list[ArticleRow], filters: Filters) -> set[str]:
    """The ids of the articles that pass; unknown ids asked for by name are an error."""
    known = {r.id for r in rows}
    missing = [a for a in filters.articles if a not in known]
    if missing:
        raise QueryError(f"no article with id {missing[0]!r} (see `docsearch list`)")
    return {r.id for r in rows if filters.allows(r)}
