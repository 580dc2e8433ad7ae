#!/usr/bin/env python3
"""HF transformers + peft twin of benchmarks/bench_step.cpp: one process, one measurement.

The same model (the HF-layout DIR, or a random-init model of all-MiniLM-L6-v2's shape when DIR is
absent), the same LoRA (r 8, alpha 16, dropout 0.05 on query/key/value/attention.output.dense/
intermediate.dense/output.dense, classifier trainable), the attention implementation asked for
(--attn: eager by default; sdpa is transformers' default), fp32 or bf16 autocast (--dtype bf16: what
HF Trainer's bf16=True does on the CPU), the same step
(forward + backward + clip_grad_norm 1.0 + torch.optim.AdamW with HF Trainer's decay groups) or
inference forward, the same batch, sequence length and thread count. Prints one JSON line.

  hf_step.py --mode train|infer [--model DIR] [--batch 8] [--seq 128] [--threads 2] [--warmup 2] [--steps 10]
             [--attn eager|sdpa] [--dtype fp32|bf16]
"""
import argparse
import json
import os
import resource
import time

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import BertConfig, BertForSequenceClassification


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["train", "infer"], default="train")
    ap.add_argument("--model", default="")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--profile", default="", help="the timed steps under torch.profiler, as a Chrome trace")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)

    random_init = not (a.model and os.path.exists(os.path.join(a.model, "config.json")))
    if random_init:
        model = BertForSequenceClassification(BertConfig(
            vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
            intermediate_size=1536, max_position_embeddings=512, num_labels=2,
            attn_implementation=a.attn))
    else:
        model = BertForSequenceClassification.from_pretrained(a.model, num_labels=2,
                                                              attn_implementation=a.attn)
    model = get_peft_model(model, LoraConfig(
        task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.05,
        target_modules=["query", "key", "value", "attention.output.dense", "intermediate.dense",
                        "output.dense"]))

    ids = torch.randint(1000, 30000, (a.batch, a.seq))
    kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
    labels = torch.randint(0, 2, (a.batch,))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if a.mode == "train":
        model.train()
        no_decay = lambda n: n.endswith(".bias") or "LayerNorm" in n  # noqa: E731
        opt = torch.optim.AdamW([
            {"params": [p for n, p in params if not no_decay(n)], "weight_decay": 0.01},
            {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0}], lr=1e-4)
    else:
        model.eval()
    rss_before = peak_rss_bytes()

    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16")  # noqa: E731
    times, profiler = [], None
    for s in range(a.warmup + a.steps):
        if a.profile and s == a.warmup:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        t0 = time.perf_counter()
        if a.mode == "train":
            with autocast():
                loss = model(**kwargs, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        else:
            with torch.no_grad(), autocast():
                model(**kwargs).logits.sum().item()
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
    if profiler:
        profiler.__exit__(None, None, None)
        profiler.export_chrome_trace(a.profile)
    print(json.dumps({
        "impl": "hf", "mode": a.mode, "attn": a.attn, "dtype": a.dtype, "batch": a.batch, "seq": a.seq, "threads": a.threads,
        "random_init": random_init, "step_seconds": times, "rss_before_steps_bytes": rss_before,
        "peak_rss_bytes": peak_rss_bytes(),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for _, p in params)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
