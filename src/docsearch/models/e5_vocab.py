"""Which of multilingual-e5-small's 250,002 vocabulary pieces a Chinese and English library needs.

Building the tokenizer's unigram model costs ~1.1 s at every cold start, in proportion to the
vocabulary, and the word-embedding matrix is four fifths of the weights. Most pieces belong to
scripts docsearch never meets as words (Cyrillic, Arabic, Indic, Thai, Hangul, ...).

The pruning is exact for every text without characters of those scripts: a unigram tokenizer
segments a text with the pieces that occur in it, and a piece holding a character the text lacks
cannot occur in it, so dropping such pieces changes neither the tokens nor the vector. Every
single-character piece stays (whatever its script), so a stray Korean or Russian word is still
read character by character instead of becoming unknown tokens.
"""
from __future__ import annotations

import numpy as np

# Scripts whose multi-character pieces are dropped: (first, last) codepoints.
DROPPED_SCRIPTS: tuple[tuple[int, int], ...] = (
    (0x0400, 0x052F),  # Cyrillic
    (0x0530, 0x058F),  # Armenian
    (0x0590, 0x05FF),  # Hebrew
    (0x0600, 0x08FF),  # Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic Extended
    (0x0900, 0x0DFF),  # Devanagari to Sinhala
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x10A0, 0x10FF),  # Georgian
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x1200, 0x139F),  # Ethiopic
    (0x13A0, 0x13FF),  # Cherokee
    (0x1780, 0x18AF),  # Khmer, Mongolian
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables and Jamo Extended-B
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms
    (0xFE70, 0xFEFF),  # Arabic presentation forms-B
)
_STARTS = np.array([a for a, _ in DROPPED_SCRIPTS])
_ENDS = np.array([b for _, b in DROPPED_SCRIPTS])


def in_dropped_script(codepoint: int) -> bool:
    """Whether the character belongs to a script whose multi-character pieces are dropped."""
    i = int(np.searchsorted(_STARTS, codepoint, side="right")) - 1
    return i >= 0 and codepoint <= int(_ENDS[i])


def kept_piece_ids(pieces: list[str]) -> np.ndarray:
    """Sorted ids of the pieces to keep: single characters, and pieces with no character of a
    dropped script (special tokens are kept by the model writer)."""
    return np.array([i for i, p in enumerate(pieces)
                     if len(p) <= 1 or not any(in_dropped_script(ord(c)) for c in p)], dtype=np.int64)
