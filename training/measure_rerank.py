"""Measure the shipped re-ranker (retrieval/rerank.py, models/reranker.py) through the product's own
path, on sets it never trained on: R@1 / R@5 of the hybrid order against the re-ordered one at
several priors and depths, the top passage's answer sentence, and the time per question.

    PYTHONPATH=src python3 training/measure_rerank.py /tmp/rr/measure.pkl [DEV_EVERY] [XQUAD_EVERY] [en,zh]
    MEASURE_ENGLISH_AS=asked ... /tmp/rr/english.pkl 0 2 en    # English read with its translations
    MEASURE_WINDOWS=1 ... /tmp/rr/one.pkl 5 6 zh                # one window per passage
    PYTHONPATH=src python3 training/measure_rerank.py report /tmp/rr/measure.pkl

Sets: the held-out 30% of the DRCD and CMRC 2018 dev questions (training used the other 70%),
XQuAD questions in English and Chinese, and the in-house questions about the shipped corpus
(seed, re-worded, seed_check, and the answerable rows of the abstention set). Relevance as in `docsearch eval`: the gold paragraph, or for the
in-house sets a gold string in the passage.
"""
from __future__ import annotations

import os
import pickle
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from docsearch.config import load_settings  # noqa: E402
from docsearch.engine import DocSearch  # noqa: E402
from docsearch.retrieval.compose import asked_text, passage_sentences  # noqa: E402
from docsearch.retrieval.query import analyze  # noqa: E402
from docsearch.retrieval.rerank import Reranker, reordered  # noqa: E402
from docsearch.text.normalize import converter  # noqa: E402
from docsearch.tools.benchdata import default_bench_dir, load_mixed_dev, load_seed_questions, load_xquad  # noqa: E402
from docsearch.tools.evaluate import build_index  # noqa: E402

DEPTH = 8
PRIORS = (None, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
t2s = converter("t2s")


# "asked": English questions reach the cross-encoder with their dictionary translations appended
# (it was trained on Chinese questions); "typed": as typed.
ENGLISH_AS = os.environ.get("MEASURE_ENGLISH_AS", "typed")


def collect(ds, reranker: Reranker, items) -> list[dict]:
    """Per question: each of the top DEPTH passages' relevance, whether its answer sentence holds
    a gold answer, and its cross-encoder score; and the scoring time."""
    rows = []
    for text, gold, answers in items:
        q = analyze(text, 2000)
        results = ds.ranker.results(ds.ranker.ranked(q, DEPTH, None, None))
        t0 = time.perf_counter()
        read = asked_text(q) if q.groups and ENGLISH_AS == "asked" else q.text
        scores = reranker.passage_scores(read, asked_text(q), [r.text for r in results])
        seconds = time.perf_counter() - t0
        views = [t2s.convert(r.text) for r in results]
        rel = [(r.article_id in gold) if isinstance(gold, set) else any(g in v for g in gold)
               for r, v in zip(results, views)]
        hit = []
        for r, choice in passage_sentences(q, results, ds.sentence_meaning):
            sent = t2s.convert(r.text[choice.start:choice.end])
            hit.append(any(t2s.convert(a) in sent for a in answers if a))
        rows.append({"q": text, "rel": rel, "hit": hit, "scores": scores, "seconds": seconds})
    return rows


def measure(out: str, dev_every: str = "1", xquad_every: str = "2", langs: str = "en,zh") -> None:
    """Every set (dev_every 0: leave the dev set out; langs: XQuAD's question languages)."""
    bench = default_bench_dir()
    settings = replace(load_settings(None), model="multilingual-e5-small")
    reranker = Reranker(depth=DEPTH, windows_per_passage=int(os.environ.get("MEASURE_WINDOWS", "2")))
    sets = {}
    if int(dev_every):
        dev = load_mixed_dev(bench)
        ds = build_index(dev, settings)
        held = [q for q in dev.questions if q.group in ("drcd", "cmrc") and q.heldout][::int(dev_every)]
        sets["dev_heldout"] = collect(ds, reranker, [(q.text, set(q.gold), q.answers) for q in held])
        print(f"dev_heldout {len(held)}", flush=True)
    xq = load_xquad(bench)
    ds = build_index(xq, settings)
    for lang in langs.split(","):
        qs = [q for q in xq.questions if q.group == f"xquad:{lang}"][::int(xquad_every)]
        sets[f"xquad_{lang}"] = collect(ds, reranker, [(q.text, set(q.gold), q.answers) for q in qs])
        print(f"xquad_{lang} {len(qs)}", flush=True)
    seed = DocSearch(replace(settings, index_dir=Path(tempfile.mkdtemp()), corpus_dir=REPO / "corpus"))
    seed.index()
    for name, path in (("seed", None), ("reworded", REPO / "tests/data/reworded_seed_qa.jsonl"),
                       ("seed_check", REPO / "tests/data/seed_check_qa.jsonl"),
                       ("abstain_answerable", REPO / "tests/data/abstain_qa.jsonl")):
        qs = [q for q in load_seed_questions(bench, path, name) if q.gold_strings]  # answerable rows
        golds = [[t2s.convert(g) for g in q.gold_strings] for q in qs]
        sets[name] = collect(seed, reranker, [(q.text, g, []) for q, g in zip(qs, golds)])
    pickle.dump(sets, open(out, "wb"))
    report(out)


def figures(rows: list[dict], prior: float | None, depth: int) -> tuple[float, float, float]:
    """R@1, R@5 and the top passage's answer-sentence accuracy under one setting."""
    r1 = r5 = ans = 0
    for row in rows:
        n = min(depth, len(row["rel"]))
        order = list(range(len(row["rel"])))
        if prior is not None:
            order = reordered(row["scores"][:n], prior) + order[n:]
        rel = [row["rel"][i] for i in order]
        r1 += bool(rel[:1] and rel[0])
        r5 += any(rel[:5])
        ans += bool(order and row["hit"][order[0]])
    n = max(len(rows), 1)
    return r1 / n, r5 / n, ans / n


def report(path: str) -> None:
    sets = pickle.load(open(path, "rb"))
    for name, rows in sets.items():
        print(f"\n{name} (n={len(rows)}), scoring {DEPTH} passages: median "
              f"{statistics.median(r['seconds'] for r in rows) * 1000:.0f} ms")
        for depth in (5, 8):
            for prior in PRIORS:
                if prior is None and depth == 8:
                    continue
                label = "hybrid order" if prior is None else f"top {depth}, prior {prior}"
                print(f"  {label:<20} R@1 {figures(rows, prior, depth)[0]:.3f}  R@5 {figures(rows, prior, depth)[1]:.3f}"
                      f"  answer {figures(rows, prior, depth)[2]:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        measure(*sys.argv[1:])
