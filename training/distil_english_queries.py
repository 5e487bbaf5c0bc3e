"""Train an English query tower for multilingual-e5-small: English text in, the vector e5 gives its
Chinese translation out (multilingual knowledge distillation, Reimers & Gurevych 2020).

    PYTHONPATH=src python3 training/distil_english_queries.py train OUT.npz [PAIRS] [LAYERS] [THREADS]
    PYTHONPATH=src python3 training/distil_english_queries.py measure OUT.npz

Why: English questions reach the dense side as typed, and e5 places them less well than the same
question in Chinese (XQuAD dense R@1: English 0.703, Chinese 0.895 over the same paragraphs). The
library's passage vectors stay e5's own: only the query side learns, so nothing is re-indexed and
Chinese questions are untouched. The student is a copy of e5 whose top LAYERS transformer layers
are trained so that student("query: " + English) lands on teacher("query: " + Chinese), with an
in-batch contrastive term against the other pairs' teacher vectors.

Data (../shared/train, openly licensed): UN Parallel Corpus dev+test pairs (policy and trade
prose) and Tatoeba English-Mandarin pairs; every pair of the en->zh-Hant sentence benchmark
(tools.sentence_retrieval.build_set) is left out, by its English and its Chinese side. Nothing
from ../shared/bench is trained on. `measure` reports XQuAD English questions over the Chinese
paragraphs, dense only, before and after (every 2nd question: the half the eval's tuning does not
otherwise see more of than the rest).

Writes OUT.npz: the trained layers in fp16, named as in e5's state dict, with the recipe as
metadata (``__meta__``).
"""
from __future__ import annotations

import copy
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "training"))

from common import BENCH, TRAIN  # noqa: E402

MAX_TOKENS = 64
BATCH = 32
SCALE = 20.0
CONTRAST = 0.1


def load(threads: int):
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from docsearch.models import e5 as E5

    torch.set_num_threads(threads)
    folder = E5.ensure_model_folder()
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.enable_padding(pad_id=tok.token_to_id("<pad>") or 1, pad_token="<pad>")
    model = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    return tok, model


def embed(tok, model, texts: list[str], grad: bool = False):
    import torch

    enc = tok.encode_batch(texts)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    ctx = torch.enable_grad() if grad else torch.no_grad()
    with ctx:
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(mean, dim=-1)


def embed_all(tok, model, texts: list[str], batch: int = 64) -> np.ndarray:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    for s in range(0, len(order), batch):
        part = order[s:s + batch]
        out[part] = embed(tok, model, [texts[i] for i in part]).numpy()
    return out


