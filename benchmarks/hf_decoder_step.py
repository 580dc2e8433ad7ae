#!/usr/bin/env python3
"""HF transformers + peft twin of benchmarks/bench_decoder_step.cpp: one process, one measurement.

The same weights (the HF folder lightpeft converts the GGUF into: config.json + model.safetensors in
float32, the dequantized Q4_1 SmolLM2; pass it as --model), LoRA r 8 / alpha 16 / dropout 0.05 on
the same targets, fp32 weights, the attention asked for (--attn: eager by default; sdpa is
transformers' default), fp32 or bf16 autocast (--dtype bf16: HF Trainer's bf16=True on the CPU), the same step (forward + causal LM loss + backward +
clip_grad_norm 1.0 + torch.optim.AdamW with decay groups), inference forward, or greedy generation
of --new-tokens per prompt with a KV cache, the same batch, sequence length and thread count.
Prints one JSON line.
"""
import argparse
import json
import resource
import time

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load_lora_model(folder, attn, targets):
    """The fp32 model of FOLDER with LoRA r 8 / alpha 16 / dropout 0.05 on TARGETS (also used by
    bench_gemm_floor.py, which records this model's GEMMs)."""
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation=attn)
    return get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=8, lora_alpha=16, lora_dropout=0.05,
                                            target_modules=targets))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["train", "infer", "generate"], default="train")
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--targets", default="q_proj,v_proj")
    ap.add_argument("--attn", choices=["eager", "sdpa"], default="eager")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--profile", default="", help="the timed steps under torch.profiler, as a Chrome trace")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = load_lora_model(a.model, a.attn, a.targets.split(","))
    vocab = model.config.vocab_size
    ids = torch.randint(100, vocab, (a.batch, a.seq))
    mask = torch.ones_like(ids)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if a.mode == "train":
        model.train()
        no_decay = lambda n: n.endswith(".bias") or "norm" in n.lower()  # noqa: E731
        opt = torch.optim.AdamW([
            {"params": [p for n, p in params if not no_decay(n)], "weight_decay": 0.01},
            {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0}], lr=1e-4)
    else:
        model.eval()
    rss_before = peak_rss_bytes()
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.dtype == "bf16")  # noqa: E731
    times, generated, profiler = [], 0, None
    for s in range(a.warmup + a.steps):
        if a.profile and s == a.warmup:
            profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            profiler.__enter__()
        t0 = time.perf_counter()
        if a.mode == "train":
            with autocast():
                loss = model(input_ids=ids, attention_mask=mask, labels=ids).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
        elif a.mode == "infer":
            with torch.no_grad(), autocast():
                model(input_ids=ids, attention_mask=mask).logits.sum().item()
        else:
            with torch.no_grad(), autocast():
                out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=a.new_tokens,
                                     min_new_tokens=a.new_tokens, do_sample=False, pad_token_id=0)
            if s >= a.warmup:
                generated += (out.size(1) - a.seq) * a.batch
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
    if profiler:
        profiler.__exit__(None, None, None)
        profiler.export_chrome_trace(a.profile)
    print(json.dumps({
        "impl": "hf", "mode": a.mode, "attn": a.attn, "dtype": a.dtype, "batch": a.batch, "seq": a.seq, "threads": a.threads,
        "step_seconds": times, "new_tokens": generated, "rss_before_steps_bytes": rss_before,
        "peak_rss_bytes": peak_rss_bytes(), "total_parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for _, p in params)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
