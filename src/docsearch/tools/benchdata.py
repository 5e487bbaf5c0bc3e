"""The public benchmarks as corpora and questions (see ../shared/bench/README.md): the mixed
DRCD + CMRC dev corpus, XQuAD, and the seed questions over the shipped corpus."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from docsearch.text.normalize import converter

BENCH_FILES = ("DRCD_dev.json", "cmrc2018_dev.json", "xquad_zh_en.jsonl", "seed_dev_qa.jsonl")


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


def check_bench_dir(bench: Path) -> None:
    """Raise FileNotFoundError, saying what is expected, unless `bench` holds the benchmarks."""
    if not (bench / "DRCD_dev.json").exists():
        raise FileNotFoundError(f"no benchmark at {bench} (expected {', '.join(BENCH_FILES)})")


# -- loading -------------------------------------------------------------------------------
def load_mixed_dev(bench: Path) -> Corpus:
    articles, questions = [], []
    t2s, s2t = converter("t2s"), converter("s2t")
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


def load_seed_questions(bench: Path, path: Path | None = None, prefix: str = "seed") -> list[Question]:
    """Questions about the shipped corpus (`bench/seed_dev_qa.jsonl`, or another file of the
    same form), grouped as `prefix:lang`; gold strings in Simplified, as the passages are compared."""
    t2s = converter("t2s")
    out = []
    for line in (path or bench / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(Question(r["q"], set(), r.get("answer", []), f"{prefix}:{r['lang']}",
                                gold_strings=[t2s.convert(g) for g in r["gold"]]))
    return out