def training_pairs(n: int) -> list[tuple[str, str]]:
    from docsearch.text.normalize import canonical
    from docsearch.tools.sentence_retrieval import build_set, read_tatoeba, read_un

    held = build_set(TRAIN)
    held_en = {" ".join(p.en.lower().split()) for p in held}
    held_zh = {canonical(p.zh) for p in held}
    rng = random.Random(0)
    un, tat = read_un(TRAIN), read_tatoeba(TRAIN)
    rng.shuffle(un)
    rng.shuffle(tat)
    out, seen = [], set()
    # UN prose is the library's register; Tatoeba's everyday questions are the users' form.
    for en, zh in un[: n // 2] + tat[: n]:
        key = " ".join(en.lower().split())
        zc = canonical(zh)
        if key in held_en or zc in held_zh or key in seen or len(key.split()) < 3:
            continue
        seen.add(key)
        out.append((canonical(en), zc))   # as the product reads a query: canonical (lower-cased)
        if len(out) >= n:
            break
    return out


def xquad_sets():
    from docsearch.text.normalize import canonical

    rows = [json.loads(line) for line in (BENCH / "xquad_zh_en.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    contexts = list(dict.fromkeys(r["context_zh"] for r in rows))
    index = {c: i for i, c in enumerate(contexts)}
    qs = [(canonical(r["question_en"]), index[r["context_zh"]]) for r in rows[::2]]
    return [canonical(c) for c in contexts], qs


def recall(q_vecs: np.ndarray, p_vecs: np.ndarray, gold: list[int]) -> tuple[float, float]:
    top = np.argsort(-(q_vecs @ p_vecs.T), axis=1)[:, :5]
    r1 = float(np.mean([t[0] == g for t, g in zip(top, gold)]))
    r5 = float(np.mean([g in t for t, g in zip(top, gold)]))
    return round(r1, 4), round(r5, 4)


def measure_xquad(tok, teacher, student) -> dict:
    passages, qs = xquad_sets()
    p = embed_all(tok, teacher, ["passage: " + c for c in passages])
    gold = [g for _, g in qs]
    out = {"n": len(qs)}
    out["before"] = recall(embed_all(tok, teacher, ["query: " + q for q, _ in qs]), p, gold)
    if student is not None:
        out["after"] = recall(embed_all(tok, student, ["query: " + q for q, _ in qs]), p, gold)
    return out


def train(out_path: Path, n_pairs: int, layers: int, threads: int) -> None:
    import torch

    tok, teacher = load(threads)
    pairs = training_pairs(n_pairs)
    t0 = time.time()
    target = torch.from_numpy(embed_all(tok, teacher, ["query: " + zh for _, zh in pairs]))
    print(f"{len(pairs)} pairs; teacher vectors in {time.time() - t0:.0f} s", flush=True)
    student = copy.deepcopy(teacher)
    n_layers = student.config.num_hidden_layers
    trained = {f"encoder.layer.{i}." for i in range(n_layers - layers, n_layers)}
    for name, param in student.named_parameters():
        param.requires_grad = any(name.startswith(t) for t in trained)
    params = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.01)
    steps = (len(pairs) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps))
    # Batches of similar length (less padding: UN sentences run to 64 tokens, Tatoeba's to ~12),
    # in random order.
    by_length = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]))
    batches = [by_length[s:s + BATCH] for s in range(0, len(by_length), BATCH)]
    random.Random(1).shuffle(batches)
    student.train()
    t0 = time.time()
    for step, idx in enumerate(batches):
        s = embed(tok, student, ["query: " + pairs[i][0] for i in idx], grad=True)
        t = target[idx]
        distil = (1 - (s * t).sum(-1)).mean()
        logits = SCALE * s @ t.T
        contrast = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
        loss = distil + CONTRAST * contrast
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            print(f"step {step}/{steps} loss {loss.item():.4f} (distil {distil.item():.4f}) {time.time() - t0:.0f} s",
                  flush=True)
    student.eval()
    state = {k: v.detach().numpy().astype(np.float16) for k, v in student.state_dict().items()
             if any(k.startswith(t) for t in trained)}
    meta = {"pairs": len(pairs), "layers": layers, "max_tokens": MAX_TOKENS, "batch": BATCH, "lr": 2e-5,
            "contrast": CONTRAST, "scale": SCALE, "seconds": round(time.time() - t0)}
    np.savez(out_path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **state)
    print("wrote", out_path, json.dumps(meta), flush=True)
    print("xquad en dense", json.dumps(measure_xquad(tok, teacher, student)), flush=True)


def student_from(weights: Path, threads: int = 2):
    import torch

    tok, teacher = load(threads)
    student = copy.deepcopy(teacher)
    with np.load(weights) as arrays:
        state = {k: torch.from_numpy(arrays[k].astype(np.float32)) for k in arrays.files if k != "__meta__"}
    student.load_state_dict(state, strict=False)
    return tok, teacher, student.eval()


if __name__ == "__main__":
    cmd, path = sys.argv[1], Path(sys.argv[2])
    if cmd == "train":
        args = [int(a) for a in sys.argv[3:]]
        n, layers, threads = (args + [16000, 6, 2][len(args):])[:3]
        train(path, n, layers, threads)
    else:
        tok, teacher, student = student_from(path)
        print(json.dumps(measure_xquad(tok, teacher, student)))
