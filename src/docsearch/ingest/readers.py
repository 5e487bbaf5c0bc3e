"""Articles from files, one reader per format: text and Markdown with an optional header, JSONL
of article records, web pages (trafilatura), Word documents (python-docx) and PDF text layers
(pypdf); and the article files of a corpus folder."""
from __future__ import annotations

import json
from pathlib import Path

from docsearch.errors import IngestError
from docsearch.ingest.article import Article, article_from_record, article_from_text
from docsearch.ingest.decode import check_text, decode_bytes


TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl"}
HTML_SUFFIXES = {".html", ".htm"}
DOCUMENT_SUFFIXES = {".docx", ".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES | DOCUMENT_SUFFIXES


def read_path(path: Path, max_bytes: int) -> list[Article]:
    """Articles in one file. Raises IngestError naming the file and the reason."""
    name = str(path)
    if not path.exists():
        raise IngestError(f"{name}: no such file", code="missing")
    if path.is_dir():
        raise IngestError(f"{name}: is a folder (give the files inside it)", code="folder")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"{name}: unsupported file type {suffix or '(none)'}; "
                          f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}", code="unsupported")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"{name}: {size:,} bytes is over the {max_bytes:,}-byte limit", code="too_big")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{name}: cannot read ({exc.strerror})", code="unreadable") from exc
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
                raise IngestError(f"{name}:{n}: invalid JSON ({exc.msg})", code="invalid_json") from exc
            out.append(article_from_record(record, f"{name}:{n}"))
        if not out:
            raise IngestError(f"{name}: no articles in file", code="no_articles")
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
        raise IngestError(f"{name}: not a readable web page ({_reason(exc)})", code="unreadable") from None
    body = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not body:
        raise IngestError(f"{name}: no main text found in the HTML", code="no_text")
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
        raise IngestError(f"{name}: not a readable .docx file ({_reason(exc)})", code="unreadable") from None
    if not body.strip():
        raise IngestError(f"{name}: the document has no text", code="no_text")
    check_text(body, name)
    return Article(title=title or body.split("\n", 1)[0][:80], text=body, source=author,
                   date=created.date().isoformat() if created else "",
                   url=ident if ident.startswith(("http://", "https://")) else "", original_file=file_name)


def _reason(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120] or type(exc).__name__


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
            raise IngestError(f"{name}: the PDF is encrypted", code="encrypted")
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
        raise IngestError(f"{name}: not a readable PDF ({_reason(exc)})", code="unreadable") from None
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
        raise IngestError(f"{name}: the PDF has no text layer (a scan?); run OCR first", code="no_text_layer")
    check_text(body, name)
    return Article(title=str(title).strip() or paragraphs[0][:80], text=body, source=str(author).strip(),
                   date=created.date().isoformat() if created else "", original_file=file_name)
