"""Measure the encoder's question-sentence similarity as evidence for the answer sentence
(retrieval.sentence_meaning, retrieval.answer.chosen_sentence), and choose its weight.

Two parts:
- `paragraphs`: every DRCD / CMRC 2018 dev question with its gold paragraph: each sentence's
  lexical score, its e5 cosine to the question, and whether the sentence `ask` would show for it
  holds a gold answer. The weight is chosen on a sample of the 70% of articles the held-out
  figures never use (the best accuracy; the smaller weight on ties) and reported on the held-out 30%.
- `product`: the held-out questions through the product's own path (`ask`'s passages, re-read,
  and its sentence choice), the top passage's sentence with the weight 0 and with the chosen one.

    PYTHONPATH=src python3 training/measure_answer_sentences.py paragraphs /tmp/as.pkl [TRAIN_N]
    PYTHONPATH=src python3 training/measure_answer_sentences.py report /tmp/as.pkl
    PYTHONPATH=src python3 training/measure_answer_sentences.py product WEIGHT [EVERY] [xquad]
"""
from __future__ import annotations

import pickle
import random
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from docsearch.config import ENCODER_MODEL, load_settings  # noqa: E402
from docsearch.models.embedding import embedder_for  # noqa: E402
from docsearch.retrieval.answer import chosen_sentence, question_grams, sentence_scores, widened  # noqa: E402
from docsearch.retrieval.compose import asked_text, passage_sentences  # noqa: E402
from docsearch.retrieval.query import analyze  # noqa: E402
from docsearch.retrieval.sentence_meaning import SentenceMeaning  # noqa: E402
from docsearch.text.normalize import converter  # noqa: E402
from docsearch.tools.benchdata import default_bench_dir, load_mixed_dev, load_xquad  # noqa: E402
from docsearch.tools.evaluate import build_index  # noqa: E402

WEIGHTS = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0)
t2s = converter("t2s")


def holds(text: str, answers: list[str]) -> bool:
    view = t2s.convert(text)
    return any(a and t2s.convert(a) in view for a in answers)


def paragraphs(out: str, train_n: str = "1500") -> None:
    """Per dev question, on its gold paragraph: lexical scores, cosines, and each sentence's label."""
    settings = load_settings(model=ENCODER_MODEL)
    meaning = SentenceMeaning(SimpleNamespace(settings=settings, embedder=embedder_for(settings.model)))
    dev = load_mixed_dev(default_bench_dir())
    arts = {a["id"]: a for a in dev.articles}
    qs = [q for q in dev.questions if q.group in ("drcd", "cmrc")]
    random.seed(0)
    train = random.sample([q for q in qs if not q.heldout], int(train_n))
    rows = []
    for split, items in (("train", train), ("held-out", [q for q in qs if q.heldout])):
        for n, q in enumerate(items):
            art = arts[next(iter(q.gold))]
            asked = asked_text(analyze(q.text, settings.max_query_chars))
            scored = sentence_scores(asked, art["text"], question_grams(asked), art["title"])
            shown = [widened(art["text"], scored, i) for i in range(len(scored.spans))]
            rows.append({"split": split, "scored": scored, "text": art["text"],
                         "cosines": meaning.cosines(q.text, [art["text"][a:b] for a, b in scored.spans]).tolist(),
                         "right": [holds(art["text"][c.start:c.end], q.answers) for c in shown]})
            if n % 500 == 0:
                print(split, n, flush=True)
    pickle.dump(rows, open(out, "wb"))
    report(out)


def accuracy(rows: list[dict], weight: float) -> float:
    return sum(r["right"][chosen_sentence(r["scored"], r["cosines"], weight)] for r in rows) / max(len(rows), 1)


def report(path: str) -> None:
    rows = pickle.load(open(path, "rb"))
    splits = {s: [r for r in rows if r["split"] == s] for s in ("train", "held-out")}
    print(f"{'weight':>8}" + "".join(f"{f'{s} ({len(v)})':>18}" for s, v in splits.items()))
    for w in WEIGHTS:
        print(f"{w:>8.1f}" + "".join(f"{accuracy(v, w):>18.4f}" for v in splits.values()))
    best = max(WEIGHTS, key=lambda w: (round(accuracy(splits["train"], w), 6), -w))
    print(f"chosen on train: {best} (held-out {accuracy(splits['held-out'], 0.0):.4f} -> "
          f"{accuracy(splits['held-out'], best):.4f}); cosine alone on held-out "
          f"{sum(r['right'][max(range(len(r['cosines'])), key=r['cosines'].__getitem__)] for r in splits['held-out']) / len(splits['held-out']):.4f}")


def product(weight: str, every: str = "1", sets: str = "dev") -> None:
    """The top passage's answer sentence in `ask` order, without and with the weight."""
    settings = load_settings(model=ENCODER_MODEL)
    bench = default_bench_dir()
    named = []
    if "dev" in sets:
        dev = load_mixed_dev(bench)
        named.append(("dev held-out", dev, [q for q in dev.questions if q.group in ("drcd", "cmrc") and q.heldout]))
    if "xquad" in sets:
        xq = load_xquad(bench)
        for lang in ("zh", "en"):
            named.append((f"XQuAD {lang}", xq, [q for q in xq.questions if q.group == f"xquad:{lang}"]))
    for name, corpus, qs in named:
        ds = build_index(corpus, settings)
        qs = qs[::int(every)]
        hits = {0.0: 0, float(weight): 0}
        for q in qs:
            aq = analyze(q.text, settings.max_query_chars)
            top = ds.answer_passages(aq, 1)
            for w in hits:
                ds.library.settings = replace(ds.library.settings, answer_dense_weight=w)
                r, c = passage_sentences(aq, top, ds.sentence_meaning)[0] if top else (None, None)
                hits[w] += bool(r is not None and holds(r.text[c.start:c.end], q.answers))
        print(f"{name} ({len(qs)}): answer sentence of the top passage " +
              ", ".join(f"weight {w}: {h / len(qs):.4f}" for w, h in hits.items()), flush=True)


if __name__ == "__main__":
    {"paragraphs": paragraphs, "report": report, "product": product}[sys.argv[1]](*sys.argv[2:])
