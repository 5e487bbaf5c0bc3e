"""`docsearch eval` and `docsearch bench`: retrieval, answer and latency figures.

Benchmarks (see ../shared/bench/README.md):
- mixed dev corpus: every DRCD (Traditional) and CMRC 2018 (Simplified) dev paragraph as one
  article; each question asked as written and converted to the other script;
- XQuAD: English and Chinese questions over the 240 Chinese paragraphs;
- seed questions over the shipped corpus (relevant = passage whose t2s text holds a gold string).
Keyword and dense lists are computed once per question and fused for any weight, so keyword-only,
dense-only and hybrid figures come from the same run, beside a plain bm25s baseline (character
unigrams + bigrams of t2s text, default parameters) computed on the same questions.
"""
from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .config import Settings, calibrated_fusion, store_calibration
from .normalize import _converter
from .search import QueryError, analyze, fuse

KS = (1, 5, 10)
WEIGHT_GRID = [round(x, 2) for x in np.arange(0.0, 1.0001, 0.05)]


def heldout(title: str) -> bool:
    """The 30% of DRCD/CMRC articles never used to train the shipped embedding model."""
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 10 < 3


@dataclass
class Question:
    text: str
    gold: set[str]             # relevant article ids (retrieval) ...
    answers: list[str]         # ... and answer strings
    group: str                 # dataset / language label
    heldout: bool = True
    gold_strings: list[str] = field(default_factory=list)  # seed set: relevance by content


@dataclass
class Corpus:
    name: str
    articles: list[dict]       # {"id", "title", "text"}
    questions: list[Question]


def default_bench_dir() -> Path:
    here = Path.cwd()
    for base in (here, *here.parents):
        cand = base.parent / "shared" / "bench"
        if cand.is_dir():
            return cand
    return here.parent / "shared" / "bench"


# -- loading -------------------------------------------------------------------------------
def load_mixed_dev(bench: Path) -> Corpus:
    articles, questions = [], []
    t2s, s2t = _converter("t2s"), _converter("s2t")
    by_text: dict[str, str] = {}
    for fname, tag, other in (("DRCD_dev.json", "drcd", s2t), ("cmrc2018_dev.json", "cmrc", t2s)):
        data = json.loads((bench / fname).read_text(encoding="utf-8"))["data"]
        n = 0
        for art in data:
            title = art.get("title", "")
            for para in art["paragraphs"]:
                ctx = para["context"]
                aid = by_text.get(ctx)
                if aid is None:
                    aid = f"{tag}-{n:04d}"
                    n += 1
                    by_text[ctx] = aid
                    articles.append({"id": aid, "title": title or aid, "text": ctx})
                for qa in para["qas"]:
                    answers = [a["text"] for a in qa.get("answers", [])]
                    q = qa["question"]
                    conv = "t2s" if tag == "drcd" else "s2t"
                    questions.append(Question(q, {aid}, answers, f"{tag}", heldout(title)))
                    questions.append(Question(other.convert(q), {aid}, answers, f"{tag}:{conv}", heldout(title)))
    return Corpus("dev", articles, questions)


