"""An article as docsearch reads it: text, metadata and identity; from front-matter text or a JSON record.

Corpus file format (see corpus/README.md): an optional header between two `---` lines of
`key: value` pairs (id, title, source, date, url, script, original_file), then the body.
Without a header, the first non-empty line is the title and the rest is the body.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from docsearch.errors import IngestError
from docsearch.text.normalize import canonical, detect_script


METADATA_KEYS = ("id", "title", "source", "date", "url", "script", "original_file", "added_at")
_ID_OK = re.compile(r"^[\w.\-:]{1,128}$", re.UNICODE)


@dataclass
class Article:
    title: str
    text: str
    id: str | None = None
    source: str = ""
    date: str = ""
    url: str = ""
    script: str = ""
    original_file: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    # When it was first added (kept by export/add round trips; empty: now).
    added_at: str = ""
    # The text encoding found in the file, reported by `add` (not stored).
    encoding: str = ""
    # (text, its content hash): the hash converts the whole text with OpenCC, and an add asks for
    # it several times per article (it was 40% of a bulk add's main process).
    _hash: tuple[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.text = normalize_newlines(self.text)
        self.title = " ".join(self.title.split())
        if not self.script:
            self.script = detect_script(self.title + "\n" + self.text)

    @property
    def content_hash(self) -> str:
        """Identity of the content: the same text in another script or spacing is a duplicate."""
        if self._hash is None or self._hash[0] is not self.text:
            body = "".join(canonical(self.text).split())
            self._hash = (self.text, hashlib.sha1(body.encode("utf-8")).hexdigest())
        return self._hash[1]

    def ensure_id(self) -> str:
        if not self.id:
            self.id = self.content_hash[:16]
        return self.id


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split `---` header lines of `key: value` from the body."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return meta, "\n".join(lines[i + 1:])
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip()
    return {}, text  # no closing line: not a header after all


def article_from_text(text: str, name: str, **defaults: str) -> Article:
    meta, body = parse_front_matter(normalize_newlines(text))
    title = meta.pop("title", "")
    if not title:
        lines = body.split("\n")
        for i, line in enumerate(lines):
            if line.strip():
                title = line.strip()
                rest = "\n".join(lines[i + 1:])
                # A one-paragraph note is its own text (its start is the title).
                body = rest if rest.strip() else body
                title = title if rest.strip() else title[:80]
                break
    if not body.strip():
        raise IngestError(f"{name}: no text to index", code="no_text")
    known = {k: meta.pop(k) for k in list(meta) if k in METADATA_KEYS}
    fields_ = {**{k: v for k, v in defaults.items() if v}, **known}
    return Article(title=title, text=body.strip("\n"), extra=meta, **fields_)


def article_from_record(record: dict, where: str) -> Article:
    if not isinstance(record, dict):
        raise IngestError(f"{where}: not a JSON object", code="bad_record")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"{where}: missing or empty \"text\"", code="no_text")
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        title = text.strip().split("\n", 1)[0][:80]
    kw = {k: str(record[k]) for k in METADATA_KEYS if k not in ("title",) and record.get(k) not in (None, "")}
    extra = {k: str(v) for k, v in record.items() if k not in METADATA_KEYS and k not in ("text", "extra")}
    if isinstance(record.get("extra"), dict):  # what `export` writes
        extra.update({str(k): str(v) for k, v in record["extra"].items()})
    elif "extra" in record:
        extra["extra"] = str(record["extra"])
    try:  # JSON escapes can spell lone surrogates, which no database or file can hold
        for value in (text, title, *kw.values(), *extra.keys(), *extra.values()):
            value.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError(f"{where}: text holds an invalid character (a lone UTF-16 surrogate)", code="encoding") from None
    art = Article(title=title, text=text, extra=extra, **kw)
    if art.id is not None and not _ID_OK.match(art.id):
        raise IngestError(f"{where}: id {art.id!r} must be 1-128 letters, digits or . _ - :", code="bad_record")
    return art


def pasted_article(title: str, body: str, **metadata: str) -> Article:
    """An article from text pasted into the app. Without a title the rule of text files applies:
    the first non-empty line is the title (see article_from_text)."""
    if title.strip():
        if not body.strip():
            raise IngestError("pasted text: no text to index", code="no_text")
        return Article(title=title, text=body.strip("\n"), **{k: v for k, v in metadata.items() if v})
    return article_from_text(body, "pasted text", **metadata)
