"""Bytes to text: UTF-8/UTF-16 by their marks, GB18030/GBK and Big5 found by charset-normalizer,
and binary content refused with a message that names the file."""
from __future__ import annotations

import re

from docsearch.errors import IngestError


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode a text file; returns (text, encoding found). Raises IngestError for binary data."""
    if not data.strip():
        raise IngestError(f"{name}: file is empty", code="empty")
    text, encoding = _decode(data, name)
    if looks_binary(text):
        raise IngestError(f"{name}: binary data (control characters), not text", code="binary")
    return text, encoding


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError as exc:
                raise IngestError(f"{name}: starts with a {enc} byte-order mark but is not {enc} "
                                  f"(bad bytes at {exc.start})", code="encoding") from None
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
            if not looks_binary(text):
                return text, enc
        raise IngestError(f"{name}: binary file (NUL bytes), not text", code="binary")
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "big5hkscs", "utf_16", "utf_8"]).best()
    if best is None:
        best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: cannot tell the text encoding (binary or unknown)", code="encoding")
    return str(best), best.encoding


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def looks_binary(text: str) -> bool:
    """NUL characters, or more than 2% control characters: not something a person wrote."""
    return "\x00" in text or len(_CONTROL.findall(text)) > 0.02 * len(text)


def check_text(text: str, name: str) -> None:
    """Text pulled out of a document must be writable (no lone surrogates) and not binary noise."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError(f"{name}: the text holds invalid characters", code="encoding") from None
    if looks_binary(text):
        raise IngestError(f"{name}: the extracted text is binary data, not text", code="binary")
