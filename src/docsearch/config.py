"""All settings in one place: defaults < TOML file < environment < explicit overrides (CLI flags).

The TOML file is `docsearch.toml` in the working directory, or the path in `DOCSEARCH_CONFIG`.
Every field can be set in it by name, and from the environment as `DOCSEARCH_<NAME>`.
"""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
# Fusion weights measured by `docsearch eval --tune`, one entry per embedding model.
FUSION_FILE = PACKAGE_DATA / "fusion.json"
# "auto": a new library takes the encoder while it is small enough to embed in reasonable time
# and the fast static model beyond; an existing library keeps the model its vectors were made by
# (recorded in the index). Any other value names one model for every library.
AUTO_MODEL = "auto"
ENCODER_MODEL = "multilingual-e5-small"
STATIC_MODEL = "docsearch-static-zh-en"
DEFAULT_MODEL = AUTO_MODEL
BACKENDS = ("embedded", "milvus")


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus_dir: Path = Path("corpus")
    # Embedding model: "auto" (see AUTO_MODEL), a name known offline (models.embedding.BUILTIN_MODELS),
    # a local folder, or a hub name.
    model: str = DEFAULT_MODEL
    # Under "auto", the largest library (in passages) embedded with the encoder. Measured here:
    # multilingual-e5-small embeds ~22 passages/s on 2 cores (onnxruntime), so 10k passages take
    # ~8 minutes; the static model embeds thousands per second.
    encoder_max_passages: int = 10_000
    # Large batches: the static model spends most of its time tokenizing each batch.
    embed_batch_size: int = 256
    # Weight of the dense list in score fusion; None means "use the calibrated value for the model".
    dense_weight: float | None = None
    # The same for queries whose English words were translated by dictionary (a weaker keyword list).
    dense_weight_translated: float | None = None
    # The same for Chinese questions worded unlike the library: at least `unfamiliar_share` of
    # their content words occur in no passage (retrieval.familiarity), so keywords match little
    # and meaning has to find the passage. 0.35 is about one word in three; below 0.3 it caught
    # Wikipedia questions whose keyword answer was right (held-out dev R@1 0.965 -> 0.963).
    dense_weight_unfamiliar: float | None = None
    unfamiliar_share: float = 0.35
    # Weight of the encoder's question-sentence similarity when choosing a passage's answer
    # sentence (retrieval.answer.chosen_sentence); None: the value measured for the model
    # (training/measure_answer_sentences.py), 0 for models without one: no sentence is encoded.
    answer_dense_weight: float | None = None
    # Passages longer than this are split at sentence ends (characters). Measured on the dev
    # set: 400 costs ~0.005 R@1 against whole paragraphs, 800 costs nothing.
    max_passage_chars: int = 800
    # Lines up to this long that do not end a sentence are headings and merge into what follows.
    heading_max_chars: int = 50
    # BM25 column weights of the keyword index: jieba words vs character uni/bigrams. Measured
    # on the dev set (R@1): 1:1 0.956, 2:1 0.956, 3:1 0.958, words only 0.938, grams only 0.948.
    words_weight: float = 3.0
    grams_weight: float = 1.0
    # Sentence-level evidence added to the head of the keyword list (see search.rerank_by_sentences).
    sentence_weight: float = 0.25
    sentence_depth: int = 30
    # Candidates taken from each retriever before fusion.
    candidates: int = 100
    # `ask` re-reads its best passages with a cross-encoder (retrieval/rerank.py): how many (0 or
    # 1: off), and how strongly the hybrid order holds (score minus prior x ln(rank)). Measured
    # on held-out sets (training/rerank_experiment.md): the top 5 gain what the top 8 gain for
    # ~0.3 s instead of ~0.5 s, which keeps a warm answer in the browser under a second. Prior 4
    # (run 4 there): once questions worded unlike the library rank by meaning (familiarity), a
    # weaker prior undid their order (re-worded 29 -> 27 of 40 at prior 2, 29 at 4).
    rerank_depth: int = 5
    rerank_prior: float = 4.0
    # English questions are encoded by the English query tower (models/english_queries.py) when
    # the library's model is multilingual-e5-small: it places them where e5 places their Chinese
    # translations (figures in training/english_queries.md).
    english_query_tower: bool = True
    # Longer queries are cut to this many characters (a warning says so).
    max_query_chars: int = 2000
    # Largest file `add` accepts, in bytes.
    max_file_bytes: int = 20 * 1024 * 1024
    # How long a second writer (add, remove, index, repair) waits for the first before giving up.
    lock_wait_seconds: float = 10.0
    # Where the library lives: "embedded" (SQLite + FAISS in index_dir) or "milvus" (every piece
    # of state on a Milvus server or a Milvus Lite file; see milvus_backend.py).
    backend: str = "embedded"
    # A file path opens Milvus Lite (one process per file); http://host:19530 opens a server.
    # Empty means index_dir/milvus.db.
    milvus_uri: str = ""
    # Token for a secured server ("user:password" or an API key); better set from the environment.
    milvus_token: str = ""
    # Collection name prefix: several libraries can share one server.
    milvus_collection: str = "docsearch"
    # Dense index on Milvus: FLAT (exact, like the embedded engine), IVF_FLAT, AUTOINDEX, or HNSW
    # on a server (Milvus Lite refuses it).
    milvus_index_type: str = "FLAT"
    # Seconds to wait for a Milvus Lite file another process holds (one process per file).
    milvus_lite_wait: float = 10.0
    # Seconds to wait for a Milvus server to answer when connecting.
    milvus_timeout: float = 10.0
    # No changes to the library from the app (a reference deployment); see access.py.
    read_only: bool = False
    # -- scale (see `docsearch bench --sizes`) --
    # Passages per indexing batch: one transaction, one embedding call, one vector add each.
    index_batch_passages: int = 4000
    # Processes that normalize and segment during a bulk add (0 = one per core; 1 = in-process).
    index_workers: int = 0
    # A bulk add of at least this many passages ends with FTS5 'optimize' (one segment per index).
    optimize_after_passages: int = 20000
    # Vector index type follows corpus size: exact (flat) up to this many vectors, IVF above.
    # Measured (docs/bench): exact search costs ~0.1 ms per 1k vectors; at 50k that is ~5 ms.
    vector_exact_max: int = 50_000
    # IVF lists (0 = 4 * sqrt(n) at the switch) and lists probed per query. Measured on 100k
    # synthetic passages, 894 lists, 200 questions, recall@10 against exact search: 0.956 / 0.970
    # at nprobe 64 / 128 with lists trained on the first 50k (scale bench); trained on all 100k,
    # 0.979 / 0.987 / 0.994 / 0.999 at 64 / 128 / 256 / 512 (1.2 / 2.6 / 4.9 / 8.6 ms).
    ivf_nlist: int = 0
    ivf_nprobe: int = 256
    # Keyword MATCH budget: query terms are kept rarest first while their summed document
    # frequency stays under this; the rest still count in the sentence re-ranking. bm25() costs
    # time per matching row and term. Measured: on the dev corpus (1,975 passages; a question's
    # terms sum to 8.6k rows at the median, 32k at most) 10k leaves keyword R@1/R@5 unchanged
    # (0.9606/0.9947, 3,372 questions); at 100k passages the FTS stage went from 490 to 18 ms.
    keyword_postings_budget: int = 10_000

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.rerank_depth < 0:
            raise ValueError(f"rerank_depth must be 0 (off) or more, not {self.rerank_depth}")

    def with_overrides(self, **overrides: Any) -> "Settings":
        """Return a copy with the given non-None values applied (CLI flags use this)."""
        return replace(self, **{k: _coerce(k, v) for k, v in overrides.items() if v is not None})

    @property
    def resolved_index_workers(self) -> int:
        return self.index_workers if self.index_workers > 0 else (os.cpu_count() or 1)

    @property
    def resolved_dense_weight(self) -> float:
        if self.dense_weight is not None:
            return self.dense_weight
        return calibrated_fusion(self.model).get("dense_weight", 0.0)

    @property
    def resolved_dense_weight_translated(self) -> float:
        if self.dense_weight_translated is not None:
            return self.dense_weight_translated
        cal = calibrated_fusion(self.model)
        return cal.get("dense_weight_translated", cal.get("dense_weight", 0.0))

    @property
    def resolved_dense_weight_unfamiliar(self) -> float:
        """The unfamiliar questions' weight; a model calibrated without one uses its Chinese weight."""
        if self.dense_weight_unfamiliar is not None:
            return self.dense_weight_unfamiliar
        return calibrated_fusion(self.model).get("dense_weight_unfamiliar", self.resolved_dense_weight)


    @property
    def resolved_answer_dense_weight(self) -> float:
        if self.answer_dense_weight is not None:
            return self.answer_dense_weight
        return calibrated_fusion(self.model).get("answer_dense_weight", 0.0)


