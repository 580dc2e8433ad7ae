#!/usr/bin/env python3
"""Seed corpora for the fuzz targets in tests/fuzz: tiny valid files of every format a target reads
(written at test time, so nothing binary is committed). Run with the project venv's python (torch
and tokenizers make the .bin and tokenizer.json seeds).

    make_seeds.py --out DIR      ->  DIR/<target>/<seed files>
"""
import argparse
import io
import json
import pathlib
import struct
from collections import OrderedDict


def safetensors_bytes(tensors, metadata=None):
    """tensors: name -> (dtype, shape, raw bytes); the format written by hand (8-byte length, JSON, data)."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def seeds_safetensors():
    f32 = struct.pack("<6f", 0.5, -1.0, 2.0, 3.25, 0.0, -0.125)
    yield "two_tensors", safetensors_bytes(
        {"w": ("F32", [2, 3], f32), "ids": ("I64", [2], struct.pack("<2q", 7, -1))}, {"format": "pt"})
    yield "scalar_and_empty", safetensors_bytes(
        {"s": ("F64", [], struct.pack("<d", 1.5)), "e": ("BF16", [0, 4], b""), "b": ("BOOL", [3], b"\x01\x00\x01")})
    yield "f16_u8", safetensors_bytes({"h": ("F16", [2], b"\x00\x3c\x00\xc0"), "u": ("U8", [1, 1], b"\xff")})


def gguf_bytes(kvs, tensors, alignment=32):
    """kvs: [(key, type id, payload bytes)]; tensors: [(name, dims (GGUF order), ggml type, data)].
    The GGUF v3 layout written by hand (header, metadata, tensor infos, aligned data)."""
    def s(text):
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, vtype, payload in kvs:
        out += s(key) + struct.pack("<I", vtype) + payload
    data = b""
    for name, dims, gtype, raw in tensors:
        data += b"\0" * (-len(data) % alignment)
        out += s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", gtype, len(data))
        data += raw
    return out + b"\0" * (-len(out) % alignment) + data


def _gguf_str(text):
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_array(elem_type, payloads):
    return struct.pack("<IQ", elem_type, len(payloads)) + b"".join(payloads)


def seeds_gguf():
    u32 = lambda v: struct.pack("<I", v)  # noqa: E731
    f32 = lambda *v: struct.pack(f"<{len(v)}f", *v)  # noqa: E731
    half = lambda v: struct.pack("<e", v)  # noqa: E731
    every_type = [
        ("general.architecture", 8, _gguf_str("test")), ("t.u8", 0, b"\xfa"), ("t.i8", 1, b"\x9c"),
        ("t.u16", 2, struct.pack("<H", 65535)), ("t.i16", 3, struct.pack("<h", -3)), ("t.u32", 4, u32(7)),
        ("t.i32", 5, struct.pack("<i", -7)), ("t.f32", 6, f32(0.5)), ("t.bool", 7, b"\x01"),
        ("t.u64", 10, struct.pack("<Q", 2**64 - 1)), ("t.i64", 11, struct.pack("<q", -(2**63))),
        ("t.f64", 12, struct.pack("<d", 2.5)), ("t.arr", 9, _gguf_array(5, [struct.pack("<i", i) for i in (1, 2, 3)])),
        ("t.strs", 9, _gguf_array(8, [_gguf_str("a"), _gguf_str("")])),
        ("t.nested", 9, _gguf_array(9, [_gguf_array(0, [b"\x01", b"\x02"])])),
        ("general.alignment", 4, u32(32)),
    ]
    q8_block = half(0.25) + bytes(range(32))
    q4_1_block = half(0.1) + half(-0.5) + bytes(range(16))
    q4_k_block = half(0.01) + half(0.02) + bytes(range(12)) + bytes(range(128))
    q6_k_block = bytes(range(128)) + bytes(range(64)) + bytes(range(16)) + half(0.03)
    yield "every_type", gguf_bytes(every_type, [
        ("f32", [3, 2], 0, f32(1, 2, 3, 4, 5, 6)), ("f16", [2], 1, half(1.5) + half(-2.0)),
        ("bf16", [2], 30, b"\x80\x3f\x00\xc0"), ("q8_0", [32], 8, q8_block), ("q4_1", [32, 2], 3, q4_1_block * 2),
        ("q4_k", [256], 12, q4_k_block), ("q6_k", [256], 14, q6_k_block)])
    yield "v2_align64", b"GGUF" + struct.pack("<I", 2) + gguf_bytes(
        [("general.alignment", 4, u32(64))], [("a", [2], 0, f32(1, 2)), ("b", [1], 0, f32(3))], 64)[8:]
    # A whole llama (hidden 4, 2 heads, 1 KV head, 1 layer) with a byte-level BPE vocabulary.
    llama = [("general.architecture", 8, _gguf_str("llama")), ("llama.embedding_length", 4, u32(4)),
             ("llama.feed_forward_length", 4, u32(4)), ("llama.block_count", 4, u32(1)),
             ("llama.attention.head_count", 4, u32(2)), ("llama.attention.head_count_kv", 4, u32(1)),
             ("llama.rope.freq_base", 6, f32(10000.0)), ("tokenizer.ggml.model", 8, _gguf_str("gpt2")),
             ("tokenizer.ggml.pre", 8, _gguf_str("llama-bpe")),
             ("tokenizer.ggml.tokens", 9, _gguf_array(8, [_gguf_str(t) for t in ("<s>", "a", "b", "ab")])),
             ("tokenizer.ggml.token_type", 9, _gguf_array(5, [struct.pack("<i", t) for t in (3, 1, 1, 1)])),
             ("tokenizer.ggml.merges", 9, _gguf_array(8, [_gguf_str("a b")])),
             ("tokenizer.ggml.bos_token_id", 4, u32(0)), ("tokenizer.ggml.add_bos_token", 7, b"\x01"),
             ("tokenizer.chat_template", 8, _gguf_str("{{ messages }}"))]
    weights = [("token_embd.weight", [4, 4]), ("output_norm.weight", [4]), ("blk.0.attn_norm.weight", [4]),
               ("blk.0.ffn_norm.weight", [4]), ("blk.0.attn_q.weight", [4, 4]), ("blk.0.attn_k.weight", [4, 2]),
               ("blk.0.attn_v.weight", [4, 2]), ("blk.0.attn_output.weight", [4, 4]), ("blk.0.ffn_gate.weight", [4, 4]),
               ("blk.0.ffn_up.weight", [4, 4]), ("blk.0.ffn_down.weight", [4, 4])]
    tensors = []
    for name, dims in weights:
        n = 1
        for d in dims:
            n *= d
        tensors.append((name, dims, 0, f32(*[0.25 * i for i in range(n)])))
    yield "tiny_llama", gguf_bytes(llama, tensors)
    # The same with a SentencePiece vocabulary (scores, no merges).
    spm = [kv for kv in llama if not kv[0].startswith("tokenizer.ggml")] + [
        ("tokenizer.ggml.model", 8, _gguf_str("llama")),
        ("tokenizer.ggml.tokens", 9, _gguf_array(8, [_gguf_str(t) for t in ("<unk>", "\u2581a", "\u2581", "a")])),
        ("tokenizer.ggml.scores", 9, _gguf_array(6, [f32(s) for s in (0.0, -1.0, -2.0, -3.0)])),
        ("tokenizer.ggml.token_type", 9, _gguf_array(5, [struct.pack("<i", t) for t in (2, 1, 1, 1)])),
        ("tokenizer.ggml.unknown_token_id", 4, u32(0))]
    yield "tiny_llama_spm", gguf_bytes(spm, tensors)
    # A pruned llama as `lightpeft export --format gguf --gguf-layers per-layer` writes it: two layers
    # of different widths, head counts and FFN lengths as per-layer INT32 arrays.
    i32s = lambda *v: _gguf_array(5, [struct.pack("<i", x) for x in v])  # noqa: E731
    pruned = [kv for kv in llama if kv[0] not in (
        "llama.feed_forward_length", "llama.block_count", "llama.attention.head_count",
        "llama.attention.head_count_kv")] + [
        ("llama.block_count", 4, u32(2)), ("llama.feed_forward_length", 9, i32s(4, 2)),
        ("llama.attention.head_count", 9, i32s(2, 1)), ("llama.attention.head_count_kv", 9, i32s(2, 1)),
        ("llama.rope.dimension_count", 4, u32(2))]
    layer1 = [("blk.1.attn_norm.weight", [4]), ("blk.1.ffn_norm.weight", [4]), ("blk.1.attn_q.weight", [4, 2]),
              ("blk.1.attn_k.weight", [4, 2]), ("blk.1.attn_v.weight", [4, 2]), ("blk.1.attn_output.weight", [2, 4]),
              ("blk.1.ffn_gate.weight", [4, 2]), ("blk.1.ffn_up.weight", [4, 2]), ("blk.1.ffn_down.weight", [2, 4])]
    pruned_tensors = [t if t[0] != "blk.0.attn_k.weight" and t[0] != "blk.0.attn_v.weight"
                      else (t[0], [4, 4], 0, f32(*[0.5] * 16)) for t in tensors]
    for name, dims in layer1:
        pruned_tensors.append((name, dims, 0, f32(*[0.125 * i for i in range(dims[0] * (dims[1] if len(dims) > 1 else 1))])))
    yield "pruned_llama_per_layer", gguf_bytes(pruned, pruned_tensors)


def seeds_torch_bin():
    import torch
    sd = OrderedDict()
    sd["encoder.weight"] = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    sd["encoder.bias"] = torch.tensor([1.0, -2.0])
    sd["ids"] = torch.tensor([3, 4], dtype=torch.int64)
    sd["half"] = torch.tensor([0.5], dtype=torch.float16)
    base = torch.arange(8, dtype=torch.float32)
    sd["view"] = base[2:6]  # a tensor sharing storage, at an offset
    sd["t"] = torch.arange(4, dtype=torch.float32).reshape(2, 2).t()  # non-contiguous strides
    for name, obj in (("state_dict", sd), ("one_tensor", OrderedDict(x=torch.ones(3)))):
        buf = io.BytesIO()
        torch.save(obj, buf)
        yield name, buf.getvalue()


def seeds_model_config():
    bert = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": 30,
            "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 24,
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 32, "type_vocab_size": 2, "initializer_range": 0.02,
            "layer_norm_eps": 1e-12, "pad_token_id": 0, "id2label": {"0": "neg", "1": "pos"},
            "label2id": {"neg": 0, "pos": 1}}
    yield "bert", json.dumps(bert, indent=1)
    roberta = dict(bert, model_type="roberta", pad_token_id=1, type_vocab_size=1, max_position_embeddings=34,
                   hidden_act="gelu_new", problem_type="regression", num_labels=1)
    del roberta["id2label"], roberta["label2id"]
    yield "roberta", json.dumps(roberta, indent=1)
    pruned = dict(bert, num_attention_heads_per_layer=[4, 2], intermediate_size_per_layer=[24, 10])
    yield "pruned", json.dumps(pruned, indent=1)


def seeds_train_config():
    yield "user_lora", """task: user
