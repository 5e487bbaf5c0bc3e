"""Loading a shipped model part that the product can do without (the re-ranker, the English query
tower): built on first use, or None after one warning that says what is done without it."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("docsearch")


def load_optional(build: Callable[[], T], unavailable: type[Exception], without: str, name: str) -> T | None:
    """`build()`, or None once it failed: its own `unavailable` error is said as it is, any other
    (an unreadable graph, say) as "the NAME could not be loaded"; each prefixed by `without`, what
    the product does instead."""
    try:
        return build()
    except unavailable as exc:
        log.warning("%s: %s", without, exc)
    except Exception as exc:  # noqa: BLE001 - e.g. the graph unreadable: carry on without it
        log.warning("%s: the %s could not be loaded (%s)", without, name, exc)
    return None