def _field_types() -> dict[str, Any]:
    return {f.name: f.type for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    kind = _field_types().get(name)
    if kind is None:
        raise ValueError(f"unknown setting {name!r}")
    if value is None:
        return None
    if "Path" in str(kind):
        return Path(value).expanduser()
    if "bool" in str(kind):
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return str(value).strip().lower() in ("1", "true", "yes", "on")
    if "float" in str(kind):
        return float(value)
    if "int" in str(kind):
        return int(value)
    return str(value)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the TOML file, then the environment, then `overrides`."""
    values: dict[str, Any] = {}
    path = Path(config_file or os.environ.get("DOCSEARCH_CONFIG") or "docsearch.toml")
    if path.is_file():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, value in data.items():
            values[key] = _coerce(key, value)
    elif config_file or os.environ.get("DOCSEARCH_CONFIG"):
        raise FileNotFoundError(f"config file not found: {path}")
    for name in _field_types():
        env = os.environ.get(f"DOCSEARCH_{name.upper()}")
        if env not in (None, ""):
            values[name] = _coerce(name, env)
    return Settings().with_overrides(**values).with_overrides(**overrides)


def cache_dir() -> Path:
    """Where docsearch keeps what it can make again (the dictionary index, benchmark indexes,
    derived models): $DOCSEARCH_CACHE_DIR, else $XDG_CACHE_HOME/docsearch or ~/.cache/docsearch."""
    root = os.environ.get("DOCSEARCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "docsearch")
    return Path(root)


def auto_model(recorded: str | None, stored: int, incoming: int, limit: int) -> str:
    """The model "auto" settles on for a library of `stored` passages about to receive
    `incoming` more, whose vectors were made by `recorded` (None for a library without vectors):
    a new library takes the encoder when it stays within `limit` passages, the static model
    otherwise; an existing one keeps its model, except that the add taking an encoder library past
    `limit` moves it to the static model (a library someone made larger on purpose stays)."""
    if not recorded:
        return ENCODER_MODEL if stored + incoming <= limit else STATIC_MODEL
    if recorded == ENCODER_MODEL and stored <= limit < stored + incoming:
        return STATIC_MODEL
    return recorded


def calibrated_fusion(model: str) -> dict[str, float]:
    """Fusion parameters measured for `model` (empty when it was never calibrated)."""
    try:
        table = json.loads(FUSION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table.get(model_key(model), {})


def store_calibration(model: str, params: dict[str, Any]) -> None:
    try:
        table = json.loads(FUSION_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    # Merged: tuning the fusion weights keeps what was measured apart (answer_dense_weight).
    table[model_key(model)] = {**table.get(model_key(model), {}), **params}
    FUSION_FILE.write_text(json.dumps(table, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                           encoding="utf-8")


def model_key(model: str) -> str:
    """A stable key for a model setting: folder name for paths, the name itself otherwise."""
    p = Path(model)
    return p.name if (p.is_absolute() or model.startswith(".")) else model
