"""Sense ranking for dictionary translation: which Chinese words an English word stands for here.

CC-CEDICT lists every sense of an English gloss at once ("moving" -> 感动 / 搬迁, "company" ->
公司 / 连队). The shipped table (data/senses_en_zh.tsv.gz, built by training/build_senses.py from
CC-CEDICT, the Chinese wordnets and English-Chinese parallel sentences) gives each candidate a
prior: how often it translates the word in real text, whether a wordnet puts them in one synset,
whether it is the entry's main sense, how close the static model puts them. At query time the
candidates of all a word's forms are pooled and only those close to the best are kept; context
comes from phrases, matched before single words and in dictionary form ("moving factories" ->
"move factory" -> 迁厂 / 外迁), in translate.py.
"""
from __future__ import annotations

import gzip
import threading
from functools import lru_cache

from docsearch.config import PACKAGE_DATA

MAX_ALTERNATIVES = 4
# Candidates scoring below this share of the best one are other senses (or noise): dropped.
# The one global knob, set on XQuAD English (0.35 / 0.5 / 0.7 / 0.85 tried).
KEEP_RATIO = 0.5
# The prior of a noun sense when the query word is an inflected verb (issued -> issue: 发布, not 期).
NOUN_FOR_VERB = 0.4
# Derived forms (interception -> intercept) are weaker evidence than inflections (factories -> factory).
DERIVED = 0.8
# Irregular past forms -> base verb: "found" is also "find", "led" is "lead", "wrote" is "write".
IRREGULAR = dict(pair.split(":") for pair in """arose:arise ate:eat awoke:awake became:become began:begin begun:begin
bent:bend bit:bite bitten:bite bled:bleed blew:blow blown:blow bore:bear borne:bear bought:buy bound:bind bred:breed
brought:bring broke:break broken:break built:build burnt:burn caught:catch chose:choose chosen:choose clung:cling
cost:cost crept:creep dealt:deal dug:dig did:do done:do drew:draw drawn:draw drank:drink drunk:drink drove:drive
driven:drive fed:feed fell:fall fallen:fall felt:feel fought:fight found:find fled:flee flew:fly flown:fly
forbade:forbid forgot:forget forgotten:forget forgave:forgive froze:freeze frozen:freeze grew:grow grown:grow
hung:hang heard:hear hid:hide hidden:hide held:hold kept:keep knew:know known:know laid:lay led:lead left:leave
lent:lend lost:lose meant:mean met:meet paid:pay rode:ride ridden:ride rang:ring rose:rise risen:rise ran:run
said:say sought:seek sold:sell sent:send shook:shake shaken:shake shone:shine shot:shoot shown:show shrank:shrink
sang:sing sung:sing sank:sink sunk:sink sat:sit slept:sleep slid:slide spoke:speak spoken:speak spent:spend
spun:spin split:split spread:spread sprang:spring stood:stand stole:steal stolen:steal stuck:stick struck:strike
stricken:strike strove:strive swore:swear sworn:swear swept:sweep swam:swim swung:swing taught:teach tore:tear
torn:tear thought:think threw:throw thrown:throw understood:understand undertook:undertake undertaken:undertake
woke:wake wore:wear worn:wear won:win wound:wind withdrew:withdraw withdrawn:withdraw wrote:write written:write
overcame:overcome overtook:overtake overthrew:overthrow overthrown:overthrow""".split())
_lock = threading.Lock()