model: model
output_dir: out
method: lora
seed: 3
max_seq_length: 16
user_task:
  format: csv
  train_file: train.csv
  dev_file: dev.csv
  labels: [neg, pos]
training:
  per_device_train_batch_size: 8
  num_train_epochs: 2
  learning_rate: 0.01
  logging_steps: 1
  save_steps: 2
lora:
  r: 4
  target_modules: [query, value]
"""
    yield "glue_light_peft", """task: rte
data_dir: ../shared/data
model: ~/.cache/lightpeft/models/all-MiniLM-L6-v2
output_dir: runs/x
method: light-peft
dtype: fp32
training: {learning_rate: 1.0e-3, num_train_epochs: 3, lr_scheduler_type: cosine, warmup_ratio: 0.1}
light_peft:
  estimate_steps: 20
  head_pruning_ratio: 0.25
  head_pruning_scope: global
  importance: taylor
adapter: {bottleneck_size: 8, placement: pfeiffer}
"""


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able", "##a",
         ",", "!", "w", "##ö", "##rld", "東", "京"]


def seeds_vocab_txt():
    yield "bert_vocab", "\n".join(VOCAB) + "\n"
    yield "crlf_vocab", "\r\n".join(VOCAB[:6]) + "\r\n"


BPE_VOCAB = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4, "l": 5, "o": 6, "w": 7, "e": 8,
             "r": 9, "n": 10, "s": 11, "t": 12, "Ġ": 13, "lo": 14, "low": 15, "er": 16, "Ġlow": 17,
             "est": 18, "es": 19, "Ġn": 20, "Ġl": 21}
BPE_MERGES = ["l o", "lo w", "e r", "Ġ l", "Ġ low", "e s", "es t", "Ġ n"]


def seeds_bpe_files():
    merges = "#version: 0.2\n" + "\n".join(BPE_MERGES) + "\n"
    yield "roberta_like", json.dumps(BPE_VOCAB) + "\0" + merges
    yield "no_merges", json.dumps(BPE_VOCAB) + "\0#version: 0.2\n"


def seeds_tokenizer_json():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, decoders
    wp = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    wp.normalizer = normalizers.BertNormalizer(lowercase=True)
    wp.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wp.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    wp.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    wp.enable_padding(pad_id=0, pad_token="[PAD]")
    yield "wordpiece", wp.to_str(pretty=True)

    bpe = Tokenizer(models.BPE(BPE_VOCAB, [tuple(m.split()) for m in BPE_MERGES], unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    bpe.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    yield "byte_bpe", bpe.to_str(pretty=True)

    wp.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    yield "wordpiece_decoder", wp.to_str(pretty=True)
    for name, doc in decoder_llm_tokenizer_docs():
        Tokenizer.from_str(json.dumps(doc))  # a valid HF file, or this fails
        yield name, json.dumps(doc, ensure_ascii=False, indent=1)


# Decoder LLM shapes (tests/golden/tokenizer_builders.py has the full-size ones): byte-level BPE with
# the GPT-2 / LLaMA-3 / Qwen2 split regexes and Digits, SentencePiece BPE with byte_fallback and the
# Prepend + Replace normalizer or Metaspace, their post-processors and decoders.
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")


def _added(id_, content, special=True, **flags):
    token = {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": not special, "special": special}
    token.update(flags)
    return token


def _byte_level(add_prefix_space=False, trim_offsets=True, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def _bos_template(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def _bpe_model(vocab, merges, **options):
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
             "vocab": vocab, "merges": merges}
    model.update(options)
    return model


def decoder_llm_tokenizer_docs():
    # Byte-level: the 256 byte stand-ins, a few merges, chat specials.
    from tokenizers import pre_tokenizers
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    for ch in alphabet:
        vocab[ch] = len(vocab)
    merges = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["i", "n"], ["Ġ", "a"], ["1", "2"], ["Ċ", "Ċ"]]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    specials = [_added(0, "<|endoftext|>"), _added(1, "<|im_start|>"), _added(2, "<|im_end|>")]
    base = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
            "normalizer": None, "pre_tokenizer": _byte_level(), "post_processor": _byte_level(True),
            "decoder": _byte_level(True), "model": _bpe_model(vocab, merges)}
    yield "gpt2_byte_level", base
    yield "smollm_digits", dict(base, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, _byte_level()]})
    bos_id = len(vocab)
    yield "llama3_split", dict(
        base, added_tokens=specials + [_added(bos_id, "<|begin_of_text|>")],
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            _byte_level(use_regex=False)]},
        post_processor={"type": "Sequence", "processors": [_byte_level(True), _bos_template("<|begin_of_text|>", bos_id)]})
    yield "qwen2_nfc_split", dict(
        base, normalizer={"type": "NFC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
            _byte_level(use_regex=False)]}, post_processor=_byte_level(False, False, False))
    yield "gpt2_split_inverted", dict(base, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_REGEX}, "behavior": "Removed", "invert": True},
        _byte_level(use_regex=False)]}, post_processor=None)

    # SentencePiece BPE: <unk> <s> </s>, the byte tokens, a few pieces.
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    merges = [["▁", "t"], ["h", "e"], ["▁t", "he"], ["▁", "a"], ["e", "r"]]
    for piece in ["▁", "t", "h", "e", "a", "r", "l", "o", "w", "H"]:
        vocab[piece] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    specials = [_added(0, "<unk>"), _added(1, "<s>"), _added(2, "</s>")]
    llama_decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    model = _bpe_model(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True)
    sp = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
          "pre_tokenizer": None, "post_processor": _bos_template("<s>", 1), "decoder": llama_decoder,
          "model": model}
    yield "llama2_prepend_replace", sp
    yield "llama_metaspace_first", dict(
        sp, normalizer=None,
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False})
    next_id = len(vocab)
    yield "metaspace_split_added", dict(
        sp, normalizer=None, post_processor=None,
        added_tokens=specials + [_added(next_id, "<tool>", lstrip=True, rstrip=True),
                                 _added(next_id + 1, "bro", special=False, single_word=True)],
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        decoder={"type": "Sequence", "decoders": [{"type": "ByteFallback"},
                                                  {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}]})


GLUE_TSV = {  # task -> (labelled file, test file)
    "cola": ("gj04\t1\t\tOur friends won't buy this analysis.\ngj04\t0\t*\tThey drank the pub.\n",
             "index\tsentence\n0\tBill whistled past the house.\n"),
    "sst2": ("sentence\tlabel\nit 's a charming journey . \t1\nunflinchingly bleak \t0\n",
             "index\tsentence\n0\tuneasy mishmash of styles\n"),
    "mrpc": ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said so .\tHe told so .\n",
             "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t1\t2\tA b .\tC d .\n"),
    "stsb": ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
             "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off.\t5.000\n",
             "index\tsentence1\tsentence2\n0\tA girl sings.\tA girl is singing.\n"),
    "qqp": ("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t2\t3\tHow?\tWhy?\t0\n",
            "id\tquestion1\tquestion2\n0\tWhat?\tWhich?\n"),
    "mnli": ("index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tgold_label\n0\t1\t2\tgov\tA b.\tC d.\tneutral\n",
             "index\tsentence1\tsentence2\n0\tA.\tB.\n"),
    "qnli": ("index\tquestion\tsentence\tlabel\n0\tWhen?\tThen.\tentailment\n1\tWho?\tNo one.\tnot_entailment\n",
             "index\tquestion\tsentence\n0\tWhere?\tHere.\n"),
    "rte": ("index\tsentence1\tsentence2\tlabel\n0\tDana Reeve died.\tChristopher Reeve had an accident.\tnot_entailment\n",
            "index\tsentence1\tsentence2\n0\tA man.\tA person.\n"),
    "wnli": ("index\tsentence1\tsentence2\tlabel\n0\tI stuck a pin.\tI stuck it.\t1\n",
             "index\tsentence1\tsentence2\n0\tX.\tY.\n"),
}
GLUE_TASKS = ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]


def seeds_glue_tsv():
    # The first byte picks the task (low 6 bits mod 9), the test split (0x40), skip_bad_rows (0x80).
    for i, task in enumerate(GLUE_TASKS):
        labelled, test = GLUE_TSV[task]
        yield f"{task}_dev", bytes([i]) + labelled.encode()
        yield f"{task}_test", bytes([i | 0x40]) + test.encode()
        yield f"{task}_skip", bytes([i | 0x80]) + (labelled + "broken row\n").encode()


SUPERGLUE = [  # in the order of fuzz_jsonl.cpp's kTasks
    ("boolq", {"question": "is it?", "passage": "It is.", "idx": 0, "label": True}),
    ("cb", {"premise": "A b.", "hypothesis": "C d.", "label": "neutral", "idx": 0}),
    ("copa", {"premise": "It rained.", "choice1": "Wet.", "choice2": "Dry.", "question": "effect", "idx": 0,
              "label": 0}),
    ("superglue-rte", {"premise": "A.", "hypothesis": "B.", "label": "entailment", "idx": 0}),
    ("wic", {"word": "bank", "sentence1": "A bank.", "sentence2": "The bank.", "idx": 0, "label": False,
             "start1": 2, "start2": 4, "end1": 6, "end2": 8}),
    ("wsc", {"text": "Mark told Pete he was late.", "target": {"span1_text": "Pete", "span2_text": "he",
             "span1_index": 2, "span2_index": 3}, "idx": 0, "label": True}),
    ("multirc", {"idx": 0, "passage": {"text": "Sent 1. Sent 2.", "questions": [
        {"question": "Q?", "idx": 0, "answers": [{"text": "A", "idx": 0, "label": 1},
                                                 {"text": "B", "idx": 1, "label": 0}]}]}}),
]


def seeds_jsonl():
    for i, (task, row) in enumerate(SUPERGLUE):
        text = json.dumps(row) + "\n" + json.dumps(row) + "\n"
        yield f"{task}_dev", bytes([i]) + text.encode()
        yield f"{task}_skip", bytes([i | 0x80]) + (text + "{not json\n").encode()
    user = "\n".join(json.dumps(r) for r in [{"text": "good", "text2": "x", "label": "pos"},
                                             {"text": "bad", "text2": "y", "label": "neg"}]) + "\n"
    yield "user_labels", bytes([7 | 0x40]) + user.encode()
    reg = '{"text": "a", "label": 0.5}\n{"text": "b", "label": 2}\n'
    yield "user_regression", bytes([8]) + reg.encode()


def seeds_user_csv():
    # First byte: 1 tsv, 2 pair column, 4 regression, 8 skip_bad_rows.
    yield "csv", bytes([0]) + b'text,label\n"the film, really good",pos\nbad,neg\n'
    yield "csv_pair", bytes([2]) + b'text,text2,label\na,"b ""quoted""",pos\nc,d,neg\n'
    yield "tsv_regression", bytes([1 | 4]) + b"text\tlabel\nfine\t0.5\nawful\t-1e3\n"
    yield "csv_skip", bytes([8]) + b'text,label\ngood,pos\n"unterminated,neg\n'


