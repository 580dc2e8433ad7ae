#!/usr/bin/env python3
"""The reference row of the accuracy study: the same recipe as a `lightpeft train` run, through HF
transformers (+ peft for LoRA) in eager PyTorch, on the same model, data rows, batch size, sequence
length, optimiser, schedule, epochs, dtype and thread count.

    python tools/hf_reference.py --task rte --data-dir ../shared/data/glue/RTE \
        --model ~/.cache/lightpeft/models/all-MiniLM-L6-v2 --method lora --target-modules query,value \
        --lr 1e-3 --epochs 3 --max-train 1000 --seed 42 --dtype bf16 --out runs/hf/rte

Writes OUT/results.json with the fields lightpeft's results.json has (headline_metric,
headline_value, dev, trainable/total parameters, finetune_seconds, eval_samples_per_second,
peak_cpu_rss_bytes), so tools/accuracy_study.py tabulates both alike. The data is read the way
lightpeft reads it (GLUE TSV split on tabs without quoting, columns by header name, the first N rows;
SuperGLUE JSONL), labels in the same order (HF datasets' ClassLabel order), metrics with the same
definitions (MRPC and CB: mean of accuracy and F1 / macro-F1; STS-B: mean of Pearson and Spearman).
"""
import argparse
import json
import math
import os
import pathlib
import random
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

# task -> (file format, text, pair, label column or CoLA position, label names; None = regression)
TASKS = {
    "cola": ("cola", None, None, None, ["0", "1"], "matthews"),
    "sst2": ("tsv", "sentence", None, "label", ["0", "1"], "accuracy"),
    "mrpc": ("tsv", "#1 String", "#2 String", "Quality", ["0", "1"], "accuracy_f1"),
    "stsb": ("tsv", "sentence1", "sentence2", "score", None, "pearson_spearman"),
    "rte": ("tsv", "sentence1", "sentence2", "label", ["entailment", "not_entailment"], "accuracy"),
    "wnli": ("tsv", "sentence1", "sentence2", "label", ["0", "1"], "accuracy"),
    "cb": ("jsonl", "premise", "hypothesis", "label", ["entailment", "contradiction", "neutral"],
           "accuracy_macro_f1"),
}


