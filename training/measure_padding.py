"""Measure which further sentences an answer should list after its first one (retrieval.compose):
every candidate sentence of the passages `ask` reads, with what a listing rule can see (its rank,
its passage's score, its confidence, its sentence score) and whether it holds a gold answer; the
report applies compose.listed at several passage-score ratios.

    PYTHONPATH=src python3 training/measure_padding.py /tmp/pad.pkl [DEV_EVERY]
    PYTHONPATH=src python3 training/measure_padding.py report /tmp/pad.pkl

Sets: the in-house questions about the shipped corpus (answerable rows of the abstention set,
seed_check, re-worded; a sentence is right when it holds an answer string or a gold string) and
every DEV_EVERY-th of the held-out 30% of the DRCD / CMRC 2018 dev questions (right: it holds an
answer string).
"""
from __future__ import annotations

import math
import pickle
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from docsearch.config import load_settings  # noqa: E402
from docsearch.engine import DocSearch  # noqa: E402
from docsearch.retrieval.compose import Candidate, candidates, listed  # noqa: E402
from docsearch.retrieval.query import analyze  # noqa: E402
from docsearch.text.normalize import converter  # noqa: E402
from docsearch.tools.benchdata import default_bench_dir, load_mixed_dev, load_seed_questions  # noqa: E402
from docsearch.tools.evaluate import build_index  # noqa: E402

t2s = converter("t2s")


def collect(ds: DocSearch, items) -> list[dict]:
    """Per question, its candidates in rank order: features and whether each is right."""
    rows = []
    for text, golds, answers in items:
        q = analyze(text, ds.settings.max_query_chars)
        cands = candidates(q, ds.answer_passages(q, 5), ds.confidence)
        out = []
        for c in cands:
            sent = t2s.convert(c.text)
            right = any(a and t2s.convert(a) in sent for a in answers) or any(g and g in sent for g in golds)
            out.append({"rank": c.result.rank, "fused": c.result.score, "confidence": c.confidence,
                        "sentence_score": c.score, "duplicate": c.duplicate, "right": right})
        rows.append({"q": text, "cands": out, "threshold": ds.confidence.threshold})
    return rows


def measure(out: str, dev_every: str = "3") -> None:
    bench = default_bench_dir()
    settings = replace(load_settings(None), model="multilingual-e5-small")
    sets = {}
    seed = DocSearch(replace(settings, index_dir=Path(tempfile.mkdtemp()), corpus_dir=REPO / "corpus"))
    seed.index()
    for name, path in (("abstain_answerable", REPO / "tests/data/abstain_qa.jsonl"),
                       ("seed_check", REPO / "tests/data/seed_check_qa.jsonl"),
                       ("reworded", REPO / "tests/data/reworded_seed_qa.jsonl"), ("seed", None)):
        qs = [q for q in load_seed_questions(bench, path, name) if q.gold_strings]
        sets[name] = collect(seed, [(q.text, q.gold_strings, q.answers) for q in qs])
        print(name, len(qs), flush=True)
    if int(dev_every):
        dev = load_mixed_dev(bench)
        ds = build_index(dev, settings)
        held = [q for q in dev.questions if q.group in ("drcd", "cmrc") and q.heldout][::int(dev_every)]
        sets["dev_heldout"] = collect(ds, [(q.text, [], q.answers) for q in held])
        print("dev_heldout", len(held), flush=True)
    pickle.dump(sets, open(out, "wb"))
    report(out)


def as_candidates(cands: list[dict]) -> list[Candidate]:
    """Stored features as the candidates compose.listed reads (passage score, sentence score,
    confidence, duplicate); `right` rides along on the result."""
    return [Candidate(SimpleNamespace(score=c["fused"], right=c["right"]), 0, 0, c["sentence_score"],
                      c["confidence"], c["duplicate"]) for c in cands]


def report(path: str) -> None:
    sets = pickle.load(open(path, "rb"))
    ratios = (0.0, 0.8, 0.85, 0.9, 0.95, math.inf)
    print("rule: a further sentence is listed when its passage scores at least (ratio) of the first"
          " listed one's; 0 is the rule before, inf lists one sentence")
    print(f"{'set':<20}{'ratio':>8}{'extras':>8}{'right':>8}{'wrong':>8}"
          f"{'any right':>11}{'first right':>13}")
    for name, rows in sets.items():
        for ratio in ratios:
            extras = right = wrong = any_right = first_right = 0
            for row in rows:
                shown = [c.result.right for c in listed(as_candidates(row["cands"]), row["threshold"], ratio)]
                extras += max(len(shown) - 1, 0)
                right += sum(shown[1:])
                wrong += sum(not x for x in shown[1:])
                any_right += any(shown)
                first_right += bool(shown and shown[0])
            print(f"{name:<20}{ratio:>8.2f}{extras:>8}{right:>8}{wrong:>8}"
                  f"{any_right:>7}/{len(rows):<4}{first_right:>8}/{len(rows)}")
        print()


if __name__ == "__main__":
    if sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        measure(*sys.argv[1:])
