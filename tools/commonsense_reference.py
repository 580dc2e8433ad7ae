#!/usr/bin/env python3
"""HF transformers' side of lightpeft's commonsense evaluation (tasks/commonsense_task.h), for
comparing question by question.

For the first --limit questions of each set's test.json (LLM-Adapters' files) it writes
  - log-likelihood scoring as lm-evaluation-harness does it: per choice a context and a continuation
    ("Question: <question>\\nAnswer:" + " <choice>"; BoolQ's choices " no"/" yes"; WinoGrande's partial
    scoring: the sentence up to the blank with the option, then " " + the rest), tokenized as lm-eval's
    _encode_pair (trailing context spaces move to the continuation, whole = enc(context + continuation),
    continuation = whole[len(enc(context)):]) after the tokenizer's own leading special tokens; the
    model runs each full sequence (context + continuation)[:-1] (no cache, no sharing), float32
    log-softmax, summed; `prediction` = argmax, `prediction_norm` = argmax of the sum divided by the
    continuation's UTF-8 bytes without its leading space;
  - optionally (--generate N) LLM-Adapters' generation for the first N questions of each set: greedy
    decoding of the Alpaca prompt (the instruction, no output) for --max-new-tokens, the response cut
    at "### Response:" and stripped, then the first match of the set's pattern (commonsense_evaluate.py's
    extract_answer).

Usage:
  python tools/commonsense_reference.py --model HF_FOLDER --data ../shared/data/commonsense \\
      --sets arc_easy,boolq,openbookqa --limit 40 --out ref.json [--generate 8]
A .gguf model is read through transformers' GGUF loader (slow); lightpeft's converted folder
(~/.cache/lightpeft/gguf/...) loads in seconds.
"""
import argparse
import json
import pathlib
import re
import sys
import time

# name: (folder, prefix, choice word, separator before choice 1, between choices, before "Answer format: ")
SETS = {
    "boolq": ("boolq", "Please answer the following question with true or false, question: ", None, None, None, "\n\n"),
    "piqa": ("piqa", "Please choose the correct solution to the question: ", "Solution", "\n\n", "\n\n", "\n\n"),
    "social_i_qa": ("social_i_qa", "Please choose the correct answer to the question: ", "Answer", "\n\n", " ", "\n\n"),
    "winogrande": ("winogrande",
                   "Please choose the correct answer to fill in the blank to complete the given sentence: ",
                   "Option", "\n\n", " ", " "),
    "arc_easy": ("ARC-Easy", "Please choose the correct answer to the question: ", "Answer", "\n\n", " ", "\n\n"),
    "arc_challenge": ("ARC-Challenge", "Please choose the correct answer to the question: ", "Answer", "\n\n", " ",
                      "\n\n"),
    "openbookqa": ("openbookqa", "Please choose the correct answer to the question: ", "Answer", "\n\n", " ", "\n\n"),
}
PATTERNS = {"boolq": r"true|false", "piqa": r"solution1|solution2", "winogrande": r"option1|option2"}
ANSWER_PATTERN = r"answer1|answer2|answer3|answer4|answer5"
ALPACA_WITH_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further "
                     "context. Write a response that appropriately completes the request.\n\n"
                     "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
ALPACA_NO_INPUT = ("Below is an instruction that describes a task. Write a response that appropriately completes "
                   "the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")


def parse(name, instruction):
    """(question, choices) of an LLM-Adapters instruction (data/commonsense.h's rules)."""
    _, prefix, word, first, between, fsep = SETS[name]
    assert instruction.startswith(prefix), (name, instruction[:80])
    marker = fsep + "Answer format: "
    at = instruction.rfind(marker)
    fmt, body = instruction[at + len(marker):], instruction[len(prefix):at]
    if word is None:
        assert fmt == "true/false", fmt
        return body, ["no", "yes"]
    labels = fmt.split("/")
    assert labels == [f"{word.lower()}{k}" for k in range(1, len(labels) + 1)], fmt
    choices, end = [None] * len(labels), len(body)
    for k in range(len(labels), 0, -1):
        m = (first if k == 1 else between) + f"{word}{k}: "
        q = body.rfind(m, 0, end)
        assert q >= 0, (name, k, instruction)
        choices[k - 1], end = body[q + len(m):end], q
    return body[:end], choices


def answer_labels(name, n):
    return ["false", "true"] if name == "boolq" else [f"{SETS[name][2].lower()}{k}" for k in range(1, n + 1)]


def continuations(name, question, choices):
    if name == "winogrande":
        blank = question.index("_")
        rest = " " + question[blank + 1:].strip()
        return [(question[:blank] + option, rest) for option in choices]
    context = "Question: " + question + "\nAnswer:"
    return [(context, " " + c) for c in choices]


def leading_specials(tok):
    with_ = tok("a")["input_ids"]
    plain = tok("a", add_special_tokens=False)["input_ids"]
    for i in range(len(with_) - len(plain) + 1):
        if with_[i:i + len(plain)] == plain:
            return with_[:i]
    raise AssertionError("tokenizer: encode('a') does not hold its plain ids")


