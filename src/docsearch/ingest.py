"""Reading articles from files: front-matter text/Markdown and JSONL, in any common encoding.

Corpus file format (see corpus/README.md): an optional header between two `---` lines of
`key: value` pairs (id, title, source, date, url, script, original_file), then the body.
Without a header, the first non-empty line is the title and the rest is the body.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .normalize import canonical, detect_script

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl"}
HTML_SUFFIXES = {".html", ".htm"}
DOCUMENT_SUFFIXES = {".docx", ".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES | DOCUMENT_SUFFIXES
METADATA_KEYS = ("id", "title", "source", "date", "url", "script", "original_file", "added_at")
_ID_OK = re.compile(r"^[\w.\-:]{1,128}$", re.UNICODE)


class IngestError(ValueError):
    """A file or record that cannot be added; the message names it and says why."""


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


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode a text file; returns (text, encoding found). Raises IngestError for binary data."""
    if not data.strip():
        raise IngestError(f"{name}: file is empty")
    text, encoding = _decode(data, name)
    if _looks_binary(text):
        raise IngestError(f"{name}: binary data (control characters), not text")
    return text, encoding


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise IngestError(f"{name}: starts with a {enc} byte-order mark but is not {enc} "
                                  f"(bad bytes at {exc.start})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        for enc in ("utf-16-le", "utf-16-be"):  # UTF-16 saved without a byte-order mark
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if not _looks_binary(text):
                return text, enc
        raise IngestError(f"{name}: binary file (NUL bytes), not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "big5hkscs", "utf_16", "utf_8"]).best()
    if best is None:
        best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: cannot tell the text encoding (binary or unknown)")
    return str(best), best.encoding


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _looks_binary(text: str) -> bool:
    """NUL characters, or more than 2% control characters: not something a person wrote."""
    return "\x00" in text or len(_CONTROL.findall(text)) > 0.02 * len(text)


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
        raise IngestError(f"{name}: no text to index")
    known = {k: meta.pop(k) for k in list(meta) if k in METADATA_KEYS}
    fields_ = {**{k: v for k, v in defaults.items() if v}, **known}
    return Article(title=title, text=body.strip("\n"), extra=meta, **fields_)


def article_from_record(record: dict, where: str) -> Article:
    if not isinstance(record, dict):
        raise IngestError(f"{where}: not a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise IngestError(f"{where}: missing or empty \"text\"")
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
        raise IngestError(f"{where}: text holds an invalid character (a lone UTF-16 surrogate)") from None
    art = Article(title=title, text=text, extra=extra, **kw)
    if art.id is not None and not _ID_OK.match(art.id):
        raise IngestError(f"{where}: id {art.id!r} must be 1-128 letters, digits or . _ - :")
    return art


def read_path(path: Path, max_bytes: int) -> list[Article]:
    """Articles in one file. Raises IngestError naming the file and the reason."""
    name = str(path)
    if not path.exists():
        raise IngestError(f"{name}: no such file")
    if path.is_dir():
        raise IngestError(f"{name}: is a folder (give the files inside it)")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{name}: unsupported file type {suffix or '(none)'}; "
                          f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{name}: cannot read ({exc.strerror})") from exc
    if suffix == ".docx":
        return [_read_docx(data, name, path.name)]
    if suffix == ".pdf":
        return [_read_pdf(data, name, path.name)]
    text, encoding = decode_bytes(data, name)
    arts = _read_text(text, suffix, name, path.name)
    for art in arts:
        art.encoding = encoding
    return arts


def _read_text(text: str, suffix: str, name: str, file_name: str) -> list[Article]:
    if suffix in HTML_SUFFIXES:
        return [_read_html(text, name, file_name)]
    if suffix in JSONL_SUFFIXES:
        out = []
        for n, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(f"{name}:{n}: invalid JSON ({exc.msg})") from exc
            out.append(article_from_record(record, f"{name}:{n}"))
        if not out:
            raise IngestError(f"{name}: no articles in file")
        return out
    return [article_from_text(text, name, original_file=file_name)]


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Article files of a corpus folder, in name order (README files are documentation)."""
    if not corpus_dir.is_dir():
        return []
    return sorted(p for p in corpus_dir.iterdir()
                  if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                  and not p.name.lower().startswith("readme"))


def read_corpus_file(path: Path, max_bytes: int) -> list[Article]:
    """Like read_path, but a text file's id defaults to its file name stem."""
    arts = read_path(path, max_bytes)
    if path.suffix.lower() in TEXT_SUFFIXES:
        for a in arts:
            a.id = a.id or path.stem
    return arts


def _read_html(text: str, name: str, file_name: str) -> Article:
    """Main text and metadata of a web page (trafilatura: no scripts, styles or navigation)."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(text, with_metadata=True, favor_precision=True, include_comments=False)
    except Exception as exc:  # noqa: BLE001 - lxml and trafilatura raise many kinds of errors on odd markup
        raise IngestError(f"{name}: not a readable web page ({_reason(exc)})") from None
    body = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not body:
        raise IngestError(f"{name}: no main text found in the HTML")
    title = (doc.title or "").strip() or body.split("\n", 1)[0][:80]
    return Article(title=title, text=body, source=doc.sitename or doc.hostname or "", date=doc.date or "",
                   url=doc.url or "", original_file=file_name)


def _read_docx(data: bytes, name: str, file_name: str) -> Article:
    import io

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        body = "\n".join(p.text for p in document.paragraphs if p.text.strip())
        props = document.core_properties
        title, author, ident = (props.title or "").strip(), (props.author or "").strip(), (props.identifier or "").strip()
        created = props.created
    except Exception as exc:  # noqa: BLE001 - a damaged file makes zipfile/lxml/docx raise anything
        raise IngestError(f"{name}: not a readable .docx file ({_reason(exc)})") from None
    if not body.strip():
        raise IngestError(f"{name}: the document has no text")
    _check_text(body, name)
    return Article(title=title or body.split("\n", 1)[0][:80], text=body, source=author,
                   date=created.date().isoformat() if created else "",
                   url=ident if ident.startswith(("http://", "https://")) else "", original_file=file_name)


def _reason(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120] or type(exc).__name__


def _check_text(text: str, name: str) -> None:
    """Text pulled out of a document must be writable (no lone surrogates) and not binary noise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError(f"{name}: the text holds invalid characters") from None
    if _looks_binary(text):
        raise IngestError(f"{name}: the extracted text is binary data, not text")


_LINE_END = "。！？!?；;:：”」』)）"


def _read_pdf(data: bytes, name: str, file_name: str) -> Article:
    """Text layer of a PDF; visual lines joined back into paragraphs (a line that does not end
    a sentence continues on the next one)."""
    import logging
    import warnings

    # pypdf logs and warns about each flaw it works around; the user gets one line from us instead.
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _pdf_article(data, name, file_name)


def _pdf_article(data: bytes, name: str, file_name: str) -> Article:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(f"{name}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata or {}
        title, author = (getattr(meta, "title", None) or ""), (getattr(meta, "author", None) or "")
        try:
            created = meta.creation_date if meta else None
        except Exception:  # noqa: BLE001 - a malformed date string is not worth refusing the file
            created = None
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds of errors on damaged files
        raise IngestError(f"{name}: not a readable PDF ({_reason(exc)})") from None
    paragraphs, current = [], ""
    for line in "\n".join(pages).split("\n"):
        line = line.strip()
        if not line:
            if current:
                paragraphs.append(current)
                current = ""
            continue
        joiner = " " if current and current[-1].isascii() and line[0].isascii() else ""
        current = current + joiner + line if current else line
        if line[-1] in _LINE_END:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    body = "\n".join(paragraphs)
    if not body.strip():
        raise IngestError(f"{name}: the PDF has no text layer (a scan?); run OCR first")
    _check_text(body, name)
    return Article(title=str(title).strip() or paragraphs[0][:80], text=body, source=str(author).strip(),
                   date=created.date().isoformat() if created else "", original_file=file_name)
