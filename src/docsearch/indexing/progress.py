"""The progress protocol long operations report through: the CLI passes tqdm bars, the app
Streamlit bars, tests nothing."""
from __future__ import annotations

from typing import Callable, Protocol


class Progress(Protocol):
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], Progress]


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(total: int, desc: str) -> Progress:
    """A progress bar that shows nothing."""
    return _NoProgress()