def encode_pair(tok, lead, context, continuation):
    n = len(context) - len(context.rstrip())
    if n > 0:
        continuation, context = context[-n:] + continuation, context[:-n]
    whole = lead + tok(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = lead + tok(context, add_special_tokens=False)["input_ids"]
    return ctx, whole[len(ctx):]


def score(model, torch, requests):
    """Summed float32 log-probabilities of each (context, continuation): all of a question's
    requests in one right-padded batch, each scored on its full sequence."""
    seqs = [(c + k)[:-1] for c, k in requests]
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
    out = []
    for i, (c, k) in enumerate(requests):
        positions = torch.arange(len(c) - 1, len(c) - 1 + len(k))
        out.append(float(logp[i, positions, torch.tensor(k)].sum()))
    return out


def extract(name, text):
    text = text.split("### Response:")[0].strip()
    found = re.findall(PATTERNS.get(name, ANSWER_PATTERN), text)
    return (found[0] if found else ""), text


def evaluate_sets(model, tok, torch, data, sets, limit, generate=0, max_new_tokens=32,
                  log=lambda m: print(m, flush=True)):
    """{set: {"questions", "accuracy", "accuracy_norm"[, "generation_accuracy"]}} of MODEL on the first
    LIMIT questions of each set's test.json (log-likelihood scoring; generation for the first GENERATE)."""
    model.eval()
    started = time.time()
    lead = leading_specials(tok)
    out = {}
    for name in sets:
        rows = json.loads((data / SETS[name][0] / "test.json").read_text())[:limit]
        questions, correct, correct_norm = [], 0, 0
        for index, row in enumerate(rows):
            question, choices = parse(name, row["instruction"])
            pairs = continuations(name, question, choices)
            requests = [encode_pair(tok, lead, c, k) for c, k in pairs]
            ll = score(model, torch, requests)
            norm = [x / max(1, len(k.encode("utf-8")) - 1) for x, (_, k) in zip(ll, pairs)]
            labels = answer_labels(name, len(choices))
            pick, pick_norm = max(range(len(ll)), key=lambda i: (ll[i], -i)), max(range(len(norm)), key=lambda i: (norm[i], -i))
            q = {"index": index, "answer": row["answer"], "label": labels.index(row["answer"]),
                 "loglikelihoods": ll, "prediction": labels[pick], "prediction_norm": labels[pick_norm],
                 "context_ids": [c for c, _ in requests], "continuation_ids": [k for _, k in requests]}
            if (index + 1) % 100 == 0:
                log(f"{name}: {index + 1} of {len(rows)} questions, {time.time() - started:.0f} s")
            correct += q["prediction"] == row["answer"]
            correct_norm += q["prediction_norm"] == row["answer"]
            questions.append(q)
        entry = {"questions": questions, "accuracy": correct / len(rows), "accuracy_norm": correct_norm / len(rows)}
        if generate > 0:
            n = min(generate, len(rows))
            prompts = [(ALPACA_WITH_INPUT if r["input"] else ALPACA_NO_INPUT).format(**r) for r in rows[:n]]
            right = 0
            for i, p in enumerate(prompts):  # one at a time: no padding in the reference
                ids = lead + tok(p, add_special_tokens=False)["input_ids"]
                with torch.no_grad():
                    gen = model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                                         pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
                text = tok.decode(gen[0, len(ids):], skip_special_tokens=True)
                answer, kept = extract(name, text)
                questions[i]["generated"] = kept
                questions[i]["generated_answer"] = answer
                right += answer == rows[i]["answer"]
            entry["generation_accuracy"] = right / n
        out[name] = entry
        log(f"{name}: {len(rows)} questions, accuracy {entry['accuracy']:.4f}, accuracy_norm "
            f"{entry['accuracy_norm']:.4f}" + (f", generation_accuracy {entry['generation_accuracy']:.4f}"
                                                if "generation_accuracy" in entry else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=pathlib.Path)
    ap.add_argument("--data", required=True, type=pathlib.Path)
    ap.add_argument("--sets", default="arc_easy,boolq,openbookqa")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--generate", type=int, default=0, help="generation for the first N questions of each set")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    started = time.time()
    if args.model.suffix == ".gguf":
        tok = AutoTokenizer.from_pretrained(args.model.parent, gguf_file=args.model.name)
        model = AutoModelForCausalLM.from_pretrained(args.model.parent, gguf_file=args.model.name, dtype=torch.float32)
    else:
        tok = AutoTokenizer.from_pretrained(args.model)
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    loaded = time.time()
    result = {"model": str(args.model),
              "sets": evaluate_sets(model, tok, torch, args.data, args.sets.split(","), args.limit, args.generate,
                                    args.max_new_tokens)}
    result["seconds"] = {"load": loaded - started, "evaluate": time.time() - loaded}
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
