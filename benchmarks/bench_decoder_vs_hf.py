#!/usr/bin/env python3
"""lightpeft vs HF transformers + peft on a decoder LLM (SmolLM2-135M-Instruct from its GGUF, fp32, the
same dequantized weights), and Light-PEFT's pruned model vs unpruned LoRA, on the CPU. Runs
build/bin/bench_decoder_step and benchmarks/hf_decoder_step.py as separate processes, interleaved
(A, B, B, A, ...), and prints markdown tables of medians and ratios with the load before and after:
  - LoRA (q_proj, v_proj, r 8) train step (fwd + causal LM loss + bwd + clip + AdamW), inference
    forward, greedy generation tokens/s with a KV cache (batch x new tokens), peak RSS;
  - the same LoRA on all seven linears, unpruned vs pruned at Light-PEFT's default ratios.

  python3 benchmarks/bench_decoder_vs_hf.py [--build build] [--repeats 3] [--batch 8] [--seq 128]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_PY = pathlib.Path.home() / ".cache/lightpeft/venv/bin/python"
MODEL = pathlib.Path.home() / ".cache/lightpeft/models/SmolLM2-135M-Instruct"
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_one(cmd, env) -> dict:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    if res.returncode != 0 or not lines:
        sys.exit(f"bench_decoder_vs_hf: {' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--python", default=str(VENV_PY))
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--gen-batch", type=int, default=4)
    ap.add_argument("--gen-prompt", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    lp_bin = str(pathlib.Path(a.build) / "bin" / "bench_decoder_step")
    hf_py = [a.python, str(ROOT / "benchmarks" / "hf_decoder_step.py")]
    common = ["--threads", str(a.threads), "--warmup", str(a.warmup), "--steps", str(a.steps)]

    def args(mode):
        if mode == "generate":
            return ["--mode", mode, "--batch", str(a.gen_batch), "--seq", str(a.gen_prompt), "--new-tokens",
                    str(a.new_tokens)] + common
        return ["--mode", mode, "--batch", str(a.batch), "--seq", str(a.seq)] + common

    # lightpeft resolves the GGUF into its cached HF folder; HF reads the same folder.
    probe = run_one([lp_bin, "--model", a.model] + args("infer")[:-2] + ["--steps", "1", "--warmup", "0"], env)
    hf_model = probe["model_dir"]
    cases = {
        ("lightpeft", "qv"): lambda m: [lp_bin, "--model", a.model] + args(m),
        ("hf", "qv"): lambda m: hf_py + ["--model", hf_model] + args(m),
        ("lightpeft", "all"): lambda m: [lp_bin, "--model", a.model, "--targets", ALL_LINEAR] + args(m),
        ("lightpeft", "all-pruned"): lambda m: [lp_bin, "--model", a.model, "--targets", ALL_LINEAR, "--prune"] + args(m),
        ("lightpeft", "qv-checkpointing"): lambda m: [lp_bin, "--model", a.model, "--checkpointing"] + args(m),
        ("lightpeft", "qv-bf16-base"): lambda m: [lp_bin, "--model", a.model, "--base-dtype", "bf16"] + args(m),
    }
    only_train = ("qv-checkpointing", "qv-bf16-base")
    plan = [(k, m) for m in ("train", "infer", "generate") for k in cases
            if not (m == "generate" and k[1] != "qv") and not (m != "train" and k[1] in only_train)]
    load_before = uptime()
    results = {}
    for rep in range(a.repeats):
        order = plan if rep % 2 == 0 else list(reversed(plan))
        for key, mode in order:
            r = run_one(cases[key](mode), env)
            results.setdefault((key, mode), []).append(r)
            print(f"# rep {rep} {key} {mode}: median {statistics.median(r['step_seconds']) * 1e3:.0f} ms, "
                  f"peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    load_after = uptime()

    def t(key, mode):
        return statistics.median(x for r in results[(key, mode)] for x in r["step_seconds"])

    def m(key, mode, field):
        return statistics.median(r[field] for r in results[(key, mode)])

    def tps(key):
        return m(key, "generate", "new_tokens") / sum(results[(key, "generate")][0]["step_seconds"])

    lp, hf = ("lightpeft", "qv"), ("hf", "qv")
    print(f"\n## SmolLM2-135M-Instruct: lightpeft vs HF transformers + peft (CPU, fp32, eager, {a.threads} threads)\n")
    print(f"Weights: {a.model} (Q4_1, dequantized to float32; HF reads lightpeft's converted folder {hf_model}). "
          f"LoRA r 8 on q_proj, v_proj. Train/inference: batch {a.batch} x seq {a.seq}; generation: "
          f"{a.gen_batch} prompts x {a.gen_prompt} tokens, {a.new_tokens} new tokens each, greedy, KV cache. "
          f"{a.repeats} interleaved repeats x {a.steps} steps after {a.warmup} warm-up, medians.\n")
    print("| measure | lightpeft | HF | lightpeft / HF |\n|---|---|---|---|")
    for mode, what in (("train", "LoRA train step (fwd+loss+bwd+clip+AdamW), ms"), ("infer", "inference forward, ms"),
                       ("generate", f"generation of {a.gen_batch} x {a.new_tokens} tokens, ms")):
        print(f"| {what} | {t(lp, mode) * 1e3:.0f} | {t(hf, mode) * 1e3:.0f} | {t(lp, mode) / t(hf, mode):.2f} |")
    gl, gh = a.gen_batch * a.new_tokens / t(lp, "generate"), a.gen_batch * a.new_tokens / t(hf, "generate")
    print(f"| generation, new tokens/s | {gl:.1f} | {gh:.1f} | {gl / gh:.2f} |")
    for mode in ("train", "infer"):
        x, y = m(lp, mode, "peak_rss_bytes"), m(hf, mode, "peak_rss_bytes")
        print(f"| peak RSS ({mode}), MiB | {x / 2**20:.0f} | {y / 2**20:.0f} | {x / y:.2f} |")
    for field in ("trainable_parameters", "total_parameters"):
        x, y = m(lp, "train", field), m(hf, "train", field)
        print(f"| {field.replace('_', ' ')} | {x:,.0f} | {y:,.0f} | {x / y:.4f} |")

    full, pruned = ("lightpeft", "all"), ("lightpeft", "all-pruned")
    print(f"\n## SmolLM2-135M-Instruct: Light-PEFT's pruned model vs unpruned LoRA (lightpeft, CPU, fp32)\n")
    print("LoRA r 8 on all seven linears; pruned: a plan at the spec's default ratios (KV groups 1/3 per layer, "
          "MLP neurons 1/3 globally, PEFT modules 3/4, ranks 1/2) from random importances (time depends on "
          "the shapes only).\n")
    print("| measure | unpruned LoRA | pruned | pruned / unpruned |\n|---|---|---|---|")
    for mode, what in (("train", "finetune step, ms"), ("infer", "inference forward, ms")):
        print(f"| {what} | {t(full, mode) * 1e3:.0f} | {t(pruned, mode) * 1e3:.0f} | {t(pruned, mode) / t(full, mode):.2f} |")
    for mode in ("train", "infer"):
        x, y = m(full, mode, "peak_rss_bytes"), m(pruned, mode, "peak_rss_bytes")
        print(f"| peak RSS ({mode}), MiB | {x / 2**20:.0f} | {y / 2**20:.0f} | {y / x:.2f} |")
    for field in ("trainable_parameters", "total_parameters"):
        x, y = m(full, "train", field), m(pruned, "train", field)
        print(f"| {field.replace('_', ' ')} | {x:,.0f} | {y:,.0f} | {y / x:.3f} |")
    print(f"\n## SmolLM2-135M-Instruct: memory levers on the LoRA (q_proj, v_proj) train step (lightpeft, CPU)\n")
    print("`gradient_checkpointing` recomputes each layer in backward; `base_dtype: bf16` stores the frozen "
          "linears in bf16 (compute in bf16, LoRA and optimizer state fp32). Peak RSS includes the model "
          "load (the fp32 checkpoint is read whole).\n")
    print("| setting | step, ms | step / plain | peak RSS, MiB | RSS growth in the steps, MiB |\n|---|---|---|---|---|")
    for key, what in ((lp, "plain (fp32)"), (("lightpeft", "qv-checkpointing"), "gradient_checkpointing"),
                      (("lightpeft", "qv-bf16-base"), "base_dtype bf16")):
        grow = m(key, "train", "peak_rss_bytes") - m(key, "train", "rss_before_steps_bytes")
        print(f"| {what} | {t(key, 'train') * 1e3:.0f} | {t(key, 'train') / t(lp, 'train'):.2f} | "
              f"{m(key, 'train', 'peak_rss_bytes') / 2**20:.0f} | {grow / 2**20:.0f} |")
    print(f"\nload before: `{load_before}`  \nload after: `{load_after}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