def seeds_adapter_config():
    lora = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "bias": "none",
            "target_modules": ["query", "value"], "task_type": "SEQ_CLS", "use_rslora": False,
            "rank_pattern": {"layer.0.attention.self.query": 4}, "alpha_pattern": {},
            "layers_to_transform": None, "modules_to_save": ["classifier"], "fan_in_fan_out": False,
            "base_model_name_or_path": "model", "inference_mode": True}
    yield "lora", json.dumps(lora, indent=2)
    yield "lora_regex", json.dumps(dict(lora, target_modules=".*attention.*(query|key)$", rank_pattern={}))
    adapter = {"peft_type": "BOTTLENECK", "bottleneck_size": 8, "non_linearity": "relu", "adapter_dropout": 0.1,
               "scaling": 1.0, "init_weights": "bert", "target_modules": ["attention.output", "output"],
               "use_parallel_adapter": False, "task_type": "SEQ_CLS"}
    yield "bottleneck", json.dumps(adapter, indent=2)


def seeds_pruning_plan():
    plan = {
        "format": "lightpeft-pruning-plan", "version": 1,
        "options": {"head_ratio": 0.25, "head_scope": "layerwise", "neuron_ratio": 0.5, "neuron_scope": "global",
                    "module_ratio": 0.5, "rank_ratio": 0.5, "importance": "mask"},
        "summary": {},
        "layers": [{"heads": {"scores": [0.1, 0.4, 0.3, 0.2], "threshold": 0.15, "kept": [1, 2, 3]},
                    "neurons": {"scores": [0.5, 0.1, 0.9, 0.2], "threshold": 0.3, "kept": [0, 2]}},
                   {"heads": {"scores": [0.3, 0.2, 0.1, 0.4], "threshold": 0.15, "kept": [0, 1, 3]},
                    "neurons": {"scores": [0.05, 0.6, 0.7, 0.8], "threshold": 0.3, "kept": [1, 2, 3]}}],
        "module_threshold": 0.5, "rank_threshold": 0.2,
        "modules": [{"path": "bert.encoder.layer.0.attention.self.query", "score": 0.9, "kept": True,
                     "rank_scores": [0.3, 0.1, 0.25, 0.05], "kept_ranks": [0, 2]},
                    {"path": "bert.encoder.layer.1.attention.self.value", "score": 0.2, "kept": False,
                     "rank_scores": [0.4, 0.3], "kept_ranks": []}],
    }
    yield "plan", json.dumps(plan, indent=1)
    yield "no_thresholds", json.dumps(dict(plan, module_threshold=None, rank_threshold=None, modules=[]))


