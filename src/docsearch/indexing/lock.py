"""One writer at a time across processes: an advisory `flock` on `INDEX/.write.lock`.

The kernel drops the lock when its holder dies (even by SIGKILL), so a crashed writer never
leaves the index locked. The holder writes its pid into the file so a second writer can say who
is writing. Readers never take it: SQLite (WAL) and the atomically replaced vector file keep
what they see consistent.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from docsearch.errors import IndexBusy

LOCK_NAME = ".write.lock"


class WriterLock:
    """Re-entrant within one object; exclusive across processes (and across objects)."""

    def __init__(self, index_dir: Path, wait_seconds: float):
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / LOCK_NAME
        self.wait_seconds = wait_seconds
        self._fd: int | None = None
        self._depth = 0

    @property
    def depth(self) -> int:
        """How many nested holds this object has (0: not held)."""
        return self._depth

    def acquire(self, wait_seconds: float | None = None) -> None:
        """Take the lock, waiting up to `wait_seconds` (default: the configured wait)."""
        if self._depth:
            self._depth += 1
            return
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    who = f" (pid {holder})" if holder else ""
                    raise IndexBusy(f"another docsearch process is writing to {self.index_dir}{who}; "
                                    "try again when it finishes") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd, self._depth = fd, 1

    def try_acquire(self) -> bool:
        """Take the lock only if nobody holds it now."""
        try:
            self.acquire(wait_seconds=0)
        except IndexBusy:
            return False
        return True

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            # The pid is left in the file; it only matters while the lock is held.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "WriterLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(raw) if raw.isdigit() else None
    except OSError:
        return None