def read_split(task, data_dir, split, limit):
    fmt, text, pair, label, names, _ = TASKS[task]
    d = pathlib.Path(data_dir)
    rows = []
    if fmt == "jsonl":
        path = d / ("train.jsonl" if split == "train" else "val.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                j = json.loads(line)
                rows.append((j[text], j[pair], str(j[label])))
    else:
        # utf-8-sig: the GLUE MRPC files start with a byte-order mark, as lightpeft's TSV reader allows
        lines = (d / f"{split}.tsv").read_text(encoding="utf-8-sig").split("\n")
        lines = [l[:-1] if l.endswith("\r") else l for l in lines if l.strip()]
        if fmt == "cola":  # headerless: source, label, original judgement, sentence
            rows = [(f[3], None, f[1]) for f in (l.split("\t") for l in lines)]
        else:
            header = lines[0].split("\t")
            ti, li = header.index(text), header.index(label)
            pi = header.index(pair) if pair else None
            for l in lines[1:]:
                f = l.split("\t")
                if len(f) != len(header):
                    raise SystemExit(f"{d / (split + '.tsv')}: a row has {len(f)} columns, header {len(header)}")
                rows.append((f[ti], f[pi] if pi is not None else None, f[li]))
    if limit > 0:
        rows = rows[:limit]
    labels = [float(r[2]) if names is None else names.index(r[2]) for r in rows]
    return [(r[0], r[1]) for r in rows], labels


def rankdata(x):
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = np.asarray(x)[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def f1_binary(pred, gold, positive=1):
    tp = sum(p == positive and g == positive for p, g in zip(pred, gold))
    fp = sum(p == positive and g != positive for p, g in zip(pred, gold))
    fn = sum(p != positive and g == positive for p, g in zip(pred, gold))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def metrics(kind, pred, gold):
    if kind == "pearson_spearman":
        p, g = np.asarray(pred), np.asarray(gold)
        pearson = float(np.corrcoef(p, g)[0, 1])
        spearman = float(np.corrcoef(rankdata(p), rankdata(g))[0, 1])
        return {"pearson": pearson, "spearman": spearman, "combined_score": (pearson + spearman) / 2}, "combined_score"
    acc = float(np.mean([p == g for p, g in zip(pred, gold)]))
    if kind == "accuracy":
        return {"accuracy": acc}, "accuracy"
    if kind == "accuracy_f1":
        f1 = f1_binary(pred, gold)
        return {"accuracy": acc, "f1": f1, "combined_score": (acc + f1) / 2}, "combined_score"
    if kind == "accuracy_macro_f1":
        macro = float(np.mean([f1_binary(pred, gold, c) for c in sorted(set(gold) | set(pred))]))
        return {"accuracy": acc, "macro_f1": macro, "combined_score": (acc + macro) / 2}, "combined_score"
    if kind == "matthews":
        tp = sum(p == 1 and g == 1 for p, g in zip(pred, gold)); tn = sum(p == 0 and g == 0 for p, g in zip(pred, gold))
        fp = sum(p == 1 and g == 0 for p, g in zip(pred, gold)); fn = sum(p == 0 and g == 1 for p, g in zip(pred, gold))
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return {"matthews": 0.0 if den == 0 else (tp * tn - fp * fn) / den}, "matthews"
    raise ValueError(kind)


# lightpeft's shuffle (src/data/batcher.cpp, Batcher::permutation), replayed here so a parity check
# (tools/parity_check.py) can feed both programs the same batches: std::mt19937_64 seeded with
# splitmix64(seed ^ splitmix64(epoch)), Fisher-Yates drawing j uniform in [0, i] by rejection.
M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


class MT19937_64:
    """std::mt19937_64, as the C++ standard specifies it (its 10000th output is 9981545732273789042)."""
    N, M_, UPPER, LOWER, MATRIX = 312, 156, 0xFFFFFFFF80000000, 0x7FFFFFFF, 0xB5026F5AA96619E9

    def __init__(self, seed):
        self.mt = [seed & M64]
        for i in range(1, self.N):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & M64)
        self.index = self.N

    def __call__(self):
        if self.index >= self.N:
            mt = self.mt
            for i in range(self.N):
                x = (mt[i] & self.UPPER) | (mt[(i + 1) % self.N] & self.LOWER)
                mt[i] = mt[(i + self.M_) % self.N] ^ (x >> 1) ^ (self.MATRIX if x & 1 else 0)
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        return (y ^ (y >> 43)) & M64


def lightpeft_permutation(n, seed, epoch):
    rng = MT19937_64(splitmix64((seed ^ splitmix64(epoch)) & M64))
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        bound = i + 1
        limit = M64 - (M64 % bound)
        x = rng()
        while x >= limit:
            x = rng()
        j = x % bound
        order[i], order[j] = order[j], order[i]
    return order


def batches(tok, texts, labels, idx, batch_size, max_len, regression):
    for s in range(0, len(idx), batch_size):
        b = idx[s:s + batch_size]
        first = [texts[i][0] for i in b]
        second = [texts[i][1] for i in b] if texts[b[0]][1] is not None else None
        enc = tok(first, second, truncation="longest_first", max_length=max_len, padding="longest",
                  return_tensors="pt")
        y = torch.tensor([labels[i] for i in b], dtype=torch.float32 if regression else torch.long)
        yield enc, y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=sorted(TASKS))
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--method", required=True, choices=["full", "lora"])
    ap.add_argument("--target-modules", default="query,value")
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--alpha", type=int, default=16)
    ap.add_argument("--lora-dropout", type=float, default=0.05)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--eval-batch-size", type=int, default=64)
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--max-train", type=int, default=0)
    ap.add_argument("--max-eval", type=int, default=0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--order", choices=["randperm", "lightpeft"], default="randperm",
                    help="how to shuffle each epoch: torch.randperm, or replay lightpeft's permutation")
    ap.add_argument("--loss-log", help="write each step's loss and learning rate here (JSONL)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    random.seed(a.seed); np.random.seed(a.seed); torch.manual_seed(a.seed)
    names, kind = TASKS[a.task][4], TASKS[a.task][5]
    regression = names is None
    tr_x, tr_y = read_split(a.task, a.data_dir, "train", a.max_train)
    dev_x, dev_y = read_split(a.task, a.data_dir, "dev", a.max_eval)
    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForSequenceClassification.from_pretrained(
        a.model, num_labels=1 if regression else len(names),
        problem_type="regression" if regression else "single_label_classification")
    if a.method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=a.r, lora_alpha=a.alpha,
                                                 lora_dropout=a.lora_dropout,
                                                 target_modules=a.target_modules.split(",")))
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    total = sum(p.numel() for p in model.parameters())
    # As lightpeft (and HF Trainer): AdamW, no decay on biases and LayerNorm weights (decay is 0 here
    # anyway), linear schedule without warmup, clipping at 1.0.
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=0.0)
    steps_per_epoch = math.ceil(len(tr_x) / a.batch_size)
    total_steps = math.ceil(a.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, (total_steps - s) / max(1, total_steps)))
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16")

    start = time.time()
    step = 0
    model.train()
    g = torch.Generator().manual_seed(a.seed)
    loss_log = open(a.loss_log, "w") if a.loss_log else None
    epoch = 0
    while step < total_steps:
        order = (lightpeft_permutation(len(tr_x), a.seed, epoch) if a.order == "lightpeft"
                 else torch.randperm(len(tr_x), generator=g).tolist())
        epoch += 1
        for enc, y in batches(tok, tr_x, tr_y, order, a.batch_size, a.max_seq_length, regression):
            with autocast():
                out = model(**enc)
            logits = out.logits.float()
            loss = (torch.nn.functional.mse_loss(logits.squeeze(-1), y) if regression
                    else torch.nn.functional.cross_entropy(logits, y))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            if loss_log:
                loss_log.write(json.dumps({"step": step + 1, "loss": loss.item(),
                                           "learning_rate": opt.param_groups[0]["lr"]}) + "\n")
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
            step += 1
            if step >= total_steps:
                break
    train_seconds = time.time() - start
    if loss_log:
        loss_log.close()

    model.eval()
    preds = []
    t0 = time.time()
    with torch.no_grad():
        for enc, _ in batches(tok, dev_x, dev_y, list(range(len(dev_x))), a.eval_batch_size, a.max_seq_length, regression):
            with autocast():
                logits = model(**enc).logits.float()
            preds += logits.squeeze(-1).tolist() if regression else logits.argmax(-1).tolist()
    eval_seconds = time.time() - t0
    dev, headline = metrics(kind, preds, dev_y)
    res = {
        "task": a.task, "method": a.method, "implementation": "hf-transformers+peft", "model": a.model,
        "seed": a.seed, "headline_metric": headline, "headline_value": dev[headline], "dev": dev,
        "total_parameters": total, "trainable_parameters": trainable, "finetune_steps": total_steps,
        "finetune_seconds": train_seconds, "finetune_samples_per_second": total_steps * a.batch_size / train_seconds,
        "eval_seconds": eval_seconds, "eval_samples_per_second": len(dev_x) / eval_seconds,
        "peak_cpu_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "dtype": a.dtype,
    }
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("task", "method", "headline_metric", "headline_value", "finetune_seconds")}))


if __name__ == "__main__":
    main()
