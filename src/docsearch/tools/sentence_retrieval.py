"""English -> Traditional Chinese sentence retrieval (issue 15): each English sentence asked over a
library whose passages are the Traditional (OpenCC s2twp) sides of the same pairs.

Sources (../shared/train, see its README for licences): the UN Parallel Corpus dev + test sets
(formal policy/trade text) and Tatoeba (everyday sentences). Both also fed the shipped sense table
(English -> Chinese keyword translation) and the static model was trained on the UN pairs, so for
those parts of the product these figures are in-sample, not held-back (docs/eval-sentence-retrieval.md).

    PYTHONPATH=src python3 -m docsearch.tools.sentence_retrieval [model ...]
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from docsearch.text.normalize import canonical, converter, is_han
from docsearch.tools.benchdata import Corpus, Question

GROUP = "en->zh-Hant sentences"
UN_FILE = "un_parallel_dev_test_en_zh.jsonl"
TATOEBA_FILE = "tatoeba_en_zh.tsv"
PER_SOURCE = 1000
MIN_ZH_CHARS = 8   # Han characters: leaves out bare dates and numbers (UN headers)
# Tatoeba lines with index % 19 == 0 (over the lines with >= 2 tabs) are another set's background
# passages: a sentence in both sets would let one measurement leak into the other.
BACKGROUND_EVERY = 19


@dataclass(frozen=True)
class Pair:
    id: str        # article id in the temporary library, e.g. "tatoeba-00042"
    source: str    # "un" or "tatoeba"
    en: str
    zh: str        # Traditional (s2twp)


def available(train: Path) -> bool:
    return (train / UN_FILE).exists() and (train / TATOEBA_FILE).exists()


def is_background(index: int) -> bool:
    """Whether the Tatoeba line with this index (over lines with >= 2 tabs) is background."""
    return index % BACKGROUND_EVERY == 0


def read_un(train: Path) -> list[tuple[str, str]]:
    out = []
    for line in (train / UN_FILE).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append((row["en"].strip(), row["zh"].strip()))
    return out


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
    """Up to n pairs in hash order, Chinese side converted to Traditional, with at least
    MIN_ZH_CHARS Han characters, no English or Chinese sentence twice (a repeat makes the other copy a second right
    answer, and the library refuses a text it already holds)."""
    s2twp = converter("s2twp")
    seen_en: set[str] = set()
    seen_zh: set[str] = set()
    out: list[Pair] = []
    for en, zh in sorted(set(pairs), key=lambda p: _order(source, *p)):
        if len(out) >= n:
            break
        trad = s2twp.convert(zh)
        key_en, key_zh = " ".join(en.lower().split()), canonical(trad)
        if sum(map(is_han, trad)) < MIN_ZH_CHARS or not en or key_en in seen_en or key_zh in seen_zh:
            continue
        seen_en.add(key_en)
        seen_zh.add(key_zh)
        out.append(Pair(f"{source}-{len(out):05d}", source, en, trad))
    return out


def build_set(train: Path, per_source: int = PER_SOURCE) -> list[Pair]:
    """The UN sample followed by the Tatoeba sample (background lines excluded)."""
    return sample_pairs(read_un(train), "un", per_source) + sample_pairs(read_tatoeba(train), "tatoeba", per_source)


def as_corpus(pairs: list[Pair]) -> Corpus:
    """Each Traditional sentence one article; each English sentence one question about it."""
    articles = [{"id": p.id, "title": p.id, "text": p.zh} for p in pairs]
    questions = [Question(text=p.en, gold={p.id}, answers=[p.zh], group=f"{GROUP}:{p.source}") for p in pairs]
    return Corpus(f"sentences-{len(pairs)}", articles, questions)


def _ranked(train: Path, settings, progress=None, sample: int = 0, per_source: int = PER_SOURCE):
    """The set indexed as a library (cached like the other benchmark corpora) and every
    question's keyword and dense lists: (pairs, engine, questions, lists, passage -> article)."""
    # Imported here: evaluate imports this module, and its index machinery is reused as is.
    from docsearch.tools.evaluate import _passage_articles, build_index, rank_lists

    pairs = build_set(train, per_source)
    corpus = as_corpus(pairs)
    ds = build_index(corpus, settings, progress)
    questions = corpus.questions[::sample] if sample > 1 else corpus.questions
    lists = rank_lists(ds, questions, with_dense=True)
    return pairs, ds, questions, lists, _passage_articles(ds)  # a long sentence may span passages


