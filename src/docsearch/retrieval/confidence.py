"""How sure an answer is: a calibrated confidence for each answer sentence and for the question,
so that `ask` can say the library holds no reliable answer instead of offering the nearest
sentence it has.

The evidence is measured against the library itself: lexical features, and one from the
embedding model:
- `missing`: the question's specific terms (names of places, people and organisations, numbers;
  for English questions numbers and capitalised names, through their translations) that the
  passage does not hold. A question about Japan's subsidies or 2023's growth is not answered
  by a passage about the US in 2021, however many other words they share. Terms found in most
  passages (美国 in this library) say nothing and are left out. `missing_number` counts the
  numbers and years among them apart: they match exactly, where a name may be missing only
  because its translation differs. `absent` counts those found nowhere in the library (Intel,
  Ohio, USMCA in this one): the library cannot state what it never names.
- `coverage`: the share of the question's content (its words; for English its translated words,
  IDF-weighted, question words left out) that the passage holds, and that the sentence holds;
- `unknown`: the share of that content that occurs nowhere in the library;
- `type_missing`: the sentence lacks the kind of answer asked for (a number for 多少, a date for
  哪一年, a count in the unit of 多少辆);
- `contrast` (for models with a background set, retrieval.topicality): how much closer the
  question sits to its nearest passage here than to generic text. Below a gate, calibrated on
  answerable questions, the question is about something else and is declined whatever its
  words share with a passage. Above it, the question is on the library's subject and the words
  decide: the logistic model is fitted on the questions the gate lets through (a feature that
  tells off-topic questions apart would otherwise outweigh the ones that tell what the library
  states from what it does not). Behind the gate, words the library never uses mean a question
  worded unlike the source (the calibration's re-worded answerable questions) as often as one on
  the library's field but not its subject (起征点, 中间价), so the fit gives `unknown` little
  weight; names the library never uses (`absent`) count against an answer.
- `nearest` and `english` (models with a background set): the question's best cosine to any
  passage of the library, and whether it is English. Behind the gate, a question on the
  library's field but not its subject (the ECB's rates, a pension system) still sits further from
  every passage than a re-worded answerable question does (AUC against answerable questions, on
  the near-topic calibration questions: 0.95 Chinese, 0.89 English). English questions are
  encoded by their own tower (models/english_queries.py) and score lower throughout, hence
  `english`, which lets the fit shift the scale for them. Measured over 30 random halvings of the
  calibration files: unanswerable declined 0.52 -> 0.58 at the same answerable budget. It costs
  nothing: the gate's search already found the nearest passage.
A cross-encoder trained for answerability was tried as a further feature and did not improve the
rates (training/answerability_model.md); nor did a feature for the words next to the question word
(工人 in 多少名工人) missing from the sentence (held-out test split 13 -> 12 of 24 declined).
A logistic model over these (fitted by `docsearch calibrate-abstain` on questions written for
the shipped corpus: answerable ones and ones the library cannot answer, on and off its topic)
gives the confidence; the threshold is stored beside the weights with the precision and recall
measured on held-out questions. The contrast depends on the embedding model, so each calibrated
model has its own entry; other models get the lexical features alone.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from docsearch.config import PACKAGE_DATA, model_key
from docsearch.retrieval import topicality
from docsearch.retrieval.answer import holds_expected_type
from docsearch.retrieval.evidence import bm25_idf
from docsearch.retrieval.familiarity import content_units, passages_holding
from docsearch.retrieval.query import Query
from docsearch.text import segment
from docsearch.text.normalize import aligned_simplified, canonical, term_variants
from docsearch.text.translate import has_english

MODEL_FILE = PACKAGE_DATA / "abstain.json"
FEATURES = ("missing", "coverage_passage", "coverage_sentence", "unknown", "missing_number", "type_missing",
            "absent")
# What a model with a background set is fitted on (the contrast is its gate, not a feature).
MODEL_FEATURES = FEATURES + ("nearest", "english")
# Every measured value, in the order calibration stores them.
TOPICAL_FEATURES = MODEL_FEATURES + ("contrast",)
LEXICAL = "lexical"   # the entry of models calibrated without a background set
# jieba part-of-speech tags of names: places, people, organisations, other proper nouns, Latin words.
_PROPER_TAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg", "eng"}
_DIGITS = re.compile(r"[0-9]{2,}(?:\.[0-9]+)?")
# Acronyms and brand-like names (USMCA, EU, iPhone): names whatever their place in the sentence.
_ACRONYM = re.compile(r"\b(?:[A-Z]{2,6}s?|[a-z][A-Z][a-z]+s?)\b")
_LATIN_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z]+(?:\s+[A-Z][A-Za-z]+)*")
# A term found in more than this share of the passages does not single out an answer.
_UBIQUITOUS = 0.5


@dataclass(frozen=True)
class Evidence:
    missing: float
    coverage_passage: float
    coverage_sentence: float
    unknown: float
    missing_number: float = 0.0  # the numbers and years among `missing`
    type_missing: float = 0.0    # 1 when the sentence lacks the kind of answer asked for
    contrast: float = 0.0        # the question's, retrieval.topicality (0 when not measured)
    absent: float = 0.0          # the question's specific terms found nowhere in the library
    nearest: float = 0.0         # the question's best cosine to a passage (0 when not measured)
    english: float = 0.0         # 1 for an English question (encoded by its own tower)

    def vector(self, features: tuple[str, ...] | list[str] = FEATURES) -> list[float]:
        return [getattr(self, f) for f in features]


@dataclass(frozen=True)
class Placement:
    """Where a question sits, by the embedding model: one measure for all its sentences."""
    contrast: float = 0.0   # retrieval.topicality: library minus background
    nearest: float = 0.0    # its best cosine to a passage of the library


NOT_PLACED = Placement()
# An empty library is as far from any question as can be.
NOWHERE = Placement(-1.0, -1.0)


@lru_cache(maxsize=1)
def _pos_tokenizer():
    import jieba.posseg

    return jieba.posseg.POSTokenizer(segment.tokenizer())


def specific_terms(q: Query) -> list[list[str]]:
    """The question's specific terms, each as the forms that count as finding it (capitalised
    names are read from the cleaned text as typed, `q.text`)."""
    out: list[list[str]] = []
    if q.groups:  # English: numbers, and the capitalised names among the translated words
        names = {m.group(0).lower() for m in _LATIN_NAME.finditer(q.text)}
        for g in q.groups:
            if g.source in names or any(w in names for w in g.source.split()):
                out.append([g.source] + [canonical(a) for a in g.alternatives])
        out += [[n] for n in _DIGITS.findall(q.text)]
        # Acronyms the dictionary does not translate (USMCA, NAFTA) can only match as written.
        translated = {w for g in q.groups for w in g.source.split()}
        out += [[a.lower()] for a in dict.fromkeys(_ACRONYM.findall(q.text))
                if a.lower().rstrip("s") not in translated and a.lower() not in translated]
        return out
    for word, tag in _pos_tokenizer().cut(q.canonical):
        if (tag in _PROPER_TAGS and len(word) >= 2) or _DIGITS.fullmatch(word):
            out.append(sorted(term_variants(word)))
    return out


def _holds(view: str, forms: list[str]) -> bool:
    return any(f and (f in view or aligned_simplified(f) in view) for f in forms)


class ConfidenceModel:
    """Evidence from a question and a passage, and the calibrated confidence it gives.
    `lib` is an open library (its store, vectors, embedder, settings and lock, as
    retrieval.ranking.Searchable); the parameters are those fitted for its model unless given."""

    def __init__(self, lib, params: dict | None = None):
        self.lib = lib
        self._params = params

    @property
    def store(self):
        return self.lib.store

    @property
    def params(self) -> dict:
        # Read for the library's current model: an add may move a library to another model.
        return self._params if self._params is not None else load_params(self.lib.settings.model)

    @params.setter
    def params(self, value: dict | None) -> None:
        self._params = value

    @property
    def threshold(self) -> float:
        return float(self.params.get("threshold", 0.5))

    def measures_topicality(self) -> bool:
        """Whether the fitted model needs the question's placement: for its topicality gate, or
        as features (fitting, with no weights yet, measures it)."""
        params = self.params
        features = params.get("features", ())
        return not params.get("weights") or "gate" in params or "contrast" in features or "nearest" in features

    def placement(self, q: Query) -> Placement:
        """The question's contrast and nearest passage (retrieval.topicality); zeros when the
        model does not use them."""
        lib = self.lib
        if not self.measures_topicality() or not q.text.strip():
            return NOT_PLACED
        vector = lib.embedder.encode_query(q.text)
        with lib.lock:
            best = lib.vectors.search(vector, 1) if lib.store.passage_count() else []
        if not best:
            return NOWHERE
        return Placement(topicality.contrast(vector, best[0][1], lib.embedder), float(best[0][1]))

    def below_gate(self, contrast: float) -> bool:
        """Whether a question of this contrast is about something other than the library."""
        params = self.params
        gate = params.get("gate")
        return bool(params.get("weights")) and gate is not None and contrast < gate

    def far_off(self, contrast: float) -> bool:
        """Whether a declined question is worth telling apart as off the library's subject: below
        the gate, or below the contrast of all but OFF_TOPIC_SHARE of the answerable calibration
        questions (`off_topic_below`; the gate may sit lower, where it declines none of them)."""
        cut = self.params.get("off_topic_below")
        return self.below_gate(contrast) or (cut is not None and contrast < cut)

    def evidence(self, q: Query, passage: str, sentence: str, place: Placement = NOT_PLACED) -> Evidence:
        n_docs = max(self.store.passage_count(), 1)
        view = aligned_simplified(passage) + "\n" + canonical(passage)
        sentence_view = aligned_simplified(sentence) + "\n" + canonical(sentence)
        missing = missing_number = absent = 0
        for forms in specific_terms(q):
            found = passages_holding(self.store, forms)
            absent += found == 0
            if found > _UBIQUITOUS * n_docs:
                continue
            if not _holds(view, forms):
                missing += 1
                # Numbers and years match exactly; names may be missing only through translation.
                missing_number += bool(_DIGITS.fullmatch(forms[0]))
        units = content_units(q)
        # One passage count per unit: it weighs the unit and says whether the library holds it.
        counted = [(forms, passages_holding(self.store, forms)) for forms in units]
        weights = [(forms, bm25_idf(n, n_docs)) for forms, n in counted]
        total = sum(w for _, w in weights) or 1.0
        cov_p = sum(w for forms, w in weights if _holds(view, forms)) / total
        cov_s = sum(w for forms, w in weights if _holds(sentence_view, forms)) / total
        unknown = sum(1 for _, n in counted if not n) / len(units) if units else 1.0
        type_missing = float(not holds_expected_type(q.canonical, sentence_view))
        return Evidence(float(missing), cov_p, cov_s, unknown, float(missing_number), type_missing, place.contrast,
                        float(absent), place.nearest, float(has_english(q.canonical)))

    def confidence(self, ev: Evidence) -> float:
        """P(the passage answers the question), by the fitted logistic model; 0 for a question
        below the topicality gate."""
        params = self.params
        w = params.get("weights")
        if not w:
            return 1.0  # never calibrated: every answer stands, as before calibration existed
        if self.below_gate(ev.contrast):
            return 0.0
        names = params.get("features", FEATURES[:4])   # files fitted before the names were stored
        z = float(params.get("bias", 0.0)) + sum(a * b for a, b in zip(w, ev.vector(names)))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


@lru_cache(maxsize=4)
def _read_params(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def forget_params() -> None:
    """Read the parameters file afresh next time (after calibration wrote it)."""
    _read_params.cache_clear()


def load_params(model: str | None = None, path: Path = MODEL_FILE) -> dict:
    """The weights and threshold fitted for `model` (the lexical entry for a model never
    calibrated, or with no model named; empty when nothing was fitted)."""
    table = _read_params(path)
    if "weights" in table:      # a file from before models had entries of their own
        return table
    models = table.get("models", {})
    return models.get(model_key(model), table.get(LEXICAL, {})) if model else table.get(LEXICAL, {})
