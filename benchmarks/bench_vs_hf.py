#!/usr/bin/env python3
"""lightpeft vs HF transformers + peft on the CPU, at HF's defaults (sdpa attention) and at the same
dtype: the LoRA train step (forward + loss + backward + clip + AdamW) and the inference forward, on
all-MiniLM-L6-v2 (sequence classification, LoRA r 8 on six linears per layer) and SmolLM2-135M-Instruct
(causal LM on every position, LoRA r 8 on q_proj and v_proj; HF reads the float32 folder lightpeft
converts the GGUF into), in fp32 and in bf16 autocast (what HF Trainer's bf16=True does on the
CPU). lightpeft is measured with the same arithmetic as HF, and with what it does on its own: in
bf16 its frozen linears also stored in bf16 (`base_dtype: bf16`); for inference LoRA merged into the
base weights (what `lightpeft predict` and `generate --run` run); and Light-PEFT's pruned model at
the spec's default ratios (LoRA on every linear before pruning; merged for inference).

Every measurement is its own process (build/bin/bench_step or bench_decoder_step, and
benchmarks/hf_step.py or hf_decoder_step.py), the cases interleaved (A, B, C, ..., C, B, A so that
drifting load hits all alike), medians of the steps after warm-up; one markdown table per model with
the ratios, the CPU named and the machine's load (uptime) before and after.

  python3 benchmarks/bench_vs_hf.py [--build build] [--models minilm,smollm2] [--dtypes fp32,bf16]
                                    [--hf-attn sdpa] [--repeats 3] [--batch 8] [--seq 128] [--threads 2]
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
MODELS_DIR = pathlib.Path.home() / ".cache/lightpeft/models"
ALL_LINEAR = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"

# model -> (lightpeft's step program, HF's twin, default weights, default steps and warm-up)
MODELS = {
    "minilm": ("bench_step", "hf_step.py", MODELS_DIR / "all-MiniLM-L6-v2", 5, 2),
    "smollm2": ("bench_decoder_step", "hf_decoder_step.py", MODELS_DIR / "SmolLM2-135M-Instruct", 3, 1),
}
TITLES = {"minilm": "all-MiniLM-L6-v2, sequence classification, LoRA r 8 on 6 linears/layer",
          "smollm2": "SmolLM2-135M-Instruct, causal LM loss on every position, LoRA r 8 on q_proj, v_proj"}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def cpu_name() -> str:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "CPU"


def pinned_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def check_list(ap, flag, what, value, allowed):
    """A comma-separated option's every item among ALLOWED, or argparse's error naming it."""
    for item in value.split(","):
        if item not in allowed:
            ap.error(f"{flag}: unknown {what} '{item}' (expected {', '.join(allowed)})")


def run_one(cmd, env) -> dict:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    if res.returncode != 0 or not lines:
        sys.exit(f"bench_vs_hf: {' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return json.loads(lines[-1])


def cases_of(a, model, env):
    """{case name: command without --mode} for one model: lightpeft and HF per dtype."""
    lp_prog, hf_script, default_weights, steps, warmup = MODELS[model]
    weights = str(getattr(a, model) or default_weights)
    lp = [str(pathlib.Path(a.build) / "bin" / lp_prog), "--model", weights]
    common = ["--batch", str(a.batch), "--seq", str(a.seq), "--threads", str(a.threads),
              "--warmup", str(a.warmup if a.warmup is not None else warmup),
              "--steps", str(a.steps if a.steps is not None else steps)]
    hf_weights = weights
    if model == "smollm2":  # lightpeft converts the GGUF once into a float32 HF folder; HF reads that
        hf_weights = run_one(lp + ["--mode", "infer", "--batch", "1", "--seq", "8", "--threads",
                                   str(a.threads), "--warmup", "0", "--steps", "1"], env)["model_dir"]
    hf = [a.python, str(ROOT / "benchmarks" / hf_script), "--model", hf_weights]
    # case: (program, dtype, setting) -> (command, modes it runs). lightpeft's setting "" is the same
    # arithmetic as HF; "merged": LoRA folded into the base (what `lightpeft predict` runs);
    # "Light-PEFT pruned": the spec's default ratios (LoRA on every linear), merged for inference.
    all_linear = ["--targets", ALL_LINEAR] if model == "smollm2" else []
    cases = {}
    for dtype in a.dtypes.split(","):
        d = ["--dtype", dtype] + (["--base-dtype", "bf16"] if dtype == "bf16" else [])
        cases[("lightpeft", dtype, "")] = (lp + common + ["--dtype", dtype], ("train", "infer"))
        if dtype == "bf16":
            cases[("lightpeft", dtype, "base_dtype bf16")] = (lp + common + d, ("train", "infer"))
        b = "base_dtype bf16, " if dtype == "bf16" else ""
        cases[("lightpeft", dtype, b + "merged")] = (lp + common + d + ["--merge"], ("infer",))
        cases[("lightpeft", dtype, b + "Light-PEFT pruned")] = (lp + common + d + all_linear + ["--prune"], ("train",))
        cases[("lightpeft", dtype, b + "Light-PEFT pruned, merged")] = (
            lp + common + d + all_linear + ["--prune", "--merge"], ("infer",))
        for attn in a.hf_attn.split(","):
            cases[("HF", dtype, attn)] = (hf + common + ["--attn", attn, "--dtype", dtype], ("train", "infer"))
    return cases, hf_weights


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--python", default=str(VENV_PY))
    ap.add_argument("--models", default="minilm,smollm2")
    ap.add_argument("--minilm", default="", help="all-MiniLM-L6-v2's folder (random-init of its shape when absent)")
    ap.add_argument("--smollm2", default="", help="SmolLM2-135M-Instruct's GGUF or folder")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--hf-attn", default="sdpa", help="HF's attention implementations, comma-separated (sdpa: its default)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="timed steps per process (minilm 5, smollm2 3)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (minilm 2, smollm2 1)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    check_list(ap, "--models", "model", a.models, MODELS)
    check_list(ap, "--dtypes", "dtype", a.dtypes, ("fp32", "bf16"))
    check_list(ap, "--hf-attn", "attention", a.hf_attn, ("sdpa", "eager"))
    env = pinned_env(a.threads)
    print(f"# lightpeft vs HF transformers {_version(a.python)}: {cpu_name()}, {a.threads} threads, "
          f"batch {a.batch} x seq {a.seq}", flush=True)
    for model in a.models.split(","):
        cases, weights = cases_of(a, model, env)
        plan = [(name, mode) for mode in ("train", "infer") for name, (_, modes) in cases.items() if mode in modes]
        load_before = uptime()
        results = {}
        for rep in range(a.repeats):
            for name, mode in (plan if rep % 2 == 0 else list(reversed(plan))):
                r = run_one(cases[name][0] + ["--mode", mode], env)
                results.setdefault((name, mode), []).append(r)
                print(f"# {model} rep {rep} {' '.join(name):28s} {mode:5s} median step "
                      f"{statistics.median(r['step_seconds']) * 1e3:8.1f} ms, peak RSS "
                      f"{r['peak_rss_bytes'] / 2**20:6.0f} MiB", file=sys.stderr, flush=True)
        print_table(a, model, weights, cases, results, load_before, uptime())
    return 0


def print_table(a, model, weights, cases, results, load_before, load_after):
    def step(name, mode):
        return statistics.median(t for r in results[(name, mode)] for t in r["step_seconds"])

    def peak(name, mode):
        return statistics.median(r["peak_rss_bytes"] for r in results[(name, mode)])

    random_init = results[(next(iter(cases)), "train")][0].get("random_init", False)
    print(f"\n### {TITLES[model]}\n")
    print(f"weights: {'random-init (pretrained not found)' if random_init else weights}; {a.repeats} interleaved "
          "repeats, medians of the timed steps; ratio = lightpeft / HF at the same dtype (bf16: autocast on "
          "both sides).\n")
    print("| dtype | lightpeft | HF | train step, ms (lightpeft / HF) | ratio | inference, ms | ratio "
          "| peak RSS train, MiB | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (prog, dtype, setting) in cases:
        if prog != "lightpeft":
            continue
        for attn in a.hf_attn.split(","):
            lp, hf = (prog, dtype, setting), ("HF", dtype, attn)
            row = [dtype, setting or "same as HF", attn]
            for mode in ("train", "infer"):
                if (lp, mode) in results:
                    x, y = step(lp, mode), step(hf, mode)
                    row += [f"{x * 1e3:.0f} / {y * 1e3:.0f}", f"**{x / y:.2f}**"]
                else:
                    row += ["", ""]
            if (lp, "train") in results:
                x, y = peak(lp, "train"), peak(hf, "train")
                row += [f"{x / 2**20:.0f} / {y / 2**20:.0f}", f"{x / y:.2f}"]
            else:
                row += ["", ""]
            print("| " + " | ".join(row) + " |")
    print(f"\nload before: `{load_before}`  \nload after: `{load_after}`")


def _version(python) -> str:
    try:
        return subprocess.run([python, "-c", "import transformers, peft, torch; print("
                               "f'{transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}')"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