def seeds_chat_template():
    # The real-style templates of the chat-template goldens, and a few constructs they lack.
    import importlib.util
    path = pathlib.Path(__file__).resolve().parent.parent / "golden" / "gen_chat_templates.py"
    spec = importlib.util.spec_from_file_location("gen_chat_templates", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, text in mod.TEMPLATES.items():
        yield name.replace(".", "_"), text
    for name, text, _ in mod.SNIPPETS[:40]:
        yield "snippet_" + name, text
    yield "raw_and_comments", "{# c #}{% raw %}{{ x }}{% endraw %}{%- if true -%} y {%+ endif +%}"


def seeds_instruction_json():
    # First byte: low 2 bits format (auto, json, jsonl), 0x04 skip_bad_rows, 0x08 all_assistant_turns,
    # 0x10 a system prompt for Alpaca rows.
    alpaca = [{"instruction": "Add 2 and 3.", "input": "", "output": "5", "answer": ["5"]},
              {"instruction": "Translate.", "input": "chat", "output": "cat", "answer": [2304.0]}]
    chat = [{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi é"},
                          {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"},
                          {"role": "assistant", "content": "Bye!"}]}]
    yield "alpaca_list", bytes([1]) + json.dumps(alpaca, indent=1).encode()
    yield "chat_jsonl", bytes([2 | 8]) + ("\n".join(json.dumps(r) for r in chat + alpaca) + "\n").encode()
    yield "mixed_auto_skip", bytes([0 | 4 | 16]) + json.dumps(alpaca + chat + [{"instruction": "no output"}, 5]).encode()
    yield "jsonl_bad_lines", bytes([2 | 4]) + b'{"instruction": "a", "output": "b"}\n{broken\n\xff\n{"messages": []}\n'


def seeds_squad():
    # First byte: 0x01 skip_bad_rows, 0x02 a test file (no answers), 0x04 SQuAD v2, bits 4-7 the
    # window size (max_length 8 + 2n, doc_stride n / 2).
    context = "The cat sat on the mat. Who sat? The cat, the cat."
    v1 = {"version": "1.1", "data": [{"title": "Cats", "paragraphs": [
        {"context": context, "qas": [
            {"id": "q1", "question": "Who sat?", "answers": [{"text": "The cat", "answer_start": 0},
                                                             {"text": "cat", "answer_start": 4}]},
            {"id": "q2", "question": "  On what?", "answers": [{"text": "the mat", "answer_start": 15}]}]},
        {"context": "Café Zürich — 東京 😀 cat's mat.", "qas": [
            {"id": "q3", "question": "Where?", "answers": [{"text": "東京", "answer_start": 14}]}]}]}]}
    v2 = {"version": "v2.0", "data": [{"title": "Cats", "paragraphs": [{"context": context, "qas": [
        {"id": "n1", "question": "Who ran?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "The cat", "answer_start": 0}]},
        {"id": "h1", "question": "Who sat?", "answers": [{"text": "The cat", "answer_start": 0}],
         "is_impossible": False}]}]}]}
    bad = {"data": [{"paragraphs": [{"context": context, "qas": [
        {"id": "b1", "question": "?", "answers": [{"text": "mat", "answer_start": 3}]},
        {"id": "b1", "question": "?", "answers": [{"text": "mat", "answer_start": 19}]},
        {"question": "no id", "answers": []}]}, {"context": 5, "qas": []}]}, 7]}
    yield "v1_small_windows", bytes([0x30]) + json.dumps(v1, ensure_ascii=False).encode()
    yield "v1_ascii_escapes", bytes([0x80]) + json.dumps(v1).encode()
    yield "v2", bytes([0x24 | 0x40]) + json.dumps(v2, indent=1).encode()
    yield "test_file", bytes([0x02 | 0x10]) + json.dumps(v1).encode()
    yield "bad_rows_skipped", bytes([0x01 | 0x50]) + json.dumps(bad).encode()
    yield "bad_rows", bytes([0x50]) + json.dumps(bad).encode()


def seeds_commonsense():
    # First byte: the set (boolq, piqa, social_i_qa, winogrande, arc_easy, arc_challenge, openbookqa),
    # then an LLM-Adapters instruction; the target parses it and, as a file, loads it.
    yield "arc", bytes([4]) + (b"Please choose the correct answer to the question: Why?\n\nAnswer1: a Answer2: b "
                               b"Answer3: c\n\nAnswer format: answer1/answer2/answer3")
    yield "boolq", bytes([0]) + b"Please answer the following question with true or false, question: is it?\n\nAnswer format: true/false"
    yield "piqa", bytes([1]) + (b"Please choose the correct solution to the question: g\n\nSolution1: x \n\nSolution2: y"
                                b"\n\nAnswer format: solution1/solution2")
    yield "winogrande", bytes([3]) + (b"Please choose the correct answer to fill in the blank to complete the given sentence: "
                                      b"A _ b.\n\nOption1: x Option2: y Answer format: option1/option2")


TARGETS = {
    "safetensors": seeds_safetensors, "torch_bin": seeds_torch_bin, "model_config": seeds_model_config,
    "train_config": seeds_train_config, "vocab_txt": seeds_vocab_txt, "bpe_files": seeds_bpe_files,
    "tokenizer_json": seeds_tokenizer_json, "glue_tsv": seeds_glue_tsv, "jsonl": seeds_jsonl,
    "user_csv": seeds_user_csv, "adapter_config": seeds_adapter_config, "pruning_plan": seeds_pruning_plan,
    "gguf": seeds_gguf,
    "chat_template": seeds_chat_template, "instruction_json": seeds_instruction_json,
    "squad": seeds_squad,
    "commonsense": seeds_commonsense,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=pathlib.Path)
    args = ap.parse_args()
    total = 0
    for target, make in TARGETS.items():
        d = args.out / target
        d.mkdir(parents=True, exist_ok=True)
        for name, content in make():
            (d / name).write_bytes(content.encode() if isinstance(content, str) else content)
            total += 1
    print(f"make_seeds: {total} seeds for {len(TARGETS)} targets in {args.out}")


if __name__ == "__main__":
    main()
