"""Text normalization for matching: width, punctuation, script and regional vocabulary.

Two forms serve two purposes:
- `canonical(text)`: one Simplified, mainland-vocabulary form used for the keyword index, the
  embedding model and query matching. OpenCC's `tw2sp` maps Taiwan phrases (晶片 -> 芯片) but
  leaves Taiwan words already written in Simplified characters (欧巴马) alone, so text goes
  t2s -> s2twp -> tw2sp: whichever script or vocabulary it came in, it lands on the same form.
  A shipped table (data/vocabulary.tsv) adds pairs OpenCC does not know (通膨 -> 通胀).
- `aligned_simplified(text)`: character-for-character Simplified, same length as the input, so
  positions found in it are positions in the original (highlighting, lookup).
Display always uses the original text.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from docsearch.config import PACKAGE_DATA

# Punctuation folded to one form each; NFKC already folds full-width ASCII (，！？ -> , ! ?).
_PUNCT = str.maketrans({
    "\u3000": " ", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
    "“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "„": '"',
    "‘": "'", "’": "'",
    "—": "-", "–": "-", "―": "-", "－": "-", "‐": "-",
    "～": "~", "〜": "~",
    "、": ",", "。": ".", "．": ".",
    "《": '"', "》": '"', "〈": '"', "〉": '"',
    "【": "[", "】": "]", "〔": "[", "〕": "]",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


@lru_cache(maxsize=None)
def converter(config: str) -> opencc.OpenCC:
    """The OpenCC converter for a configuration name (t2s, s2t, s2twp, tw2sp), made once."""
    return opencc.OpenCC(config)


def fold(text: str) -> str:
    """NFKC width folding, one form per punctuation mark, no control characters."""
    return unicodedata.normalize("NFKC", _CONTROL.sub("", text)).translate(_PUNCT)


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    table: dict[str, str] = {}
    path = PACKAGE_DATA / "vocabulary.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        regional, mainland = line.split("\t")[:2]
        table[regional.strip()] = mainland.strip()
    if not table:
        return None, table
    alternation = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return re.compile(alternation), table


def _apply_vocabulary(text: str) -> str:
    pattern, table = _vocabulary()
    return pattern.sub(lambda m: table[m.group(0)], text) if pattern else text


@lru_cache(maxsize=4096)
def _canonical_cached(text: str) -> str:
    simplified = converter("t2s").convert(fold(text))
    mainland = converter("tw2sp").convert(converter("s2twp").convert(simplified))
    return _apply_vocabulary(mainland).lower()


def canonical_many(texts: list[str]) -> list[str]:
    """canonical() of each text, through one OpenCC call per converter instead of one per text
    (per-call overhead dominates for sentences). Newlines inside a text become spaces: no
    conversion or vocabulary entry spans a line, and both only separate tokens."""
    if not texts:
        return []
    joined = "\n".join(t.replace("\n", " ").replace("\r", " ") for t in texts)
    out = _canonical_cached.__wrapped__(joined).split("\n")
    if len(out) != len(texts):  # a line separator appeared from folding: fall back, text by text
        return [canonical(t) for t in texts]
    return out


def canonical(text: str) -> str:
    """The single matching form: folded, Simplified, mainland vocabulary, lower-case Latin."""
    if len(text) > 512:  # only short strings (queries, terms) are worth caching
        return _canonical_cached.__wrapped__(text)
    return _canonical_cached(text)


def aligned_simplified(text: str) -> str:
    """Simplified, folded and lower-cased text of exactly the same length as `text`.

    Phrase-level conversion is used where it keeps the length (almost always); otherwise each
    character is converted on its own.
    """
    folded = "".join(_fold_char(c) for c in text)
    whole = converter("t2s").convert(folded)
    if len(whole) != len(folded):
        whole = "".join(_converted_char("t2s", c) for c in folded)
    return whole.lower()


@lru_cache(maxsize=None)
def _fold_char(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch).translate(_PUNCT)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=None)
def _converted_char(config: str, ch: str) -> str:
    out = converter(config).convert(ch)
    return out if len(out) == 1 else ch


# Characters Simplified writing uses as they are although OpenCC's t2s changes them on their own
# (乾坤, 著名, 瞭望): never a sign that a clause is written in Traditional.
_SIMPLIFIED_TOO = frozenset("乾著瞭")
# Forms OpenCC's s2tw picks that Taiwan writing does not use (回流 stays 回流, 台灣 stays 台灣):
# a shared character is left as written rather than turned into these.
_TRADITIONAL_KEEP = frozenset({("回", "迴"), ("台", "臺")})
# A clause: a run of letters, digits and Han characters (punctuation and spaces end it).
_CLAUSE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=None)
def _foreign(ch: str, script: str) -> bool:
    """Whether `ch` cannot stand in `script` as written: a Simplified-only character for
    'zh-Hant' (OpenCC changes it and Big5 has no such character: 发, 为; not 台, 回, 里, 后,
    which Traditional text uses too), a Traditional-only one for 'zh-Hans' (後, 們)."""
    if script == "zh-Hant":
        if _converted_char("s2tw", ch) == ch:
            return False
        try:
            ch.encode("cp950")
        except UnicodeEncodeError:
            return True
        return False
    return _converted_char("t2s", ch) != ch and ch not in _SIMPLIFIED_TOO


def convert_for_display(text: str, script: str) -> str:
    """`text` in Simplified ('zh-Hans') or Taiwan Traditional ('zh-Hant') characters, same length,
    so highlight offsets computed on the original still apply; anything else returns it as is.

    Text already in the target script is never rewritten (OpenCC's phrase tables would turn
    Traditional 回流 into 迴流 and 台積電 into 臺積電): only clauses holding a character foreign to
    the target script change. In those, OpenCC's phrase-level forms apply to the shared
    characters too, so 这里 becomes 這裡 and 以后 以後, except the two Taiwan writing keeps
    (回 -> 迴, 台 -> 臺)."""
    config = {"zh-Hans": "t2s", "zh-Hant": "s2tw"}.get(script)
    if config is None or not any(_foreign(c, script) for c in text):
        return text
    out = list(text)
    for m in _CLAUSE.finditer(text):
        clause = m.group(0)
        if not any(_foreign(c, script) for c in clause):
            continue
        whole = converter(config).convert(clause)
        if len(whole) != len(clause):
            whole = "".join(_converted_char(config, c) for c in clause)
        for i, (old, new) in enumerate(zip(clause, whole)):
            if (old, new) not in _TRADITIONAL_KEEP or script != "zh-Hant":
                out[m.start() + i] = new
    return "".join(out)


def term_variants(term: str) -> set[str]:
    """Every form `term` can take in `aligned_simplified` text, across scripts and vocabularies.

    芯片 -> {芯片, 晶片}; 網際網路 -> {网际网路, 互联网}; 歐巴馬 -> {欧巴马, 奥巴马}.
    """
    folded = fold(term).strip()
    if not folded:
        return set()
    t2s, s2t = converter("t2s"), converter("s2t")
    forms = {folded, t2s.convert(folded), s2t.convert(folded)}
    forms |= {converter("s2twp").convert(f) for f in list(forms)}
    forms |= {converter("tw2sp").convert(f) for f in list(forms)}
    canon = canonical(folded)
    forms.add(canon)
    _, table = _vocabulary()
    # Regional words that map to this term's canonical form (通胀 is also written 通膨).
    for regional, mainland in table.items():
        if mainland in canon:
            forms.add(canon.replace(mainland, regional))
    return {aligned_simplified(f) for f in forms if f.strip()}


_SCRIPT_SAMPLE = 4000


def detect_script(text: str) -> str:
    """'zh-Hant', 'zh-Hans', 'en' or 'other', from the characters OpenCC would change."""
    sample = text[:_SCRIPT_SAMPLE]
    han = sum(1 for c in sample if _is_han(c))
    if han == 0:
        latin = sum(1 for c in sample if c.isascii() and c.isalpha())
        return "en" if latin else "other"
    to_simp = sum(1 for a, b in zip(sample, converter("t2s").convert(sample)) if a != b)
    to_trad = sum(1 for a, b in zip(sample, converter("s2t").convert(sample)) if a != b)
    return "zh-Hant" if to_simp > to_trad else "zh-Hans"


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x3134F)


is_han = _is_han


# Lone UTF-16 surrogates (argv carries undecodable bytes as these) cannot be in any stored text.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_query(text: str) -> str:
    """A query with control characters and lone surrogates removed, white space collapsed."""
    return " ".join(_SURROGATE.sub(" ", _CONTROL.sub(" ", text)).split())
