"""Tokens for the keyword index: jieba words and character n-grams of canonical text.

Every token is either a run of Han characters or a run of other word characters (Latin, digits,
with inner dots kept in numbers: 14.3). Tokens never hold spaces, quotes or FTS5 operators, so
they can be stored as space-separated text under FTS5's unicode61 tokenizer, which would
otherwise treat a whole run of Chinese characters as one token.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from docsearch.config import PACKAGE_DATA
from docsearch.text.normalize import is_han

# Han runs, or word runs with dots inside numbers (14.3, 1.8) kept together.
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"[{_HAN}]+|(?:(?![{_HAN}])[^\W_])+(?:\.[0-9]+)*")
# Single Han characters too frequent to help ranking; bigrams containing them still count.
STOP_UNIGRAMS = frozenset("的了是在和与及或也而之于其有为以对这那个")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def tokenizer():
    """The jieba tokenizer with the domain dictionary, loaded once (other modules read its FREQ)."""
    import logging
    import warnings

    with warnings.catch_warnings():
        # jieba imports pkg_resources when present (setuptools<81, pinned by the milvus extra).
        warnings.simplefilter("ignore", UserWarning)
        import jieba  # imported here: loading its dictionary costs ~0.6 s

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        tk = jieba.Tokenizer()
        tk.initialize()
        tk.load_userdict(str(PACKAGE_DATA / "domain_dict.txt"))
    return tk


def runs(text: str) -> list[str]:
    """Han runs and word runs of already canonical text, in order."""
    return _RUN.findall(text)


def _is_han_run(run: str) -> bool:
    return is_han(run[0])


def char_grams(text: str) -> list[str]:
    """Han unigrams (minus a few stop characters) and bigrams; other word runs whole."""
    out: list[str] = []
    for run in runs(text):
        if not _is_han_run(run):
            out.append(run)
            continue
        out.extend(c for c in run if c not in STOP_UNIGRAMS)
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


def words(text: str) -> list[str]:
    """jieba words of canonical text (with the shipped domain dictionary), in search mode: a
    compound comes with its parts (制造业回流 -> 制造, 制造业, 回流, 制造业回流), so a query
    compound still meets a passage that uses a part of it. Other runs stay whole."""
    out: list[str] = []
    tk = tokenizer()
    for run in runs(text):
        if not _is_han_run(run):
            out.append(run)
            continue
        out.extend(w for w in tk.cut_for_search(run, HMM=True) if w.strip())
    return out


def chars(text: str) -> list[str]:
    """One token per Han character and per other word run: the exact-lookup stream."""
    out: list[str] = []
    for run in runs(text):
        if _is_han_run(run):
            out.extend(run)
        else:
            out.append(run)
    return out
