"""English -> Traditional Chinese sentence retrieval (issue 15): each English sentence asked over a
library whose passages are the Traditional (OpenCC s2twp) sides of the same pairs.

Sources (../shared/train, see its README for licences): the UN Parallel Corpus dev + test sets
(formal policy/trade text) and Tatoeba (everyday sentences). Both also fed the shipped sense table
(English -> Chinese keyword translation) and the static model was trained on the UN pairs, so for
those parts of the product these figures are in-sample, not held-back; a sense table rebuilt
without the set moved them by <= 0.003 (docs/eval-sentence-retrieval.md).

    PYTHONPATH=src python3 -c 'from pathlib import Path; from docsearch.config import Settings
    from docsearch.tools.evaluate import build_index, rank_lists; from docsearch.tools.sentence_retrieval import measure
    print(measure(Path("../shared/train"), Settings(model="multilingual-e5-small"), build_index, rank_lists, misses=10))'
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from docsearch.config import Settings
from docsearch.text.normalize import canonical, converter, is_han
from docsearch.tools.benchdata import Corpus, Question
from docsearch.tools.ranks import DEPTH, MODES, metrics, ranked_by, ranks_for

GROUP = "en->zh-Hant sentences"
UN_FILE = "un_parallel_dev_test_en_zh.jsonl"
TATOEBA_FILE = "tatoeba_en_zh.tsv"
PER_SOURCE = 1000
MIN_ZH_CHARS = 8   # Han characters: leaves out bare dates and numbers (UN headers)
# Tatoeba lines with index % 19 == 0 (over the lines with >= 2 tabs) are another set's background
# passages: a sentence in both sets would let one measurement leak into the other.
BACKGROUND_EVERY = 19
Build = Callable[..., Any]   # evaluate.build_index: (corpus, settings, progress) -> DocSearch over it
Rank = Callable[..., list]   # evaluate.rank_lists: (engine, questions, with_dense) -> keyword + dense lists


@dataclass(frozen=True)
class Pair:
    id: str        # article id in the evaluation library, e.g. "tatoeba-00042"
    source: str    # "un" or "tatoeba"
    en: str
    zh: str        # Traditional (s2twp)


def available(train: Path) -> bool:
    """Whether both source files are in `train` (../shared/train beside a checkout)."""
    return (train / UN_FILE).exists() and (train / TATOEBA_FILE).exists()


def is_background(index: int) -> bool:
    """Whether the Tatoeba line with this index (over lines with >= 2 tabs) is background."""
    return index % BACKGROUND_EVERY == 0


def read_un(train: Path) -> list[tuple[str, str]]:
    """(english, chinese) of every UN pair."""
    rows = [json.loads(line) for line in (train / UN_FILE).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(row["en"].strip(), row["zh"].strip()) for row in rows]


def read_tatoeba(train: Path, keep_background: bool = False) -> list[tuple[str, str]]:
    """(english, chinese) of the Tatoeba lines, without the background lines (unless asked) and
    without lines repeating a background line's English or Chinese sentence."""
    lines = (train / TATOEBA_FILE).read_text(encoding="utf-8-sig").splitlines()  # the file has a BOM
    tabbed = [line.split("\t") for line in lines if line.count("\t") >= 2]  # a few lines lack tabs
    pairs = [(parts[0].strip(), parts[1].strip()) for parts in tabbed]
    if keep_background:
        return pairs
    background = [p for i, p in enumerate(pairs) if is_background(i)]
    # Tatoeba repeats sentences across lines (one English, several translations): excluding the
    # lines alone would still share sentences with the background set.
    bg_en, bg_zh = {en for en, _ in background}, {zh for _, zh in background}
    return [(en, zh) for i, (en, zh) in enumerate(pairs)
            if not is_background(i) and en not in bg_en and zh not in bg_zh]


def _order(source: str, en: str, zh: str) -> str:
    # A hash of the text, not a random state: the same pairs on every machine and Python version,
    # and a smaller sample is a prefix of a larger one.
    return hashlib.sha1(f"{source}\t{en}\t{zh}".encode("utf-8")).hexdigest()


def sample_pairs(pairs: list[tuple[str, str]], source: str, n: int) -> list[Pair]:
    """Up to n pairs in hash order, Chinese side made Traditional, with >= MIN_ZH_CHARS Han
    characters and no English or Chinese sentence twice (a repeat makes the other copy a second
    right answer, and the library refuses a text it already holds)."""
    s2twp = converter("s2twp")
    seen: set[tuple[str, str]] = set()   # ("en", key) and ("zh", key)
    out: list[Pair] = []
    for en, zh in sorted(set(pairs), key=lambda p: _order(source, *p)):
        if len(out) >= n:
            break
        trad = s2twp.convert(zh)
        key_en, key_zh = " ".join(en.lower().split()), canonical(trad)
        if sum(map(is_han, trad)) < MIN_ZH_CHARS or not en or {("en", key_en), ("zh", key_zh)} & seen:
            continue
        seen |= {("en", key_en), ("zh", key_zh)}
        out.append(Pair(f"{source}-{len(out):05d}", source, en, trad))
    return out


