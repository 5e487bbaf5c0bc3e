"""Usage: PYTHONPATH=src python3 training/finetune_e5_experiment.py THREADS PAIRS  (the first run;
the second added same-article hard negatives and lr 5e-6, see the results file)

Experiment (negative result; figures in e5_finetune_results.json): does fine-tuning
multilingual-e5-small (transformer layers; embeddings frozen) on openly licensed pairs help the dense side? Measures dense-only R@1/R@5 before and after on sets
never trained on: held-out 30% of DRCD+CMRC dev articles (sampled), XQuAD (zh and en questions),
and the in-house reworded seed questions over the shipped corpus."""
import json, random, sys, time
from pathlib import Path
import numpy as np
import torch
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import TRAIN, BENCH, load_squad_all, is_held_out
from docsearch.models import e5 as E5
from docsearch.text.normalize import canonical
from docsearch.text.chunk import chunk

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
random.seed(0)
folder = E5.ensure_model_folder()
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(folder), device="cpu")
model.max_seq_length = 192

# ---- evaluation sets (never trained on)
squad = load_squad_all()
held = [p for p in squad if is_held_out(p["title"])]
random.shuffle(held)
held = held[:150]
ev_dev_pass = [canonical(p["context"]) for p in held]
ev_dev_q = [(canonical(q), i) for i, p in enumerate(held) for q in p["questions"][:2]]
xq = [json.loads(l) for l in open(BENCH / "xquad_zh_en.jsonl", encoding="utf-8")]
ctx = list(dict.fromkeys(r["context_zh"] for r in xq))[:200]
cidx = {c: i for i, c in enumerate(ctx)}
xq = [r for r in xq if r["context_zh"] in cidx]
ev_xq_pass = [canonical(c) for c in ctx]
ev_xq_zh = [(canonical(r["question_zh"]), cidx[r["context_zh"]]) for r in xq[::2]]
ev_xq_en = [(r["question_en"], cidx[r["context_zh"]]) for r in xq[::2]]
seed_pass = []
for f in sorted(Path(__file__).resolve().parents[1] / "corpus".glob("0*.md")):
    txt = f.read_text(encoding="utf-8")
    seed_pass += [canonical(c.text) for c in chunk(txt, 800, 50)]
rw = [json.loads(l) for l in open(Path(__file__).resolve().parents[1] / "tests" / "data" / "reworded_seed_qa.jsonl", encoding="utf-8")]
ev_rw = [(canonical(r["q"]), {i for i, p in enumerate(seed_pass) if any(canonical(g) in p for g in r["gold"])}) for r in rw]

def evaluate(tag):
    out = {}
    for name, passages, qs in (("dev_heldout", ev_dev_pass, ev_dev_q), ("xquad_zh", ev_xq_pass, ev_xq_zh),
                               ("xquad_en", ev_xq_pass, ev_xq_en), ("reworded", seed_pass, ev_rw)):
        P = model.encode(passages, prompt="passage: ", normalize_embeddings=True, batch_size=16)
        Q = model.encode([q for q, _ in qs], prompt="query: ", normalize_embeddings=True, batch_size=32)
        top = np.argsort(-(Q @ P.T), axis=1)[:, :5]
        gold = [g if isinstance(g, set) else {g} for _, g in qs]
        r1 = np.mean([t[0] in g for t, g in zip(top, gold)]); r5 = np.mean([bool(set(t) & g) for t, g in zip(top, gold)])
        out[name] = (round(float(r1), 3), round(float(r5), 3), len(qs))
    print(tag, json.dumps(out), flush=True)
    return out

t0 = time.time()
before = evaluate("before")
print("eval s", round(time.time() - t0), flush=True)

# ---- training pairs (query, passage): CMRC test, dev train split (70%), en->zh sentence pairs
pairs = []
cm = json.load(open(TRAIN / "cmrc2018_test.json", encoding="utf-8"))["data"]
for art in cm:
    for p in art["paragraphs"]:
        for qa in p["qas"]:
            pairs.append((canonical(qa["question"]), canonical(p["context"])))
train_dev = [p for p in squad if not is_held_out(p["title"])]
for p in train_dev:
    for q in p["questions"][:2]:
        pairs.append((canonical(q), canonical(p["context"])))
un = [json.loads(l) for l in open(TRAIN / "un_parallel_dev_test_en_zh.jsonl", encoding="utf-8")]
random.shuffle(un)
pairs += [(r["en"], canonical(r["zh"])) for r in un[:1500]]
tat = [l.split("\t") for l in open(TRAIN / "tatoeba_en_zh.tsv", encoding="utf-8").read().splitlines()]
random.shuffle(tat)
pairs += [(t[0], canonical(t[1])) for t in tat[:1000] if len(t) >= 2]
random.shuffle(pairs)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
pairs = pairs[:N]
print("pairs", len(pairs), flush=True)
for name, p in model[0].auto_model.named_parameters():
    if "word_embeddings" in name:
        p.requires_grad = False
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
model.train()
B = 16
steps = len(pairs) // B
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.0, 1 - s / steps))
t0 = time.time()
def embed(texts):
    feats = model.tokenize(texts)
    return torch.nn.functional.normalize(model(feats)["sentence_embedding"], dim=-1)
for step in range(steps):
    batch = pairs[step * B:(step + 1) * B]
    q = embed(["query: " + a for a, _ in batch]); d = embed(["passage: " + b for _, b in batch])
    loss = torch.nn.functional.cross_entropy(20.0 * q @ d.T, torch.arange(len(batch)))
    loss.backward(); opt.step(); sched.step(); opt.zero_grad()
    if step % 20 == 0:
        print("step", step, "/", steps, "loss %.3f" % loss.item(), "s", round(time.time() - t0), flush=True)
model.eval()
print("train s", round(time.time() - t0), flush=True)
after = evaluate("after")