def sentence_groups(train: Path, settings, progress=None, sample: int = 0,
                    per_source: int = PER_SOURCE) -> tuple[list[tuple], str]:
    """The groups `docsearch eval` reports, as (label, lists, questions, relevant) per source and
    overall, and a note on what was measured (or why nothing was: no ../shared/train)."""
    if not available(train):
        return [], f"{GROUP}: skipped, no {UN_FILE} / {TATOEBA_FILE} in {train}"
    pairs, _, questions, lists, owner = _ranked(train, settings, progress, sample, per_source)

    def relevant(q: Question):
        return lambda pid: owner.get(pid) in q.gold

    groups = []
    for label in sorted({q.group for q in questions}) + [GROUP]:
        idx = [i for i, q in enumerate(questions) if label == GROUP or q.group == label]
        groups.append((label, [lists[i] for i in idx], [questions[i] for i in idx], relevant))
    counts = {s: sum(1 for p in pairs if p.source == s) for s in ("un", "tatoeba")}
    note = (f"{GROUP}: {counts['un']} UN + {counts['tatoeba']} Tatoeba pairs from {train}, Chinese s2twp; "
            "in-sample for the sense table (and the static model on UN), so not a held-back figure")
    return groups, note


def measure(train: Path, settings, per_source: int = PER_SOURCE, misses: int = 0) -> dict:
    """Keyword, dense and hybrid figures per group with the model's calibrated fusion weights, and
    up to `misses` hybrid misses (English, gold sentence, its rank, the sentence ranked first)."""
    from docsearch.retrieval.fusion import fuse
    from docsearch.tools.evaluate import metrics, ranks_for

    groups, note = sentence_groups(train, settings, per_source=per_source)
    w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
    out: dict = {"model": settings.model, "note": note, "dense_weight": w, "dense_weight_translated": w_en,
                 "figures": {label: {mode: metrics(ranks_for(lists, qs, rel, w, mode, w_en))
                                     for mode in ("keyword", "dense", "hybrid")}
                             for label, lists, qs, rel in groups},
                 "misses": []}
    if not groups or not misses:
        return out
    _, ds, questions, lists, owner = _ranked(train, settings, per_source=per_source)  # cached index
    for lst, q in zip(lists, questions):
        ranked = fuse(lst.keyword, lst.dense, w_en if lst.translated else w) if lst.keyword else lst.dense
        ids = [owner.get(pid) for pid, _ in ranked]
        if ids[:1] == [next(iter(q.gold))]:
            continue
        top = ds.store.passages([ranked[0][0]])[ranked[0][0]].text if ranked else ""
        rank = ids.index(next(iter(q.gold))) + 1 if next(iter(q.gold)) in ids else None
        out["misses"].append({"source": q.group.rsplit(":", 1)[1], "en": q.text, "gold": q.answers[0],
                              "rank": rank, "top": top, "keyword_found": bool(lst.keyword)})
        if len(out["misses"]) >= misses:
            break
    return out


def main(argv: list[str]) -> None:
    """Print the figures (and 10 hybrid misses) for each model named, e5 by default."""
    from dataclasses import replace

    from docsearch.config import ENCODER_MODEL, Settings
    from docsearch.tools.benchdata import default_bench_dir

    train = default_bench_dir().parent / "train"
    for model in argv or [ENCODER_MODEL]:
        res = measure(train, replace(Settings(), model=model), misses=10)
        print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
