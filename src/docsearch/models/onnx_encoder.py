"""Run a sentence-transformers BERT folder (Transformer + mean Pooling + Normalize) with
onnxruntime: the same vectors, without importing torch, transformers or sentence-transformers.

Why: a cold `docsearch search` with multilingual-e5-small through sentence-transformers took
~9 s here (sentence-transformers import 4.1 s, torch 1.1 s, model load 1.8 s); onnxruntime
imports in ~0.1 s and opens the exported graph in ~0.8 s. It also encodes faster on this CPU
(measured on the seed corpus's paragraphs, 2 threads: 22-23 passages/s against ~11 with torch).

:func:`ensure_onnx` exports the folder once (torch's exporter, ~10 s) into ``onnx/model.onnx``
inside it, mean pooling and L2 normalization included in the graph, and stamps it; the folder
is a cache, so the export is made again whenever the stamp is missing or stale.
:class:`OnnxSentenceEncoder` offers the part of SentenceTransformer's interface that
:class:`docsearch.models.embedding.Embedder` uses (``encode``, ``prompts``, the dimension).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

ONNX_FILE = Path("onnx") / "model.onnx"
_WEIGHTS_SUFFIX = "_data"  # model.onnx_data beside model.onnx
_STAMP = Path("onnx") / "export.json"  # written last: an export without it is incomplete
_EXPORTER_VERSION = 2
_OPSET = 17
# Texts and tokens per forward pass: attention memory grows with batch x length^2, so long
# passages go in small batches (512-token passages 8 at a time). Measured on the seed corpus's
# paragraphs (2 threads): batches of 8-16 ran as fast as or faster than 30.
_BATCH_TEXTS = 16
_BATCH_TOKENS = 4096


class OnnxExportError(RuntimeError):
    """The folder could not be exported (torch or transformers missing, or the export failed)."""


def _stamp_of(folder: Path) -> dict:
    st = (folder / "model.safetensors").stat()
    return {"weights_size": st.st_size, "weights_mtime_ns": st.st_mtime_ns,
            "exporter": _EXPORTER_VERSION, "opset": _OPSET}


def is_exported(folder: Path) -> bool:
    """Whether ``folder`` holds a complete export of its current weights."""
    try:
        return json.loads((folder / _STAMP).read_text(encoding="utf-8")) == _stamp_of(folder)
    except (OSError, ValueError):
        return False


def ensure_onnx(folder: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Return ``folder/onnx/model.onnx``, exporting it first when it is missing or stale."""
    folder = Path(folder)
    if not is_exported(folder):
        export_onnx(folder, progress=progress)
    return folder / ONNX_FILE


def export_onnx(folder: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Export the folder's BERT with mean pooling and normalization to ``onnx/model.onnx``.

    Written to a temporary file and renamed into place, so a killed export leaves no half file.
    Raises :class:`OnnxExportError` with the cause.
    """
    say = progress or (lambda _msg: None)
    folder = Path(folder)
    say(f"exporting {folder.name} to ONNX for onnxruntime (once, ~10 s)")
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise OnnxExportError(f"exporting {folder} needs torch and transformers ({exc})") from exc
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # Eager attention: the SDPA path traces a Python-level branch on the sequence length.
    bert = AutoModel.from_pretrained(str(folder), dtype=torch.float32, attn_implementation="eager").eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    out = folder / ONNX_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    (folder / _STAMP).unlink(missing_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=out.parent))
    try:
        example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on shapes the dynamic axes cover
            torch.onnx.export(_Pooled(bert), example, str(tmp / "traced.onnx"),
                              input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                              opset_version=_OPSET, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "embedding": {0: "batch"}})
        save_with_external_weights(tmp / "traced.onnx", tmp / out.name)
        for name in (out.name + _WEIGHTS_SUFFIX, out.name):  # the graph last: it names the weights
            (tmp / name).chmod(0o644)
            os.replace(tmp / name, out.parent / name)
    except Exception as exc:  # noqa: BLE001 - any exporter failure becomes one clear message
        raise OnnxExportError(f"exporting {folder} to ONNX failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (folder / _STAMP).write_text(json.dumps(_stamp_of(folder)), encoding="utf-8")
    say(f"exported: {out}")
    return out


def save_with_external_weights(src: Path, dest: Path) -> None:
    """Re-save the graph with its weights in a side file, which onnxruntime maps into memory:
    opening the session then takes ~0.3 s instead of ~1.1 s (parsing 470 MB of protobuf)."""
    import onnx

    model = onnx.load(str(src))
    onnx.save_model(model, str(dest), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=dest.name + _WEIGHTS_SUFFIX, size_threshold=1024)


def open_session(path: Path, threads: int | None = None):
    """An onnxruntime session for a graph file: CUDA when present, else the CPU's threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.log_severity_level = 3
    # Idle threads sleep instead of spinning: on a machine shared with other work (app
    # sessions, indexing workers) spinning threads slowed a 30-passage add from 6.6 s to 11 s.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=_providers(ort.get_available_providers()))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class OnnxSentenceEncoder:
    """Mean-pooled, normalized sentence vectors from an exported folder, with onnxruntime."""

    def __init__(self, folder: Path, threads: int | None = None):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.session = open_session(folder / ONNX_FILE, threads)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        max_len = int(_read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512))
        self.tokenizer.enable_truncation(max_len)
        pad_token = _read_json(folder / "special_tokens_map.json").get("pad_token", "<pad>")
        if isinstance(pad_token, dict):
            pad_token = pad_token.get("content", "<pad>")
        self.pad_id = self.tokenizer.token_to_id(pad_token) or 0
        self.prompts: dict[str, str] = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
        self.dim = int(_read_json(folder / "config.json").get("hidden_size", 0)) or self._probe_dim()

    def _probe_dim(self) -> int:
        return int(self._run([[0, 2]])[0].shape[-1])

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        return run_padded(self.session, ids, self.pad_id)

    def encode(self, sentences: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               prompt_name: str | None = None, prompt: str | None = None, **_: object) -> np.ndarray:
        """Vectors of the texts with a prompt prepended (given, or named as in the folder's
        config), in input order. Texts are batched by length so short ones do not pay for a long
        one's padding."""
        prefix = prompt if prompt is not None else self.prompts.get(prompt_name, "") if prompt_name else ""
        ids = [e.ids for e in self.tokenizer.encode_batch([prefix + s for s in sentences])]
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for part in length_batches([len(x) for x in ids], min(batch_size, _BATCH_TEXTS), _BATCH_TOKENS):
            out[part] = self._run([ids[i] for i in part])
        if normalize_embeddings:  # the graph normalizes already; this keeps zero rows finite
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def run_padded(session, ids: list[list[int]], pad_id: int) -> np.ndarray:
    """The graph's first output for token-id rows of any lengths, padded to the longest with an
    attention mask."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, :len(row)] = row
        mask[i, :len(row)] = 1
    return session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]


def length_batches(lengths: list[int], batch_size: int, max_tokens: int) -> list[np.ndarray]:
    """Indices grouped by length (shortest first), each group at most ``batch_size`` texts and
    about ``max_tokens`` padded tokens."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < batch_size \
                and (end - start + 1) * lengths[order[end]] <= max_tokens:
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def _providers(available: list[str]) -> list[str]:
    """CUDA when onnxruntime-gpu sees a device, else the CPU."""
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + ["CPUExecutionProvider"]