def build_set(train: Path, per_source: int = PER_SOURCE) -> list[Pair]:
    """The UN sample followed by the Tatoeba sample (background lines excluded)."""
    un, tatoeba = sample_pairs(read_un(train), "un", per_source), read_tatoeba(train)
    return un + sample_pairs(tatoeba, "tatoeba", per_source)


def as_corpus(pairs: list[Pair]) -> Corpus:
    """Each Traditional sentence one article; each English sentence one question about it."""
    articles = [{"id": p.id, "title": p.id, "text": p.zh} for p in pairs]
    questions = [Question(text=p.en, gold={p.id}, answers=[p.zh], group=f"{GROUP}:{p.source}") for p in pairs]
    # The name carries a hash of every pair: build_index's cache key only looks at the first text,
    # and a changed sample must never reuse an index of the old one.
    digest = hashlib.sha1("\n".join(f"{p.id}\t{p.en}\t{p.zh}" for p in pairs).encode()).hexdigest()[:10]
    return Corpus(f"sentences-{len(pairs)}-{digest}", articles, questions)


def _ranked(train: Path, settings: Settings, build: Build, rank: Rank, progress=None, sample: int = 0,
            per_source: int = PER_SOURCE) -> tuple[list[Pair], Any, list[Question], list, dict[int, str]]:
    """The set indexed as a library (`build`: evaluate.build_index, cached like the benchmark
    corpora) and each question's keyword and dense lists (`rank`: evaluate.rank_lists).
    Passed in, not imported: evaluate calls this module, and imports must not go in a circle."""
    pairs = build_set(train, per_source)
    corpus = as_corpus(pairs)
    ds = build(corpus, settings, progress)
    # passage -> article: a long sentence may span passages
    owner = {pid: p.article_id for pid, p in ds.store.passages(ds.store.passage_ids()).items()}
    missing = {p.id for p in pairs} - set(owner.values())
    if missing:  # a question whose sentence is not in the library would count as a miss
        raise RuntimeError(f"{len(missing)} sentences not in the library {ds.settings.index_dir}")
    questions = corpus.questions[::sample] if sample > 1 else corpus.questions
    return pairs, ds, questions, rank(ds, questions, with_dense=True), owner


def _groups(questions: list[Question], lists: list, owner: dict[int, str]) -> list[tuple]:
    """(label, lists, questions, relevant) per source and overall, as evaluate's groups are."""
    def relevant(q: Question) -> Callable[[int], bool]:
        return lambda pid: owner.get(pid) in q.gold

    out = []
    for label in sorted({q.group for q in questions}) + [GROUP]:
        idx = [i for i, q in enumerate(questions) if label == GROUP or q.group == label]
        out.append((label, [lists[i] for i in idx], [questions[i] for i in idx], relevant))
    return out


def _note(pairs: list[Pair], train: Path) -> str:
    counts = {s: sum(1 for p in pairs if p.source == s) for s in ("un", "tatoeba")}
    return (f"{GROUP}: {counts['un']} UN + {counts['tatoeba']} Tatoeba pairs from {train}, Chinese s2twp; "
            "in-sample for the sense table (and the static model on UN), so not a held-back figure")


def sentence_groups(train: Path, settings: Settings, build: Build, rank: Rank, progress=None, sample: int = 0,
                    per_source: int = PER_SOURCE) -> tuple[list[tuple], str]:
    """The groups `docsearch eval` reports (per source and overall) and a note on what was
    measured, or why nothing was (no ../shared/train)."""
    if not available(train):
        return [], f"{GROUP}: skipped, no {UN_FILE} / {TATOEBA_FILE} in {train}"
    pairs, _, questions, lists, owner = _ranked(train, settings, build, rank, progress, sample, per_source)
    return _groups(questions, lists, owner), _note(pairs, train)


def measure(train: Path, settings: Settings, build: Build, rank: Rank, per_source: int = PER_SOURCE,
            misses: int = 0) -> dict:
    """R@1/5/10 and MRR@10 per group and mode (tools.ranks, with the model's calibrated fusion
    weights, as `eval` computes them), and up to `misses` hybrid misses (English, gold sentence,
    its rank within the first ten, the sentence ranked first)."""
    pairs, _, questions, lists, owner = _ranked(train, settings, build, rank, per_source=per_source)
    text = {p.id: p.zh for p in pairs}
    w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
    figures: dict = {}
    for label, ls, qs, relevant in _groups(questions, lists, owner):
        figures[label] = {mode: metrics(ranks_for(ls, qs, relevant, w, mode, w_en)) for mode in MODES}
    out = {"model": settings.model, "note": _note(pairs, train), "dense_weight": w,
           "dense_weight_translated": w_en, "figures": figures, "misses": []}
    for lst, q in zip(lists, questions):
        if len(out["misses"]) >= misses:
            break
        gold = next(iter(q.gold))
        top = [owner.get(pid) for pid, _ in ranked_by(lst, "hybrid", w, w_en)[:DEPTH]]
        if top[:1] != [gold]:
            out["misses"].append({"source": q.group.rsplit(":", 1)[1], "en": q.text, "gold": q.answers[0],
                                  "rank": top.index(gold) + 1 if gold in top else None,
                                  "top": text.get(top[0], "") if top else ""})
    return out
