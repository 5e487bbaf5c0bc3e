"""How well each way of fitting the answer confidence carries to questions it was not fitted on:
the calibration files split at random into halves many times, each half fitting (the product's
own `calibrate_abstain.fit_entry`) and the other half measuring. One fixed calib/test split of
~150 questions moves by several questions from one feature set to the next; the mean over many
halvings says which differences are real, and how far a threshold set on one half overshoots
its answerable budget on the other.

    PYTHONPATH=src python3 training/measure_abstain_halvings.py [HALVINGS] [EVIDENCE.pkl]

Evidence is read once through `ask`'s path on a fresh index of the shipped corpus (~3 minutes
with the default encoder) and kept in EVIDENCE.pkl when given, so that a second run only fits.
"""
from __future__ import annotations

import pickle
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from docsearch.config import load_settings  # noqa: E402
from docsearch.engine import DocSearch  # noqa: E402
from docsearch.retrieval.confidence import FEATURES, MODEL_FEATURES, ConfidenceModel  # noqa: E402
from docsearch.tools import calibrate_abstain as cal  # noqa: E402

# (name, features, gate share, answerable budget)
VARIANTS = [
    ("session 13: gate 2%, budget 3%, lexical", FEATURES, 0.02, 0.03),
    ("nearest passage, gate 2%, budget 3%", MODEL_FEATURES, 0.02, 0.03),
    ("the same without the English mark", FEATURES + ("nearest",), 0.02, 0.03),
    ("nearest passage, gate 0, budget 2% (shipped)", MODEL_FEATURES, cal.GATE_DECLINED, cal.MAX_DECLINED),
    ("nearest passage, no gate, budget 2%", MODEL_FEATURES, None, 0.02),
    ("lexical only, no gate, budget 2%", FEATURES, None, 0.02),
]


def evidence(cache: Path | None) -> tuple[list[dict], list[np.ndarray]]:
    if cache and cache.exists():
        return pickle.loads(cache.read_bytes())
    rows = cal.read_rows(cal.default_data(REPO))
    with tempfile.TemporaryDirectory(prefix="docsearch-halvings-") as tmp:
        settings = replace(load_settings(), index_dir=Path(tmp), corpus_dir=REPO / "corpus")
        ds = DocSearch(settings)
        ds.ensure_ready()
        model = ConfidenceModel(ds.library, params={})
        cands = [np.asarray(cal.candidate_evidence(ds, model, r["q"]), dtype=np.float64) for r in rows]
        ds.close()
    if cache:
        cache.write_bytes(pickle.dumps((rows, cands)))
    return rows, cands


def main() -> None:
    halvings = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rows, cands = evidence(Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    rng = np.random.default_rng(0)
    splits = [rng.random(len(rows)) < 0.5 for _ in range(halvings)]
    print(f"{len(rows)} questions, {halvings} random halvings; means over the measuring halves")
    for name, features, gate, budget in VARIANTS:
        measured = []
        for calib in splits:
            halved = [{**r, "split": "calib" if c else "test"} for r, c in zip(rows, calib)]
            entry = cal.fit_entry(halved, cands, features, budget, gate)
            t, groups = entry["test"], entry["test_declined_by_group"]
            shares = [t["unanswerable_declined"] / t["unanswerable"], t["answerable_declined"] / t["answerable"]]
            for topic in ("near", "on", "off"):
                counts = [tuple(map(int, v.split("/"))) for k, v in groups.items() if k.startswith(f"unanswerable-{topic}:")]
                shares.append(sum(d for d, _ in counts) / max(sum(n for _, n in counts), 1))
            measured.append(shares)
        un, ans, near, on, off = np.mean(measured, axis=0)
        print(f"  {name:48s} unanswerable declined {un:.3f} (near {near:.3f}, on {on:.3f}, off {off:.3f}), "
              f"answerable declined {ans:.3f}")


if __name__ == "__main__":
    main()
