"""Readers and editors of a shared library.

Readers ask, look up and read; editors also add and remove. The editor credential is a salted
PBKDF2 hash kept in the library's own metadata, so every app server of a shared (Milvus) library
sees the same one; it is set with `docsearch editor-password`. With no credential the library is
open (the local single-user default); `read_only` in the settings turns changes off entirely.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

CREDENTIAL_KEY = "editor_credential"
_ITERATIONS = 200_000
# Failed sign-ins are slowed down: the n-th failure in a row waits 0.5·2^(n-1) s, at most 8 s.
_BASE_DELAY, _MAX_DELAY = 0.5, 8.0
_failures = 0
_lock = threading.Lock()


def hash_secret(secret: str, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; a malformed record never matches."""
    try:
        kind, iterations, salt, digest = stored.split("$")
        if kind != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), bytes.fromhex(salt), int(iterations))
        return hmac.compare_digest(got, bytes.fromhex(digest))
    except (ValueError, AttributeError):
        return False


def failure_delay(failures: int) -> float:
    return 0.0 if failures <= 0 else min(_BASE_DELAY * 2 ** (failures - 1), _MAX_DELAY)


def sign_in(store, secret: str) -> bool:
    """Check an editor secret against the library's credential; failures in a row (in this
    process, whatever the session) make every next attempt wait longer."""
    global _failures
    stored = store.get_meta(CREDENTIAL_KEY)
    with _lock:
        wait = failure_delay(_failures)
    time.sleep(wait)
    ok = bool(stored) and check_secret(secret, stored)
    with _lock:
        _failures = 0 if ok else _failures + 1
    return ok


def set_credential(store, secret: str | None) -> None:
    """Set (or with None, clear) the editor credential of a library."""
    store.set_meta(CREDENTIAL_KEY, hash_secret(secret) if secret else "")


def has_credential(store) -> bool:
    return bool(store.get_meta(CREDENTIAL_KEY))


def can_edit(settings, store, signed_in: bool) -> bool:
    """Whether this session may change the library."""
    if settings.read_only:
        return False
    return signed_in or not has_credential(store)
