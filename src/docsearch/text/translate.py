"""Dictionary translation of English (and mixed) queries for the keyword side.

English words cannot match Chinese passages in a keyword index, so the English parts of a query
become groups of Chinese alternatives: the shipped domain glossary first (reshoring -> 回流/回岸),
then the sense table (senses.py: CC-CEDICT glosses, CC BY-SA 4.0, ranked by parallel-text and
wordnet evidence), of whose candidates only those near the best sense are kept ("companies" is
公司, not 连队). Phrases are matched longest first, as written and in dictionary form, so the
words around a word choose its sense ("moving factories" searches 迁厂/外迁, not 感动). Each source
word or phrase keeps its alternatives as one group, weighted down by how many there are. Chinese
characters, numbers and Latin names in the query stay as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from docsearch.config import PACKAGE_DATA
from docsearch.text import senses
from docsearch.text.normalize import canonical, is_han

MAX_PHRASE_WORDS = 4
STOPWORDS = frozenset("""a an the of in on at to for from by with about as into over under between during before after
what which who whom whose when where why how did does do done is are was were be been being has have had will would
can could should may might must shall its it this that these those there their they them his her he she we you your our
my me i and or but not no nor so than then too very much many more most some any each own such only also just s
per via according say says said tell cover covers covered""".split())
# Light verbs and particles: on their own they stand for nothing a passage would say ("go" is
# 去/于/走/行 in the dictionary); inside a phrase ("take part", "supply chain") they count.
LIGHT = frozenset("""go goes went gone going get gets got gotten getting come comes came coming take takes took
taken taking give gives gave given giving put puts putting let lets make makes made making away back up out
off down thing things way ways well like also yes him himself herself itself themselves yourself ourselves
myself hers theirs ours yours""".split())
_WORD = re.compile(r"[a-z0-9]+(?:[.'\-][a-z0-9]+)*")
_CASED = re.compile(r"[A-Za-z0-9]+(?:[.'\-][A-Za-z0-9]+)*")
# A possessive ending (Mexico's, the EU's, companies') is not part of the word the dictionary lists.
_POSSESSIVE = re.compile(r"(?<=[A-Za-z])['’]s\b|(?<=[A-Za-z]s)['’](?!\w)")


@dataclass(frozen=True)
class Group:
    source: str                # the English word or phrase
    alternatives: tuple[str, ...]  # canonical Chinese forms

    # Each alternative's sense score as a share of the best (1.0 each for glossary entries).
    shares: tuple[float, ...] = ()

    @property
    def weight(self) -> float:
        return 1.0 / len(self.alternatives) ** 0.5

    def share(self, alternative: str) -> float:
        """How surely this alternative is the word's meaning here (the best one: 1.0)."""
        if not self.shares or alternative not in self.alternatives:
            return 1.0
        return self.shares[self.alternatives.index(alternative)]


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


@lru_cache(maxsize=1)
def _collocations() -> dict[str, dict[str, str]]:
    """The glossary's two-word entries (move factory, supply chain) under their first word, the
    one whose sense the pair settles: word -> {the other word: the entry}. The other word keeps
    its own translation (factory: 工厂). Stopword pairs (how long) are left out: "how" and "long"
    anywhere in a question do not ask for a duration."""
    out: dict[str, dict[str, str]] = {}
    for key in _glossary():
        parts = key.split()
        if len(parts) == 2 and not any(p in STOPWORDS or p in LIGHT for p in parts):
            out.setdefault(parts[0], {})[parts[1]] = key
    return out


def _collocation(word_forms: list[str], others: set[str]) -> str | None:
    """The two-word glossary entry a word forms with another word of the same question, in any
    order and apart ("factories move overseas" is "move factory"), if any."""
    table = _collocations()
    return next((key for f in word_forms for other, key in table.get(f, {}).items() if other in others), None)


@lru_cache(maxsize=1)
def _pinyin_names() -> dict[str, tuple[str, ...]]:
    """Chinese proper names by toneless pinyin of two or more syllables (data/pinyin_names.tsv.gz,
    from CC-CEDICT by training/build_pinyin_names.py): xijinping -> 习近平, guangdong -> 广东."""
    return {k: tuple(canonical(n) for n in v.split("|"))
            for k, v in senses.read_table("pinyin_names.tsv.gz").items()}


def _pinyin_name(cased: list[str], i: int) -> tuple[int, tuple[str, ...]] | None:
    """A name written in pinyin at position i (capitalised words, up to three: Xi Jinping,
    Deng Xiaoping, Guangdong): (words it spans, Chinese names), longest first."""
    names = _pinyin_names()
    run = 0
    while i + run < len(cased) and run < 3 and cased[i + run][:1].isupper() and cased[i + run].isalpha():
        run += 1
    for n in range(run, 0, -1):
        key = "".join(cased[i:i + n]).lower()
        if key in names:
            return n, names[key]
    return None