def read_table(name: str) -> dict[str, str]:
    """A shipped gzip table (data/NAME): key -> the rest of its line, '#' lines skipped."""
    with _lock, gzip.open(PACKAGE_DATA / name, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    return dict(line.split("\t", 1) for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """English key (1-4 words, lower case) -> its candidates as stored ("工厂:4.78 厂:1.68").
    Lines are parsed only when looked up: reading 100k keys stays a fraction of a second, so
    the first English question of a process is about as fast as the rest."""
    return read_table("senses_en_zh.tsv.gz")


@lru_cache(maxsize=4096)
def entry(key: str) -> tuple[tuple[str, float, bool], ...]:
    """The (Chinese candidate, prior, is a verb sense) of one key, best first (empty if unknown)."""
    raw = table().get(key)
    if not raw:
        return ()
    out = []
    for cand in raw.split(" "):
        z, _, sc = cand.rpartition(":")
        out.append((z, float(sc.rstrip("v")), sc.endswith("v")))
    return tuple(out)


def forms(word: str) -> list[tuple[str, float]]:
    """Dictionary forms a query word may stand for, with how much to trust each."""
    out = [(word, 1.0)]
    if word in IRREGULAR:
        out.append((IRREGULAR[word], 1.0))

    def add(form: str, w: float = 1.0) -> None:
        if len(form) > 2 and form not in (f for f, _ in out):
            out.append((form, w))

    if word.endswith("ies") and len(word) > 4:
        add(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        add(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        add(word[:-1])
    if word.endswith("ied") and len(word) > 4:
        add(word[:-3] + "y")
    if word.endswith("ed") and len(word) > 3:
        add(word[:-2])
        add(word[:-1])
        if word[-3] == word[-4]:          # stopped -> stop
            add(word[:-3])
    if word.endswith("ing") and len(word) > 5:
        add(word[:-3])
        add(word[:-3] + "e")
        if word[-4] == word[-5]:          # running -> run
            add(word[:-4])
    # richest -> rich, largest -> large, easiest -> easy, biggest -> big: derived, as a phrase's
    # superlative is not the phrase ("richest man" is not 财主, a rich man).
    if word.endswith("est") and len(word) > 5:
        add(word[:-3], DERIVED)
        add(word[:-3] + "e", DERIVED)
        if word.endswith("iest"):
            add(word[:-4] + "y", DERIVED)
        if word[-4] == word[-5]:
            add(word[:-4], DERIVED)
    base = [f for f, _ in out]
    for b in base:                        # interceptions -> interception -> intercept
        if b.endswith(("tion", "sion")) and len(b) > 6:
            add(b[:-3], DERIVED)
            add(b[:-3] + "e", DERIVED)
        if b.endswith("ment") and len(b) > 7:
            add(b[:-4], DERIVED)
    return out


def candidates(phrase: str, exact: bool = False) -> dict[str, float]:
    """The scored Chinese candidates of an English word (all its forms, unless `exact`: a name
    such as Manning is not a form of "man") or phrase."""
    pool: dict[str, float] = {}
    if " " in phrase:
        options = [(phrase, 1.0)]
    elif exact:   # a name keeps its plural only: Panthers -> panther
        options = [(phrase, 1.0)] + ([(phrase[:-1], 1.0)] if phrase.endswith("s") and len(phrase) > 3 else [])
    else:
        options = forms(phrase)
    # "issued", "funded", "called": a verb's forms; the noun senses of the base (期, 基金, 电话)
    # are other words.
    verbal = not exact and (phrase.endswith(("ed", "ing")) or phrase in IRREGULAR)
    for form, trust in options:
        for z, s, verb in entry(form):
            if verbal and form != phrase and not verb:
                s *= NOUN_FOR_VERB
            pool[z] = max(pool.get(z, 0.0), s * trust)
    return pool


def base(word: str) -> str:
    """The dictionary form of a word (factories -> factory, moving -> move), for phrase look-up."""
    tab = table()
    return next((f for f, trust in forms(word)[1:] if trust == 1.0 and f in tab), word)


def choose(pool: dict[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The candidates to search: the best one and those close to it (other senses score far
    below the main one: 公司 4.4 against 连队 1.8 for "companies"), with each one's score as a
    share of the best (how much a passage holding it shows the word's meaning)."""
    if not pool:
        return (), ()
    ranked = sorted(pool.items(), key=lambda t: -t[1])
    best = ranked[0][1]
    kept = [(z, s / best) for z, s in ranked[:MAX_ALTERNATIVES] if s >= KEEP_RATIO * best]
    return tuple(z for z, _ in kept), tuple(round(share, 3) for _, share in kept)
