"""The scale benchmark's synthetic corpora and queries (see tools/scale/__init__.py)."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Iterator


# Queries whose terms occur in a large share of passages: FTS5's slow spot.
COMMON_QUERIES = ["供应链", "美国", "中国", "经济发展", "美國的歷史", "国家"]


def parse_sizes(text: str) -> list[int]:
    """'10k,100k,1m' -> [10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        num = part[:-1] if part[-1] in "km" else part
        try:
            out.append(int(float(num) * mult))
        except ValueError as exc:
            raise ValueError(f"bad size {part!r} (use e.g. 10k,100k,1m)") from exc
    if not out or min(out) <= 0:
        raise ValueError("sizes must be positive, e.g. 10k,100k,1m")
    return sorted(out)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# -- corpus -------------------------------------------------------------------------------------
def source_paragraphs(bench: Path, seeds: Path | None) -> list[str]:
    """DRCD and CMRC dev paragraphs, and the seed articles' paragraphs (longer than 40 chars)."""
    paras: dict[str, None] = {}
    for name in ("DRCD_dev.json", "cmrc2018_dev.json"):
        data = json.loads((bench / name).read_text(encoding="utf-8"))["data"]
        for art in data:
            for p in art["paragraphs"]:
                paras.setdefault(p["context"].strip(), None)
    if seeds and seeds.is_dir():
        for f in sorted(seeds.glob("*.txt")):
            for line in f.read_text(encoding="utf-8").splitlines():
                if len(line.strip()) > 40:
                    paras.setdefault(line.strip(), None)
    return list(paras)


def synthetic_articles(paragraphs: list[str], n_passages: int, seed: int = 0) -> Iterator:
    """Articles holding about `n_passages` passages in all (see the module docstring)."""
    from docsearch.text.chunk import sentence_spans
    from docsearch.ingest import Article
    from docsearch.text.normalize import converter

    rng = random.Random(seed)
    sentences = [[p[a:b] for a, b in sentence_spans(p)] for p in paragraphs]
    sentences = [s for s in sentences if s]
    lengths = [min(len(p), 760) for p in paragraphs]
    to_trad, to_simp = converter("s2t"), converter("t2s")
    digits = re.compile(r"\d+")

    def number(m: re.Match) -> str:
        return str(rng.randrange(10 ** (len(m.group(0)) - 1), 10 ** len(m.group(0))))

    def paragraph() -> str:
        base = rng.choice(sentences)
        target = max(60, rng.choice(lengths))
        pos = rng.randrange(len(base))
        out: list[str] = []
        size = 0
        while (size < target or len(out) < 2) and len(out) < 40:
            if rng.random() < 0.5:
                sent = base[pos % len(base)]
                pos += 1
            else:
                sent = rng.choice(rng.choice(sentences))
            if size + len(sent) > 780 and out:
                break
            out.append(sent[:780])
            size += len(sent)
        if len(out) > 2 and rng.random() < 0.3:
            rng.shuffle(out)
        text = digits.sub(number, "".join(out))
        r = rng.random()
        return to_trad.convert(text) if r < 1 / 3 else to_simp.convert(text) if r < 2 / 3 else text

    seen: set[int] = set()

    def fresh_paragraph() -> str:
        # A short source pool can repeat a recombination: draw again (hashes only, 8 bytes each).
        for _ in range(100):
            text = paragraph()
            if hash(text) not in seen:
                break
        seen.add(hash(text))
        return text

    made = 0
    n = 0
    while made < n_passages:
        k = min(rng.randint(1, 4), n_passages - made)
        paras = [fresh_paragraph() for _ in range(k)]
        made += k
        title = f"合成文章 {n} · " + paras[0][:12]
        yield Article(title=title, text="\n\n".join(paras), id=f"syn-{n:07d}", source="synthetic")
        n += 1


def bench_queries(bench: Path, n: int, seed: int = 0) -> list[str]:
    """n questions: DRCD / CMRC dev questions as written and in the other script, and XQuAD
    English questions (the ones that use the dense side by default)."""
    from docsearch.tools.benchdata import load_mixed_dev, load_xquad

    rng = random.Random(seed)
    zh = [q.text for q in load_mixed_dev(bench).questions]
    en = [q.text for q in load_xquad(bench).questions if q.group == "xquad:en"]
    n_en = max(1, n // 5)
    return rng.sample(zh, min(len(zh), n - n_en)) + rng.sample(en, min(len(en), n_en))
