#!/usr/bin/env python3
"""Reads a `lightpeft export --format gguf` file with the `gguf` package and checks it against the
HF weights and tokenizer it was made from, as llama.cpp's convert_hf_to_gguf.py would write them.

Usage: check_gguf_export.py FILE.gguf HF_WEIGHTS.safetensors TOKENIZER_DIR TYPE PRE [--ours OURS.safetensors]
HF_WEIGHTS: the merged model's weights under HF names (float32), with the shapes of the GGUF's
layers. TYPE: F32, F16 or Q8_0 (the 2-D tensors'). PRE: the expected tokenizer.ggml.pre.
Checks: metadata (architecture, sizes, per-layer counts), every tensor equal to the HF weight with
llama.cpp's Q/K permutation in the expected type (F32/F16: the same values; Q8_0:
gguf.quants.quantize of the same float data, byte for byte; 1-D tensors F32; Q8_0 rows that are not
whole blocks F16; Q8_0 dequantized by the gguf package within half a quantization step of the HF
weight), the tokenizer (tokens, types, merges, special ids, chat template). OURS: every tensor as
lightpeft's GGUF reader dequantizes it (GGUF names), equal to the gguf package's dequantization.
Exit status 0 when everything matches, 1 otherwise (the first mismatch printed).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize, quantize
from safetensors.numpy import load_file


def fail(message: str) -> int:
    print(f"check_gguf_export: {message}")
    return 1


def per_layer(reader: GGUFReader, key: str, layers: int) -> list[int]:
    value = reader.fields[key].contents()
    return [int(v) for v in value] if isinstance(value, list) else [int(value)] * layers


def permute(w: np.ndarray, heads: int) -> np.ndarray:  # convert_hf_to_gguf.py LlamaModel.permute
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("gguf_file", "weights_file", "tokenizer_dir", "wanted", "pre"):
        parser.add_argument(name)
    parser.add_argument("--ours")
    args = parser.parse_args()
    gguf_file, weights_file, tokenizer_dir, wanted, pre = (
        args.gguf_file, args.weights_file, args.tokenizer_dir, args.wanted, args.pre)
    qtype = GGMLQuantizationType[wanted]
    reader = GGUFReader(gguf_file)
    field = lambda key: reader.fields[key].contents()  # noqa: E731
    if field("general.architecture") != "llama":
        return fail(f"general.architecture {field('general.architecture')!r}")
    layers = int(field("llama.block_count"))
    heads = per_layer(reader, "llama.attention.head_count", layers)
    kv_heads = per_layer(reader, "llama.attention.head_count_kv", layers)
    ffn = per_layer(reader, "llama.feed_forward_length", layers)
    head_dim = int(field("llama.rope.dimension_count"))
    if int(field("llama.attention.key_length")) != head_dim:
        return fail("key_length differs from rope.dimension_count")

    hf = load_file(weights_file)
    ours = load_file(args.ours) if args.ours else None
    tied = "lm_head.weight" not in hf
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    parts = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
             "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    tensors = {t.name: t for t in reader.tensors}
    checked = set()
    for key, w in hf.items():
        if key in names:
            name = names[key]
        else:
            _, _, layer, rest = key.split(".", 3)
            module, suffix = rest.rsplit(".", 1)
            layer = int(layer)
            name = f"blk.{layer}.{parts[module]}.{suffix}"
            if module == "self_attn.q_proj":
                w = permute(w, heads[layer])
            elif module == "self_attn.k_proj":
                w = permute(w, kv_heads[layer])
            if module == "mlp.up_proj" and w.shape[0] != ffn[layer]:
                return fail(f"{key}: {w.shape[0]} rows, feed_forward_length says {ffn[layer]}")
            if module == "self_attn.q_proj" and suffix == "weight" and w.shape[0] != heads[layer] * head_dim:
                return fail(f"{key}: {w.shape[0]} rows, head_count says {heads[layer]} heads of {head_dim}")
        if name not in tensors:
            return fail(f"tensor {name} (from {key}) is missing")
        t = tensors[name]
        if tuple(int(d) for d in reversed(t.shape.tolist())) != w.shape:
            return fail(f"{name}: shape {list(reversed(t.shape.tolist()))}, HF {w.shape}")
        want = GGMLQuantizationType.F32 if w.ndim == 1 or name.endswith("_norm.weight") else qtype
        if want == GGMLQuantizationType.Q8_0 and w.shape[-1] % 32 != 0:
            want = GGMLQuantizationType.F16
        if t.tensor_type != want:
            return fail(f"{name}: type {t.tensor_type.name}, expected {want.name}")
        expected = quantize(w.astype(np.float32), want)
        if expected.tobytes() != np.ascontiguousarray(t.data).tobytes():
            return fail(f"{name}: data differs from gguf.quants.quantize(HF {key}, {want.name})")
        values = dequantize(t.data, t.tensor_type).reshape(w.shape)
        if want == GGMLQuantizationType.Q8_0:
            # Within half a step of its block (d = max|x| / 127, stored as float16).
            blocks = w.astype(np.float32).reshape(-1, 32)
            amax = np.abs(blocks).max(axis=1, keepdims=True)
            err = np.abs(values.reshape(-1, 32) - blocks)
            if np.any(err > amax * (0.5 / 127 + 2.0**-10) + 1e-12):
                return fail(f"{name}: Q8_0 dequantized beyond half a step of HF {key}: {err.max():.3g}")
        elif want == GGMLQuantizationType.F16:
            if not np.array_equal(values, w.astype(np.float16).astype(np.float32)):
                return fail(f"{name}: F16 values differ from HF {key} in float16")
        elif not np.array_equal(values, w):
            return fail(f"{name}: F32 values differ from HF {key}")
        if ours is not None:
            if name not in ours:
                return fail(f"{name}: missing from lightpeft's reading")
            if not np.array_equal(ours[name].reshape(-1), values.reshape(-1).astype(np.float32)):
                diff = np.abs(ours[name].reshape(-1) - values.reshape(-1)).max()
                return fail(f"{name}: lightpeft's reader and gguf.quants.dequantize differ by {diff:.3g}")
        checked.add(name)
    extra = set(tensors) - checked
    if extra:
        return fail(f"tensors without an HF weight: {sorted(extra)}")
    if tied != ("output.weight" not in tensors):
        return fail("output.weight present for tied embeddings or absent for an untied head")

    # The tokenizer, as the converter builds it from tokenizer.json and tokenizer_config.json.
    tok = json.loads((Path(tokenizer_dir) / "tokenizer.json").read_text())
    tcfg = json.loads((Path(tokenizer_dir) / "tokenizer_config.json").read_text())
    n_vocab = int(field("llama.vocab_size"))
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok["added_tokens"]}
    by_id.update({i: a["content"] for i, a in added.items()})
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n_vocab)]
    types = [5 if i not in by_id else (3 if i in added and added[i]["special"] else (4 if i in added else 1))
             for i in range(n_vocab)]
    if field("tokenizer.ggml.model") != "gpt2" or field("tokenizer.ggml.pre") != pre:
        return fail(f"tokenizer model/pre {field('tokenizer.ggml.model')}/{field('tokenizer.ggml.pre')}")
    if field("tokenizer.ggml.tokens") != tokens:
        return fail("tokenizer.ggml.tokens differ")
    if [int(x) for x in field("tokenizer.ggml.token_type")] != types:
        return fail("tokenizer.ggml.token_type differs")
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    if field("tokenizer.ggml.merges") != merges:
        return fail("tokenizer.ggml.merges differ")
    ids = {a["content"]: a["id"] for a in tok["added_tokens"]}
    for kind, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("pad", "padding_token_id")):
        content = tcfg.get(f"{kind}_token")
        if content is not None and int(field(f"tokenizer.ggml.{key}")) != ids[content]:
            return fail(f"tokenizer.ggml.{key} is not the id of {content!r}")
    if tcfg.get("chat_template") is not None and field("tokenizer.chat_template") != tcfg["chat_template"]:
        return fail("tokenizer.chat_template differs")
    also = ", lightpeft's reader equal to gguf's dequantization" if ours is not None else ""
    print(f"check_gguf_export: {len(checked)} tensors ({wanted}){also}, {len(tokens)} tokens and the metadata match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
