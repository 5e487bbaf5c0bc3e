"""docsearch: bilingual (Simplified/Traditional Chinese, English) document search and extractive
question answering.

The public API is the facade and its settings:

    from docsearch import DocSearch, load_settings
    ds = DocSearch(load_settings())
    ds.ensure_ready()
    print(ds.ask("美国制造业回流的主要来源地是哪里?").answer)

Names are imported on first use, so `import docsearch.text.normalize` (or the CLI's start) does
not load the engine, the storage backends or the models.
"""
from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "DocSearch": "docsearch.engine",
    "Settings": "docsearch.config",
    "load_settings": "docsearch.config",
    "DocSearchError": "docsearch.errors",
    "QueryError": "docsearch.errors",
    "IngestError": "docsearch.errors",
    "IndexBusy": "docsearch.errors",
    "IndexCorrupt": "docsearch.errors",
    "IndexFormatError": "docsearch.errors",
    "BackendError": "docsearch.errors",
    "ModelUnavailable": "docsearch.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'docsearch' has no attribute {name!r}")
