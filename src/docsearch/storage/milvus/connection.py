"""Connecting to Milvus (a server, or a Milvus Lite file served by this process), the names of
a library's collections, and small helpers for Milvus filter expressions."""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from docsearch.config import Settings
from docsearch.errors import BackendError

MAX_VARCHAR = 65535
TEXT_PART_CHARS = 16000          # 4 bytes per character at most: one part fits a VARCHAR
QUERY_WINDOW = 16384             # Milvus's largest query/search result window
BATCH = 1000
DUMMY = {"v": [0.0, 0.0]}
# Meta key rewritten with a new random value by every write: readers' caches of counts compare it.
VERSION_KEY = "library_version"
# The file in the index folder that names this folder's writer of term statistics (terms.py).
WRITER_FILE = "milvus-writer-id"


def pymilvus_module():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # milvus_lite imports the deprecated pkg_resources
            import pymilvus
    except ImportError as exc:
        raise BackendError("the milvus backend needs pymilvus: pip install 'docsearch[milvus]'") from exc
    # pymilvus logs every failed call at ERROR; docsearch reports failures itself, in one line.
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pymilvus


def resolve_uri(settings: Settings) -> str:
    return settings.milvus_uri or str(Path(settings.index_dir) / "milvus.db")


def is_server_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def literal(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def like_any(field: str, token_runs: Iterable[str]) -> str:
    """`field` (space-padded tokens) holds any of the space-joined token runs, whole tokens only."""
    parts = []
    for run in token_runs:
        pat = run.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append(f"{field} like {literal('% ' + pat + ' %')}")
    return " or ".join(parts)


def writer_id(index_dir: Path) -> str:
    """The name under which this index folder's processes write term statistics. Processes that
    share the folder also share its writer lock, so they never write the same rows at once."""
    path = Path(index_dir) / WRITER_FILE
    for _ in range(2):
        try:
            name = path.read_text(encoding="ascii").strip()
            if len(name) == 32:
                return name
        except (OSError, UnicodeDecodeError):
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(uuid.uuid4().hex, encoding="ascii")
        try:
            os.link(tmp, path)  # fails if another process named the folder first: read theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="ascii").strip()


@contextmanager
def _quiet_stderr(log_path: Path | None) -> Iterator[None]:
    """Point fd 2 at a log file while Milvus Lite's server starts: it inherits the descriptor and
    would otherwise print its engine's INFO lines into every CLI's stderr."""
    if log_path is None:
        yield
        return
    saved = os.dup(2)
    try:
        fd = os.open(str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def connect(settings: Settings):
    """A MilvusClient for the settings' URI; any failure is one BackendError line."""
    pymilvus = pymilvus_module()
    uri = resolve_uri(settings)
    lite = not is_server_uri(uri)
    if lite:
        path = Path(uri).expanduser().resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the folder for the Milvus Lite file {path}: {exc.strerror}") from exc
        uri = str(path)
    if lite:
        # Checked before connecting: a failed attempt by milvus_lite itself upsets the lock file.
        # Sequential CLI calls on one Lite file overlap a little while the previous server stops.
        deadline = time.monotonic() + settings.milvus_lite_wait
        while _lite_in_use(Path(uri)):
            if time.monotonic() >= deadline:
                raise BackendError(f"cannot open the Milvus Lite file {uri}: it is in use by another process "
                                   "(Milvus Lite serves one process per file; share a library through a "
                                   "Milvus server)")
            time.sleep(0.5)
    try:
        with _quiet_stderr(Path(uri + ".log") if lite else None):
            # A Lite server starting on a busy machine can take a while before it answers.
            timeout = max(settings.milvus_timeout, 60.0) if lite else settings.milvus_timeout
            return pymilvus.MilvusClient(uri=uri, token=settings.milvus_token, timeout=timeout)
    except (pymilvus.exceptions.MilvusException, RuntimeError) as exc:  # RuntimeError: a bad Lite file name
        if lite:
            raise BackendError(f"cannot open the Milvus Lite file {uri}: {reason_of(exc)}") from exc
        raise BackendError(f"cannot reach Milvus at {uri}: {reason_of(exc)}") from exc


def _lite_in_use(path: Path) -> bool:
    """Whether another process holds the lock Milvus Lite keeps beside its file."""
    import fcntl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # milvus_lite imports the deprecated pkg_resources
        from milvus_lite.server_manager import server_manager_instance

    # This process serves the file already (pymilvus reuses that server). Probing the lock here
    # would even release it: closing any descriptor of a file drops the process's POSIX locks.
    if str(path.resolve()) in getattr(server_manager_instance, "_servers", {}):
        return False
    try:
        with open(path.parent / f".{path.name}.lock", "a") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def reason_of(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc)
    return str(msg).splitlines()[0] if msg else type(exc).__name__


class Collections:
    """Creates the library's collections on first use and loads them."""

    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix

    def name(self, kind: str) -> str:
        return f"{self.prefix}_{kind}"

    def ensure(self, kind: str, schema, index_params) -> str:
        name = self.name(kind)
        if not self.client.has_collection(name):
            try:
                self.client.create_collection(name, schema=schema, index_params=index_params,
                                              consistency_level="Strong")
            except Exception:  # noqa: BLE001 - another process may have created it first
                if not self.client.has_collection(name):
                    raise
                if not self.client.list_indexes(name):
                    # Created, but its index was refused (e.g. an index type Milvus Lite lacks):
                    # not a lost race. Leave nothing half-made behind.
                    self.client.drop_collection(name)
                    raise
        self.client.load_collection(name)
        return name
