"""The keyword tokens of a passage, as every storage backend indexes them.

Three streams, each space-separated: jieba words and character n-grams of the canonical text
(ranking), and one token per character of the aligned Simplified text (exact look-up, where a
phrase query finds any substring).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from docsearch.text import segment
from docsearch.text.normalize import aligned_simplified, canonical


@dataclass(frozen=True)
class PassageTokens:
    words: str
    grams: str
    chars: str


def tokens_of(canonical_text: str, aligned_text: str) -> PassageTokens:
    """Tokens from a passage's canonical form and its aligned Simplified form."""
    return PassageTokens(" ".join(segment.words(canonical_text)), " ".join(segment.char_grams(canonical_text)),
                         " ".join(segment.chars(aligned_text)))


def passage_tokens(text: str) -> PassageTokens:
    """Tokens of one passage as written (normalized here)."""
    return tokens_of(canonical(text), aligned_simplified(text))


def phrase_tokens(phrases: Iterable[str]) -> dict[str, list[str]]:
    """Each distinct phrase with its character-stream tokens (phrases without any are left out)."""
    return {p: toks for p in set(phrases) if (toks := segment.chars(p))}
