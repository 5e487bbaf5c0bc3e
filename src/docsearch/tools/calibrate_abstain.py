"""`docsearch calibrate-abstain`: fit the answer-confidence model (retrieval.confidence) on
questions about the shipped corpus, choose the threshold, and report precision and recall.

Data: tests/data/abstain_qa.jsonl (answerable and unanswerable questions, on and off topic, in
three scripts, each marked `calib` or `test`); the `calib` rows, with the answerable questions
of the in-house seed sets, fit the model and choose the threshold; the `test` rows only measure.
The threshold is the highest one that declines at most `max_declined` of the calibration's
answerable questions: a user loses fewer answers than the library loses credibility by
answering what it cannot.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from docsearch.engine import DocSearch
from docsearch.retrieval.compose import ANSWER_SCORE_RATIO, passage_sentences
from docsearch.retrieval.confidence import FEATURES, MODEL_FILE, ConfidenceModel, Evidence
from docsearch.retrieval.query import analyze

ASK_K = 5                     # what the CLI and the app ask for
# Evidence of a question that found no passage at all.
NO_PASSAGE = Evidence(9.0, 0.0, 0.0, 1.0, 0.0, 1.0).vector(FEATURES)


def read_rows(paths: list[Path]) -> list[dict]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                r.setdefault("answerable", True)
                r.setdefault("split", "calib")
                r.setdefault("topic", "on")
                rows.append(r)
    return rows


def candidate_evidence(ds: DocSearch, model: ConfidenceModel, question: str, k: int = ASK_K) -> list[list[float]]:
    """The evidence vector of each sentence `ask` would consider for its answer (as in
    retrieval.compose: the best sentence of each of the k passages, kept when it scores at least
    ANSWER_SCORE_RATIO of the top one's), the top passage's first. `ask` answers when any of
    them clears the threshold, so the question's confidence is their maximum."""
    q = analyze(question, ds.settings.max_query_chars)
    results = ds.ranker.results(ds.ranker.ranked(q, k, None, None))
    out, top = [], None
    for r, choice in passage_sentences(q, results):
        top = choice.score if top is None else top
        if choice.score < ANSWER_SCORE_RATIO * top and out:
            continue
        sent = r.text[choice.start:choice.end]
        out.append(model.evidence(q, r.text, sent).vector(FEATURES))
    return out or [NO_PASSAGE]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 200) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by Newton's method."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * n
    beta = np.zeros(d + 1)
    reg = np.eye(d + 1) * l2
    reg[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ beta))
        grad = xb.T @ (weight * (p - y)) + reg @ beta
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def rates(conf: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    declined = conf < threshold
    ans, un = y == 1, y == 0
    return {"answerable": int(ans.sum()), "answerable_declined": int((declined & ans).sum()),
            "unanswerable": int(un.sum()), "unanswerable_declined": int((declined & un).sum()),
            # precision/recall of declining: of the declined, how many could not be answered; of
            # those that could not, how many were declined
            "decline_precision": round(float((declined & un).sum() / max(declined.sum(), 1)), 3),
            "decline_recall": round(float((declined & un).sum() / max(un.sum(), 1)), 3)}


def calibrate(ds: DocSearch, data: list[Path], max_declined: float = 0.03, log=print) -> dict:
    """Fit, choose the threshold, measure; returns the parameters written to data/abstain.json.
    The model is fitted on each question's top sentence; the threshold and the rates are for
    what `ask` does: decline when no candidate sentence clears the threshold."""
    rows = read_rows(data)
    model = ConfidenceModel(ds.store, params={})
    cands = [np.asarray(candidate_evidence(ds, model, r["q"]), dtype=np.float64) for r in rows]
    x = np.vstack([c[0] for c in cands])
    y = np.asarray([1 if r["answerable"] else 0 for r in rows])
    calib = np.asarray([r["split"] != "test" for r in rows])
    w, b = fit_logistic(x[calib], y[calib])
    conf = np.asarray([float((1 / (1 + np.exp(-(c @ w + b)))).max()) for c in cands])
    ans_conf = np.sort(conf[calib & (y == 1)])
    k = int(np.floor(max_declined * len(ans_conf)))   # answerable questions we allow to decline
    threshold = float(ans_conf[k]) if len(ans_conf) else 0.5
    params = {"features": list(FEATURES), "weights": [round(float(v), 6) for v in w], "bias": round(b, 6),
              "threshold": round(threshold - 1e-6, 6), "max_declined": max_declined,
              "calibration": rates(conf[calib], y[calib], threshold),
              "test": rates(conf[~calib], y[~calib], threshold),
              "data": [p.name for p in data], "fitted_at": time.strftime("%Y-%m-%d")}
    test_rows = [r for r, c in zip(rows, calib) if not c]
    by = {}
    for r, c in zip(test_rows, conf[~calib]):
        key = ("answerable" if r["answerable"] else f"unanswerable-{r['topic']}") + ":" + r["lang"]
        by.setdefault(key, [0, 0])
        by[key][0] += 1
        by[key][1] += int(c < threshold)
    params["test_declined_by_group"] = {k: f"{v[1]}/{v[0]}" for k, v in sorted(by.items())}
    log(json.dumps({k: params[k] for k in ("weights", "bias", "threshold", "calibration", "test")},
                   ensure_ascii=False))
    return params


def write_params(params: dict, path: Path = MODEL_FILE) -> None:
    path.write_text(json.dumps(params, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def default_data(repo: Path) -> list[Path]:
    """The question sets that calibrate by default (those that exist)."""
    data = repo / "tests" / "data"
    names = ("abstain_qa.jsonl", "reworded_seed_qa.jsonl", "seed_check_qa.jsonl")
    return [data / n for n in names if (data / n).exists()]
