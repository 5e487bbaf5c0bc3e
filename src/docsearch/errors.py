"""Every error docsearch reports to a user. Each message is one line that says what went wrong
and what to do; the CLI prints it as is and the app shows it, so none carries a traceback.

They share `DocSearchError`, so a caller can catch them all; each also keeps the built-in base
it always had (ValueError for bad input, RuntimeError for an index or backend state).
"""
from __future__ import annotations


class DocSearchError(Exception):
    """Base of every error meant for the user."""


class QueryError(DocSearchError, ValueError):
    """A query that cannot be run (empty after cleaning); the message says why."""


class IngestError(DocSearchError, ValueError):
    """A file or record that cannot be added; the message names it and says why, and `code`
    says why in one word an interface translates (responses.REFUSAL_CODES)."""

    def __init__(self, message: str, code: str = "unreadable"):
        super().__init__(message)
        self.code = code


class IndexBusy(DocSearchError, RuntimeError):
    """Another process holds the writer lock of this index."""


class IndexFormatError(DocSearchError, RuntimeError):
    """The index on disk was written by an incompatible version of docsearch."""


class IndexCorrupt(DocSearchError, RuntimeError):
    """A derived part of the index cannot be read; `repair` rebuilds it."""

    reason: str = ""

    @classmethod
    def unreadable_vectors(cls, reason: str) -> "IndexCorrupt":
        """The stored vectors cannot be used; `reason` is the backend's one-line explanation."""
        reason = " ".join(reason.split())[:160]
        err = cls(f"the vector index cannot be used ({reason}); run `docsearch repair`")
        err.reason = reason
        return err


class BackendError(DocSearchError, RuntimeError):
    """The backend cannot be reached or used; the message is one line for the user."""


class ModelUnavailable(DocSearchError, RuntimeError):
    """The configured embedding model cannot be loaded; the message says how to fix it."""
