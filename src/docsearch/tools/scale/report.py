"""The scale benchmark's tables, plot and files."""
from __future__ import annotations

import json
from pathlib import Path

from docsearch.tools.scale.corpus import COMMON_QUERIES
from docsearch.tools.scale.measure import SERVING_SEARCHES


# -- report -----------------------------------------------------------------------------------------
def format_table(results: list[dict], machine: str) -> str:
    def pp(d: dict) -> str:
        return f"{d['median_ms']:.1f} / {d['p95_ms']:.1f}"

    loads = [f"{r['label']} {r['load_avg_1m_before']}" for r in results if "load_avg_1m_before" in r]
    lines = [f"scale benchmark ({machine}; wall-clock"
             + (f"; 1-minute load average before each size: {', '.join(loads)})" if loads else ")"), "",
             "| size | backend | passages/s | CPU ms per passage (passages/s on 2 idle cores) | peak RSS MB, main + workers "
             "| disk MB | vector index |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ix, vi = r["index"], r["vector_index"]
        vdesc = vi["type"] + (f" nlist={vi['nlist']} nprobe={vi['nprobe']}" if "nlist" in vi else "")
        lines.append(f"| {r['label']} | {r.get('backend', 'embedded')} | {ix['passages_per_s']:.0f} | {ix.get('cpu_ms_per_passage', 0):.2f} "
                     f"({ix.get('passages_per_s_on_2_idle_cores', 0):.0f}) | {ix['peak_rss_mb']:.0f} + "
                     f"{ix['stages'].get('workers', 0)}×{ix['worker_peak_rss_mb']:.0f} | {r['disk_mb']:.0f} | {vdesc} |")
    n_q = results[0]["latency"]["keyword"]["n"] if results else 0
    lines += ["", f"query latency, ms, median / p95 ({n_q} questions; common terms: "
              + " ".join(COMMON_QUERIES) + ")", "",
              "| size | backend | keyword | keyword, FTS stage only | bm25s | keyword ÷ bm25s | common terms p50: keyword / bm25s "
              "| dense | exact flat | dense recall@10 | hybrid | ask |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lat, base = r["latency"], r["baselines"]
        fts = lat.get("keyword_fts_only")
        lines.append(
            f"| {r['label']} | {r.get('backend', 'embedded')} | {pp(lat['keyword'])} | {pp(fts) if fts else '–'} | {pp(base['bm25s'])} "
            f"| {r['ratios']['keyword_vs_bm25s_median']:.2f}× | {lat['keyword_common_terms']['median_ms']:.1f} / "
            f"{base['bm25s_common_terms']['median_ms']:.1f} | {pp(lat['dense'])} | {pp(base['faiss_flat'])} "
            f"| {r['dense_recall_at_10']:.3f} | {pp(lat['hybrid'])} | {pp(lat['ask'])} |")
    lines += ["", "indexing seconds per stage (normalize/segment: seconds inside the workers):"]
    for r in results:
        st = r["index"]["stages"]
        lines.append(f"  {r['label']} {r.get('backend', 'embedded')}: " + ", ".join(f"{k} {v:.0f} s ({st['passages_per_s'][k]}/s)"
                                                  for k, v in st.get("seconds", {}).items()))
    for r in results:
        if r.get("serving"):
            lines.append(f"  {r['label']} {r.get('backend', 'embedded')}: a new search process (page cache warm) gives its "
                         f"first result in {r['serving']['first_result_s']} s and peaks at "
                         f"{r['serving']['peak_rss_mb']:.0f} MB RSS over {SERVING_SEARCHES} searches")
    for r in results:
        if r.get("nprobe_sweep"):
            lines.append(f"  {r['label']} IVF nprobe → recall@10 (dense median ms): " + ", ".join(
                f"{x['nprobe']} → {x['recall_at_10']:.3f} ({x['median_ms']:.1f})" for x in r["nprobe_sweep"]))
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> bool:
    """Latency and throughput against corpus size (PNG); False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    # One line per series against size: the embedded engine's rows when there are others too.
    results = [r for r in results if r.get("backend", "embedded") == "embedded"] or results
    sizes = [r["passages"] for r in results]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [("keyword", lambda r: r["latency"]["keyword"]), ("bm25s baseline", lambda r: r["baselines"]["bm25s"]),
              ("dense", lambda r: r["latency"]["dense"]), ("exact flat baseline", lambda r: r["baselines"]["faiss_flat"]),
              ("hybrid", lambda r: r["latency"]["hybrid"]), ("ask", lambda r: r["latency"]["ask"])]
    for name, get in series:
        style = "--" if "baseline" in name else "-"
        a.plot(sizes, [get(r)["median_ms"] for r in results], style, marker="o", label=f"{name} p50")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("passages")
    a.set_ylabel("latency, ms (median)")
    a.set_title("query latency")
    a.legend(fontsize=7)
    b.plot(sizes, [r["index"]["passages_per_s"] for r in results], marker="o", label="end to end (wall)")
    b.plot(sizes, [r["index"].get("passages_per_s_on_2_idle_cores", 0) for r in results], ":", marker="o",
           label="from CPU time, 2 idle cores")
    b.set_ylim(bottom=0)
    b.set_xscale("log")
    b.set_xlabel("passages")
    b.set_ylabel("passages / s")
    b.set_title("indexing throughput")
    b2 = b.twinx()
    b2.plot(sizes, [r["index"]["peak_rss_mb"] / 1024 for r in results], "r--", marker="s", label="peak RSS (GB)")
    b2.set_ylim(bottom=0)
    b2.set_ylabel("peak RSS, GB (main process)")
    b.legend(loc="lower left", fontsize=7)
    b2.legend(loc="lower right", fontsize=7)
    fig.suptitle("docsearch scale benchmark (2 cores)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(out: dict, out_dir: Path) -> None:
    (out_dir / "scale.json").write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "scale.md").write_text(format_table(out["sizes"], out["machine"]) + "\n", encoding="utf-8")
    plot(out["sizes"], out_dir / "scale.png")
