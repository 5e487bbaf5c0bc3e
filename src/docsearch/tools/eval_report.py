"""The tables `docsearch eval` prints."""
from __future__ import annotations


# -- the command ----------------------------------------------------------------------------
def _table(title: str, rows: list[tuple[str, dict]]) -> str:
    lines = [f"\n{title}", f"{'':32} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'n':>6}"]
    for label, m in rows:
        lines.append(f"{label:32} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['R@10']:6.3f} {m['MRR@10']:7.3f} {m['n']:6d}")
    return "\n".join(lines)


def format_report(res: dict) -> str:
    figs = res["figures"]
    out = [f"model {res['model']}, dense weight {res['dense_weight']:.2f} "
           f"(translated English questions {res['dense_weight_translated']:.2f}, Chinese worded unlike "
           f"the library {res.get('dense_weight_unfamiliar', res['dense_weight']):.2f})"]
    order = ["dev:as-written", "dev:converted", "drcd", "drcd:t2s", "cmrc", "cmrc:s2t",
             "drcd:heldout", "cmrc:heldout", "xquad:en", "xquad:zh"]
    rows = []
    for label in order + sorted(k for k in figs if k.startswith(("seed:", "reworded:", "en->zh-Hant"))):
        if label not in figs:
            continue
        for mode in ("bm25_baseline", "keyword", "dense", "hybrid"):
            if mode in figs[label]:
                rows.append((f"{label} {mode}", figs[label][mode]))
    out.append(_table("retrieval (a hit = a passage of the question's own paragraph)", rows))
    out.extend(res.get("notes", []))
    a = res["answer_sentence_accuracy"]
    out.append(f"\nanswer sentence holds the gold answer (top passage): dev {a['dev']:.3f} "
               f"(DRCD {a['drcd']:.3f}, CMRC {a['cmrc']:.3f}; held-out 30% {a['heldout']:.3f})")
    if "ask_order" in a:
        k = a["ask_order"]
        out.append(f"the same for the passage `ask` shows first (re-read), held-out 30%: {k['heldout']:.3f} "
                   f"(DRCD {k['drcd:heldout']:.3f}, CMRC {k['cmrc:heldout']:.3f})")
    for label, m in res.get("ask_order", {}).items():
        out.append(f"`ask` order (re-read top 5), {label}: R@1 {m['R@1']:.3f}, answer sentence "
                   f"{m['answer_sentence']:.3f} (n={m['n']})")
    missed = {q: r for q, r in res["seed_ranks"].items() if r != 1}
    out.append(f"seed questions not at rank 1: {missed if missed else 'none'}")
    lat = res["latency_ms"]
    out.append(f"search latency on the seed corpus, warm: median {lat['median']} ms, p95 {lat['p95']} ms "
               f"({lat['n']} queries)")
    out.append(f"eval took {res['seconds']} s")
    return "\n".join(out)


def format_comparison(base: dict, other: dict, backend: str) -> str:
    """Retrieval of the embedded engine beside another backend's, per set, with the difference."""
    lines = [f"\nembedded vs {backend} (hybrid; keyword-only in brackets), R@1 / R@5 / MRR@10",
             f"{'set':18} {'embedded':>22} {backend:>22} {'max |diff|':>10}"]
    worst = 0.0
    for label, figs in base["figures"].items():
        if label not in other["figures"]:
            continue
        a, b = figs["hybrid"], other["figures"][label]["hybrid"]
        diff = max(abs(a[m] - b[m]) for m in ("R@1", "R@5", "R@10", "MRR@10"))
        ka, kb = figs["keyword"], other["figures"][label]["keyword"]
        worst = max(worst, diff)
        lines.append(f"{label:18} {a['R@1']:.3f} / {a['R@5']:.3f} / {a['MRR@10']:.3f} ({ka['R@1']:.3f})"
                     f" {b['R@1']:.3f} / {b['R@5']:.3f} / {b['MRR@10']:.3f} ({kb['R@1']:.3f}) {diff:10.3f}")
    ans_a, ans_b = base["answer_sentence_accuracy"], other["answer_sentence_accuracy"]
    lines.append(f"answer sentence holds the gold answer (dev, top passage): embedded {ans_a['dev']:.3f}, "
                 f"{backend} {ans_b['dev']:.3f}")
    lat_a, lat_b = base["latency_ms"], other["latency_ms"]
    lines.append(f"largest hybrid difference: {worst:.3f}; search latency (seed corpus, median/p95 ms): "
                 f"embedded {lat_a['median']}/{lat_a['p95']}, {backend} {lat_b['median']}/{lat_b['p95']}")
    return "\n".join(lines)
