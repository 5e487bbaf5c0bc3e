"""Questions worded unlike the library: the grid behind `unfamiliar_share` and the unfamiliar
dense weight (retrieval.familiarity, config.Settings), measured on every set at once.

For each question the keyword and dense lists are computed once, with the share of its content
words that no passage holds; each (share threshold, weight) pair then re-fuses the lists. English
questions keep the translated weight throughout. Sets: the held-out 30% of DRCD/CMRC dev (both
scripts), XQuAD Chinese, the public seed questions, and the in-house seed_check, reworded and
abstain (answerable rows, direct and reworded) sets over the shipped corpus.

    PYTHONPATH=src python3 training/measure_unfamiliar.py [OUT.pkl]     # ~6 minutes on 2 cores
    PYTHONPATH=src python3 training/measure_unfamiliar.py report OUT.pkl
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

from docsearch.config import ENCODER_MODEL, load_settings
from docsearch.retrieval.familiarity import unknown_share
from docsearch.retrieval.fusion import fuse
from docsearch.retrieval.query import QueryError, analyze
from docsearch.text.normalize import converter
from docsearch.tools.benchdata import Question, default_bench_dir, load_mixed_dev, load_seed_questions, load_xquad
from docsearch.tools.evaluate import _passage_articles, _passage_text_t2s, _seed_index, build_index, rank_lists

REPO = Path(__file__).resolve().parents[1]
SHARES = (0.2, 0.3, 0.35, 0.4, 0.5)
WEIGHTS = (0.6, 0.7, 0.8, 0.9)


def share_of(ds, text: str) -> float:
    try:
        return unknown_share(ds.store, analyze(text, ds.settings.max_query_chars))
    except QueryError:
        return 0.0


def rows_for(ds, questions: list[Question], relevant) -> list[tuple]:
    """(lists, unknown share, relevant candidate ids) per question."""
    out = []
    for q, lists in zip(questions, rank_lists(ds, questions, with_dense=True)):
        ids = {p for p, _ in lists.keyword} | {p for p, _ in lists.dense}
        out.append((lists, share_of(ds, q.text), {p for p in ids if relevant(q, p)}))
    return out


def collect(out: str) -> None:
    settings = load_settings(model=ENCODER_MODEL)
    bench, t2s = default_bench_dir(), converter("t2s")
    sets: dict[str, list] = {}
    dev = load_mixed_dev(bench)
    ds = build_index(dev, settings)
    owner = _passage_articles(ds)
    held = [q for q in dev.questions if q.heldout]
    sets["dev held-out"] = rows_for(ds, held, lambda q, p: owner.get(p) in q.gold)
    xq = load_xquad(bench)
    ds = build_index(xq, settings)
    owner = _passage_articles(ds)
    sets["XQuAD zh"] = rows_for(ds, [q for q in xq.questions if q.group == "xquad:zh"],
                                lambda q, p: owner.get(p) in q.gold)
    seed, _ = _seed_index(settings, bench, None)
    text = _passage_text_t2s(seed)
    by_gold = lambda q, p: any(g in text.get(p, "") for g in q.gold_strings)  # noqa: E731
    for name, path in (("seed", None), ("seed_check", REPO / "tests/data/seed_check_qa.jsonl"),
                       ("reworded", REPO / "tests/data/reworded_seed_qa.jsonl")):
        sets[name] = rows_for(seed, load_seed_questions(bench, path, name), by_gold)
    rows = [json.loads(line) for line in (REPO / "tests/data/abstain_qa.jsonl").read_text(encoding="utf-8").splitlines()]
    for kind in ("direct", "reworded"):
        qs = [Question(r["q"], set(), [], r["lang"], gold_strings=[t2s.convert(g) for g in r["gold"]])
              for r in rows if r["answerable"] and r["kind"] == kind]
        sets[f"abstain {kind}"] = rows_for(seed, qs, by_gold)
    Path(out).write_bytes(pickle.dumps({"weights": (settings.resolved_dense_weight,
                                                    settings.resolved_dense_weight_translated), "sets": sets}))
    report(out)


def figures(rows: list[tuple], w: float, w_en: float, share: float, w_unf: float) -> tuple[float, float]:
    """R@1 and R@5 with the unfamiliar weight for questions at or above the share."""
    r1 = r5 = 0
    for lists, u, relevant in rows:
        wq = w_en if lists.translated else (w_unf if u >= share else w)
        top = [p for p, _ in (fuse(lists.keyword, lists.dense, wq) if lists.keyword else lists.dense)[:5]]
        r1 += bool(top and top[0] in relevant)
        r5 += any(p in relevant for p in top)
    n = max(len(rows), 1)
    return r1 / n, r5 / n


def report(path: str) -> None:
    data = pickle.loads(Path(path).read_bytes())
    (w, w_en), sets = data["weights"], data["sets"]
    print("set sizes: " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
    for name, rows in sets.items():
        zh = [u for lists, u, _ in rows if not lists.translated]
        if zh:
            print(f"  {name}: {sum(u >= 0.35 for u in zh)} of {len(zh)} Chinese questions at share >= 0.35")
    print(f"{'R@1 / R@5':<16}" + "".join(f"{k:>18}" for k in sets))
    grid = [("one weight", 1.1, w)] + [(f">= {s}: w {x}", s, x) for s in SHARES for x in WEIGHTS]
    for label, share, w_unf in grid:
        print(f"{label:<16}" + "".join(f"{'%.3f / %.3f' % figures(rows, w, w_en, share, w_unf):>18}"
                                       for rows in sets.values()))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        collect(sys.argv[1] if len(sys.argv) > 1 else "/tmp/unfamiliar.pkl")