def _lemmas(word: str) -> list[str]:
    """The forms under which the glossary may list a query word (its own entries are exact)."""
    return [f for f, _ in senses.forms(word)]


_ROMAN = re.compile(r"(?=[IVXLC]{2,}$)C{0,3}(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_CHINESE_DIGITS = "零一二三四五六七八九"


def roman_value(word: str) -> int | None:
    """The value of a Roman numeral written in capitals with at least two letters (XLIX -> 49),
    else None: one letter is a label (plan B, vitamin C), and M/D are left out, since DC or
    MD are abbreviations far more often than numbers."""
    if not _ROMAN.fullmatch(word):
        return None
    values = [_ROMAN_VALUES[c] for c in word]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def chinese_number(n: int) -> str:
    """A number below 400 in Chinese numerals (49 -> 四十九, 12 -> 十二, 105 -> 一百零五)."""
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    out = _CHINESE_DIGITS[hundreds] + "百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else _CHINESE_DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (_CHINESE_DIGITS[ones] if ones else "")


def roman_forms(n: int) -> tuple[str, ...]:
    """How Chinese text writes the number a Roman numeral after a name stands for: in digits
    (第49届超级碗), in numerals (第四十九届), and as a regnal number for small ones (亨利三世); a
    lone numeral character (三) would match nearly every passage and is left out."""
    cn = chinese_number(n)
    forms = [str(n)] + ([cn] if len(cn) > 1 else []) + ([cn + "世"] if n <= 20 else [])
    return tuple(dict.fromkeys(forms))


def has_english(text: str) -> bool:
    """Whether the query is mainly English: more Latin letters than Han characters. A Chinese
    question with an English name in it (Good Jobs First在2022年…) is searched as written."""
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    han = sum(1 for c in text if is_han(c))
    return latin > han and any(w not in STOPWORDS and not w.isdigit() for w in _WORD.findall(text.lower()))


def translate(text: str) -> list[Group]:
    """Groups of Chinese alternatives for the English words and phrases of `text`: glossary
    entries as listed, dictionary senses ranked (senses.py), phrases first: in context a word
    means what the phrase means ("moving factories" is 迁厂/外迁, never 感动)."""
    gloss, table = _glossary(), senses.table()
    cased = _CASED.findall(_POSSESSIVE.sub("", text).replace("-", " "))
    # Capitalized inside the question: a name, looked up as written (Manning is not "man" + ing);
    # "US" is the country, the pronoun "us" a stopword like "we".
    names = {i for i, w in enumerate(cased) if i > 0 and w[0].isupper()}
    words = ["we" if w == "us" else w.lower() for w in cased]
    # Each word's dictionary form, for glossary pairs found apart (_collocation).
    bases = [senses.base(w) for w in words]
    groups: list[Group] = []
    i = 0
    while i < len(words):
        found = None
        number = roman_value(cased[i]) if i in names else None
        if number:
            # Super Bowl XLIX is the 第49届 one, Henry III is 亨利三世: the number as Chinese writes it.
            groups.append(Group(words[i], roman_forms(number)))
            i += 1
            continue
        pinyin = _pinyin_name(cased, i)
        if pinyin and (pinyin[0] > 1 or words[i] not in gloss and words[i] not in table):
            # A name in pinyin the dictionary does not list in English (Xi Jinping, Shenzhen).
            found = (pinyin[0], Group(" ".join(words[i:i + pinyin[0]]), pinyin[1]))
        for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            if found:
                break
            span = words[i:i + n]
            if all(w in STOPWORDS or w.isdigit() for w in span):
                if n == 1:
                    break
                continue
            phrase = " ".join(span)
            if n > 1:   # as written, then in dictionary form ("moving factories" -> "move factory")
                forms = list(dict.fromkeys([phrase, " ".join(senses.base(w) for w in span)]))
                alts = next(((gloss[f], ()) for f in forms if f in gloss), None)
                alts = alts or next((senses.choose(senses.candidates(f)) for f in forms if f in table), None)
            elif phrase in LIGHT or (len(phrase) == 1 and phrase.isalpha()):
                # A lone letter is a label (plan B, vitamin D), not the dictionary's 杆菌 or 五百.
                break
            else:
                # A verb's forms are not the glossary's nouns ("issued" is not 期, an issue).
                forms = [phrase] if phrase.endswith(("ed", "ing")) else _lemmas(phrase)
                # In context first: the word with another of the question's words is a glossary pair.
                others = {b for j, b in enumerate(bases) if j != i and words[j] not in STOPWORDS}
                pair = _collocation(list(dict.fromkeys([phrase, bases[i]])), others)
                alts = (gloss[pair], ()) if pair else None
                alts = alts or next(((gloss[f], ()) for f in forms if f in gloss), None)
                alts = alts or senses.choose(senses.candidates(phrase, exact=i in names))
            if alts and alts[0]:
                found = (n, Group(phrase, *alts))
                break
        if found:
            groups.append(found[1])
            i += found[0]
        else:
            i += 1
    return groups