def load_xquad(bench: Path) -> Corpus:
    rows = [json.loads(line) for line in (bench / "xquad_zh_en.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    ids: dict[str, str] = {}
    articles, questions = [], []
    for r in rows:
        ctx = r["context_zh"]
        if ctx not in ids:
            ids[ctx] = f"xquad-{len(ids):03d}"
            articles.append({"id": ids[ctx], "title": ids[ctx], "text": ctx})
        aid = ids[ctx]
        questions.append(Question(r["question_en"], {aid}, [r["answer_zh"]], "xquad:en"))
        questions.append(Question(r["question_zh"], {aid}, [r["answer_zh"]], "xquad:zh"))
    return Corpus("xquad", articles, questions)


def load_seed_questions(bench: Path) -> list[Question]:
    out = []
    for line in (bench / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(Question(r["q"], set(), r.get("answer", []), f"seed:{r['lang']}",
                                gold_strings=r["gold"]))
    return out


# -- running -------------------------------------------------------------------------------
def _cache_root() -> Path:
    root = os.environ.get("DOCSEARCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "docsearch")
    return Path(root)


def build_index(corpus: Corpus, settings: Settings, progress=None):
    """A DocSearch over the benchmark corpus, cached by content and indexing settings."""
    from .engine import DocSearch
    from .ingest import Article
    from .store import FORMAT_VERSION

    key_src = json.dumps([corpus.name, len(corpus.articles), corpus.articles[0]["text"][:50],
                          settings.model, settings.max_passage_chars, settings.heading_max_chars,
                          settings.words_weight, settings.grams_weight, "search.py",
                          FORMAT_VERSION, _code_fingerprint()], ensure_ascii=False)
    milvus = settings.backend == "milvus"
    if milvus:  # the Milvus layout is part of what a cached Milvus index depends on
        key_src += _code_fingerprint(("milvus_backend.py",), ()) + settings.milvus_index_type
    key = hashlib.sha1(key_src.encode()).hexdigest()[:16]
    index_dir = _cache_root() / "eval" / (f"{corpus.name}-{key}" + ("-milvus" if milvus else ""))
    # On a Milvus server each benchmark corpus is a library of its own (a collection prefix).
    s = replace(settings, index_dir=index_dir, corpus_dir=index_dir / "no-corpus",
                milvus_collection=f"docsearch_eval_{corpus.name}_{key}".replace("-", "_"))
    ds = DocSearch(s, progress=progress)
    if ds.store.get_meta("eval_complete") != "1":
        if milvus:
            ds.backend.drop_library()   # a Milvus Lite file stays open in this process: empty it
        else:
            import shutil

            ds.close()
            shutil.rmtree(index_dir, ignore_errors=True)
        ds = DocSearch(s, progress=progress)
        arts = [Article(title=a["title"], text=a["text"], id=a["id"]) for a in corpus.articles]
        ds.add_articles(arts, origin="added")
        ds.store.set_meta("corpus_synced", "eval")
        ds.store.set_meta("eval_complete", "1")
    return ds


def _code_fingerprint(modules: tuple[str, ...] = ("normalize.py", "segment.py", "chunk.py", "store.py"),
                      data: tuple[str, ...] = ("vocabulary.tsv", "domain_dict.txt")) -> str:
    """Hash of the modules that shape the index, so a code change rebuilds cached indexes."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for name in modules:
        h.update((here / name).read_bytes())
    for name in data:
        h.update((here / "data" / name).read_bytes())
    return h.hexdigest()[:12]


@dataclass
class Lists:
    keyword: list[tuple[int, float]]
    dense: list[tuple[int, float]]
    translated: bool = False   # English words were translated: fused with the translated weight


def rank_lists(ds, questions: list[Question], with_dense: bool, n: int = 100) -> list[Lists]:
    """Keyword and dense candidate lists for every question (dense queries batch-encoded)."""
    out: list[Lists] = []
    qs = []
    for q in questions:
        try:
            qs.append(analyze(q.text, ds.settings.max_query_chars))
        except QueryError:
            qs.append(None)
    dense_vecs = None
    if with_dense:
        dense_vecs = ds.embedder.encode([q.text for q in questions])
    for i, q in enumerate(qs):
        kw = ds.keyword_ranked(q, n) if q else []
        dn = ds.dense_ranked(dense_vecs[i], n) if dense_vecs is not None else []
        out.append(Lists(kw, dn, bool(q and q.groups)))
    return out


def _passage_articles(ds) -> dict[int, str]:
    return {pid: p.article_id for pid, p in ds.store.passages(ds.store.passage_ids()).items()}


def _passage_text_t2s(ds) -> dict[int, str]:
    t2s = _converter("t2s")
    return {pid: t2s.convert(p.text) for pid, p in ds.store.passages(ds.store.passage_ids()).items()}


def _rank_of(ranked: list[int], relevant) -> int | None:
    for pos, pid in enumerate(ranked[:10], start=1):
        if relevant(pid):
            return pos
    return None


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    out = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in KS}
    out["MRR@10"] = sum(1.0 / r for r in ranks if r is not None) / n
    out["n"] = len(ranks)
    return out


def ranks_for(lists: list[Lists], questions: list[Question], relevant_fn, w: float, mode: str,
              w_translated: float | None = None) -> list[int | None]:
    out = []
    for lst, q in zip(lists, questions):
        wq = w_translated if (lst.translated and w_translated is not None) else w
        if mode == "keyword":
            ranked = lst.keyword
        elif mode == "dense":
            ranked = lst.dense
        else:
            ranked = fuse(lst.keyword, lst.dense, wq) if lst.keyword else lst.dense
        out.append(_rank_of([pid for pid, _ in ranked], relevant_fn(q)))
    return out


def bm25_baseline(corpus_articles: list[dict]) -> Callable[[list[Question]], list[int | None]]:
    """bm25s with default parameters over character unigrams + bigrams of t2s text; one
    document per article (paragraph), as in the benchmark README. Indexes once; returns the
    function that ranks a set of questions against it."""
    import bm25s

    t2s = _converter("t2s")

    def toks(text: str) -> list[str]:
        s = "".join(ch for ch in t2s.convert(text) if not ch.isspace())
        return list(s) + [s[i:i + 2] for i in range(len(s) - 1)]

    ids = [a["id"] for a in corpus_articles]
    retriever = bm25s.BM25()
    retriever.index([toks(a["text"]) for a in corpus_articles], show_progress=False)

    def ranks(questions: list[Question]) -> list[int | None]:
        out = []
        for q in questions:
            qt = [t for t in toks(q.text) if t in retriever.vocab_dict]
            if not qt:
                out.append(None)
                continue
            docs, _ = retriever.retrieve([qt], k=10, show_progress=False)
            ranked = [ids[i] for i in docs[0]]
            out.append(next((pos for pos, aid in enumerate(ranked, 1) if aid in q.gold), None))
        return out
    return ranks


def answer_accuracy(ds, lists: list[Lists], questions: list[Question], w: float) -> float:
    """Share of questions whose top passage's answer sentence holds a gold answer (t2s)."""
    from . import answer as answer_mod

    t2s = _converter("t2s")
    hits = 0
    for lst, q in zip(lists, questions):
        ranked = fuse(lst.keyword, lst.dense, w) if lst.keyword else lst.dense
        if not ranked:
            continue
        p = ds.store.passages([ranked[0][0]])[ranked[0][0]]
        art = ds.store.article(p.article_id)
        qa = analyze(q.text, ds.settings.max_query_chars)
        c = answer_mod.best_sentence(qa.canonical, p.text, title=art.title if art else "")
        sent = t2s.convert(p.text[c.start:c.end])
        if any(t2s.convert(a) in sent for a in q.answers if a):
            hits += 1
    return hits / max(len(questions), 1)


# -- the command ----------------------------------------------------------------------------
def _table(title: str, rows: list[tuple[str, dict]]) -> str:
    lines = [f"\n{title}", f"{'':32} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'n':>6}"]
    for label, m in rows:
        lines.append(f"{label:32} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['R@10']:6.3f} {m['MRR@10']:7.3f} {m['n']:6d}")
    return "\n".join(lines)


def evaluate(settings: Settings, bench: Path, sample: int = 0, tune: bool = False,
             log=print, progress=None) -> dict:
    results: dict = {"model": settings.model, "settings": {"max_passage_chars": settings.max_passage_chars}}
    t_start = time.time()
    dense_ok = True
    dev = load_mixed_dev(bench)
    xq = load_xquad(bench)
    if sample > 1:
        dev.questions = dev.questions[::sample]
        xq.questions = xq.questions[::sample]
    sets = []
    for corpus in (dev, xq):
        ds = build_index(corpus, settings, progress)
        owner = _passage_articles(ds)
        lists = rank_lists(ds, corpus.questions, with_dense=dense_ok)
        sets.append((corpus, ds, owner, lists))
    seed_ds, seed_q = _seed_index(settings, bench, progress)
    seed_text = _passage_text_t2s(seed_ds)
    seed_lists = rank_lists(seed_ds, seed_q, with_dense=dense_ok)

    def rel_gold(owner):
        return lambda q: (lambda pid: owner.get(pid) in q.gold)

    def rel_seed(q):
        return lambda pid: any(g in seed_text.get(pid, "") for g in q.gold_strings)

    # Groups: each dataset/script/language, each evaluated in keyword/dense/hybrid.
    groups: list[tuple[str, list, list, object]] = []
    for corpus, ds, owner, lists in sets:
        labels = sorted({q.group for q in corpus.questions})
        for label in labels:
            idx = [i for i, q in enumerate(corpus.questions) if q.group == label]
            groups.append((label, [lists[i] for i in idx], [corpus.questions[i] for i in idx], rel_gold(owner)))
            held = [i for i in idx if corpus.questions[i].heldout]
            if corpus is dev and len(held) < len(idx):
                groups.append((label + ":heldout", [lists[i] for i in held],
                               [corpus.questions[i] for i in held], rel_gold(owner)))
    for label in sorted({q.group for q in seed_q}):
        idx = [i for i, q in enumerate(seed_q) if q.group == label]
        groups.append((label, [seed_lists[i] for i in idx], [seed_q[i] for i in idx], rel_seed))
    groups.append(("seed:all", seed_lists, seed_q, rel_seed))

    if tune:
        # Only questions no model was trained on: the held-out 30% of DRCD/CMRC (the shipped model
        # saw the rest; tuning on it inflated the dense weight), XQuAD and the seed questions.
        tuning = [g for g in groups if g[0].endswith(":heldout") or g[0].startswith(("xquad", "seed:"))]
        tuning = [g for g in tuning if g[0] != "seed:all"]
        # Each weight applies to its own questions: tune each on exactly those.
        w = tune_weight(_subset(tuning, translated=False), log, "Chinese questions")
        english = _subset(tuning, translated=True)
        w_en = tune_weight(english, log, "translated English questions") if english else w
        store_calibration(settings.model, {**calibrated_fusion(settings.model), "dense_weight": w,
                                           "dense_weight_translated": w_en,
                                           "tuned_on": "held-out 30% of DRCD+CMRC dev (both scripts), XQuAD en+zh, seed questions",
                                           "tuned_at": time.strftime("%Y-%m-%d")})
        settings = replace(settings, dense_weight=w, dense_weight_translated=w_en)
    w, w_en = settings.resolved_dense_weight, settings.resolved_dense_weight_translated
    results["dense_weight"], results["dense_weight_translated"] = w, w_en
    figures: dict[str, dict] = {}
    for label, lists, qs, rel in groups:
        figures[label] = {mode: metrics(ranks_for(lists, qs, rel, w, mode, w_en))
                          for mode in ("keyword", "dense", "hybrid")}
    # The plain BM25 baseline, same questions, same run.
    baseline = {corpus.name: bm25_baseline(corpus.articles) for corpus in (dev, xq)}
    for corpus in (dev, xq):
        for label in sorted({q.group for q in corpus.questions}):
            qs = [q for q in corpus.questions if q.group == label]
            figures[label]["bm25_baseline"] = metrics(baseline[corpus.name](qs))
    # Overall dev figures (both datasets) as written and converted.
    dev_ds, dev_owner, dev_lists = sets[0][1], sets[0][2], sets[0][3]
    for variant, pick in (("dev:as-written", lambda g: ":" not in g), ("dev:converted", lambda g: g.endswith(("t2s", "s2t")))):
        idx = [i for i, q in enumerate(dev.questions) if pick(q.group)]
        qs = [dev.questions[i] for i in idx]
        ls = [dev_lists[i] for i in idx]
        figures[variant] = {mode: metrics(ranks_for(ls, qs, rel_gold(dev_owner), w, mode, w_en))
                            for mode in ("keyword", "dense", "hybrid")}
        figures[variant]["bm25_baseline"] = metrics(baseline[dev.name](qs))
    results["figures"] = figures
    # Answer sentences on the dev set (top hybrid passage).
    ans = {}
    for tag in ("drcd", "cmrc"):
        idx = [i for i, q in enumerate(dev.questions) if q.group == tag]
        ans[tag] = answer_accuracy(dev_ds, [dev_lists[i] for i in idx], [dev.questions[i] for i in idx], w)
    n_d = sum(1 for q in dev.questions if q.group == "drcd")
    n_c = sum(1 for q in dev.questions if q.group == "cmrc")
    ans["dev"] = (ans["drcd"] * n_d + ans["cmrc"] * n_c) / max(n_d + n_c, 1)
    # The answer rules were designed looking at the whole dev set: the held-out 30% is the check.
    idx = [i for i, q in enumerate(dev.questions) if q.group in ("drcd", "cmrc") and q.heldout]
    ans["heldout"] = answer_accuracy(dev_ds, [dev_lists[i] for i in idx], [dev.questions[i] for i in idx], w)
    results["answer_sentence_accuracy"] = ans
    # Seed question ranks (hybrid) for the record.
    seed_ranks = ranks_for(seed_lists, seed_q, rel_seed, w, "hybrid", w_en)
    results["seed_ranks"] = {q.text: r for q, r in zip(seed_q, seed_ranks)}
    results["latency_ms"] = latency(seed_ds, [q.text for q in seed_q] * 4)
    results["seconds"] = round(time.time() - t_start, 1)
    return results


def _subset(groups, translated: bool):
    out = []
    for label, lists, qs, rel in groups:
        idx = [i for i, lst in enumerate(lists) if lst.translated == translated]
        if idx:
            out.append((label, [lists[i] for i in idx], [qs[i] for i in idx], rel))
    return out


def tune_weight(groups, log, what: str) -> float:
    """The dense weight with the best mean MRR@10 over the benchmark groups, among weights
    whose hybrid is never below keyword-only (R@1 and MRR@10) on any group."""
    main = groups
    log(f"tuning the dense weight for {what} on {', '.join(g[0] for g in main)}")
    base = {label: metrics(ranks_for(lists, qs, rel, 0.0, "keyword")) for label, lists, qs, rel in main}
    best_w, best_score = 0.0, -1.0
    for w in WEIGHT_GRID:
        ms = {label: metrics(ranks_for(lists, qs, rel, w, "hybrid")) for label, lists, qs, rel in main}
        # Never below keyword-only: a set where keyword finds nothing (English) cannot be hurt.
        ok = all(ms[lb]["MRR@10"] >= base[lb]["MRR@10"] - 1e-9 and ms[lb]["R@1"] >= base[lb]["R@1"] - 1e-9
                 for lb in ms)
        score = statistics.mean(m["MRR@10"] for m in ms.values())
        log(f"  tune w={w:.2f}: mean MRR@10 {score:.4f}{'' if ok else '  (below keyword-only somewhere)'}")
        if ok and score > best_score + 1e-9:
            best_w, best_score = w, score
    log(f"  chosen dense weight {best_w:.2f}")
    return best_w


def _seed_index(settings: Settings, bench: Path, progress):
    from .engine import DocSearch

    tmp = Path(tempfile.mkdtemp(prefix="docsearch-eval-seed-"))
    ds = DocSearch(replace(settings, index_dir=tmp, milvus_collection="docsearch_eval_seed"), progress=progress)
    if settings.backend == "milvus":   # never the user's own library on a shared server
        ds.backend.drop_library()
        ds = DocSearch(replace(settings, index_dir=tmp, milvus_collection="docsearch_eval_seed"), progress=progress)
    ds.index()
    if not ds.articles():
        raise FileNotFoundError(f"no articles in the corpus folder {settings.corpus_dir} "
                                "(run from the repo root or pass --corpus-dir)")
    return ds, load_seed_questions(bench)


def latency(ds, queries: list[str], warm: int = 3) -> dict[str, float]:
    for q in queries[:warm]:
        ds.search(q, k=10)
    times = []
    for q in queries:
        t = time.perf_counter()
        ds.search(q, k=10)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median": round(statistics.median(times), 2), "p95": round(times[int(0.95 * (len(times) - 1))], 2),
            "n": len(times)}


def format_report(res: dict) -> str:
    figs = res["figures"]
    out = [f"model {res['model']}, dense weight {res['dense_weight']:.2f} "
           f"(translated English questions {res['dense_weight_translated']:.2f})"]
    order = ["dev:as-written", "dev:converted", "drcd", "drcd:t2s", "cmrc", "cmrc:s2t",
             "drcd:heldout", "cmrc:heldout", "xquad:en", "xquad:zh"]
    rows = []
    for label in order + sorted(k for k in figs if k.startswith("seed:")):
        if label not in figs:
            continue
        for mode in ("bm25_baseline", "keyword", "dense", "hybrid"):
            if mode in figs[label]:
                rows.append((f"{label} {mode}", figs[label][mode]))
    out.append(_table("retrieval (a hit = a passage of the question's own paragraph)", rows))
    a = res["answer_sentence_accuracy"]
    out.append(f"\nanswer sentence holds the gold answer (top passage): dev {a['dev']:.3f} "
               f"(DRCD {a['drcd']:.3f}, CMRC {a['cmrc']:.3f}; held-out 30% {a['heldout']:.3f})")
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


def run_cli(args, settings: Settings) -> int:
    from .cli import CLIError, _progress_factory

    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    if not (bench / "DRCD_dev.json").exists():
        raise CLIError(f"no benchmark at {bench} (expected DRCD_dev.json, cmrc2018_dev.json, "
                       "xquad_zh_en.jsonl, seed_dev_qa.jsonl); give its folder as an argument")
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    if settings.backend != "embedded":
        if args.tune:
            raise CLIError("--tune measures the model, not the backend: run it with --backend embedded")
        # Side by side: the same questions on the embedded engine, then on the configured backend.
        log("embedded engine (SQLite + FAISS):")
        base = evaluate(replace(settings, backend="embedded"), bench, sample=args.sample, log=log,
                        progress=_progress_factory())
        log(f"{settings.backend} backend:")
        res = evaluate(settings, bench, sample=args.sample, log=log, progress=_progress_factory())
        res["embedded"] = base
        print(format_report(res))
        print(format_comparison(base, res, settings.backend))
    else:
        res = evaluate(settings, bench, sample=args.sample, tune=args.tune, log=log, progress=_progress_factory())
        print(format_report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def run_latency_cli(args, settings: Settings) -> int:
    from .cli import _engine

    ds = _engine(settings)
    bench = default_bench_dir()
    queries = [q.text for q in load_seed_questions(bench)] if (bench / "seed_dev_qa.jsonl").exists() else []
    queries = queries or ["美国制造业回流", "供应链韧性", "What share of US imports came from China?"]
    queries = (queries * (args.queries // len(queries) + 1))[:args.queries]
    lat = latency(ds, queries)
    t = time.perf_counter()
    for q in queries[:20]:
        ds.ask(q, k=5)
    ask_ms = (time.perf_counter() - t) * 1000 / min(20, len(queries))
    print(f"index {settings.index_dir}: {ds.store.passage_count()} passages, model {settings.model}, dense weight "
          f"{ds.dense_weight:.2f} (translated English questions {settings.resolved_dense_weight_translated:.2f})")
    print(f"search: median {lat['median']} ms, p95 {lat['p95']} ms over {lat['n']} queries (2 cores, warm)")
    print(f"ask: mean {ask_ms:.1f} ms over {min(20, len(queries))} questions")
    return 0
