#!/usr/bin/env python3
"""lightpeft vs HF transformers + peft on the CPU: LoRA train step (forward + backward + clip +
AdamW) and inference forward, same model, batch, sequence length, fp32, eager attention and thread
count. Runs build/bin/bench_step and benchmarks/hf_step.py as separate processes, interleaved
(lightpeft, HF, HF, lightpeft, ... so that drifting load hits both alike), and prints a markdown
table of medians and ratios with the machine's load (uptime) before and after.

  python3 benchmarks/bench_vs_hf.py [--build build] [--repeats 3] [--steps 5] [--batch 8] [--seq 128]
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
MODEL = pathlib.Path.home() / ".cache/lightpeft/models/all-MiniLM-L6-v2"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def pinned_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def run_one(cmd, env) -> dict:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    if res.returncode != 0 or not lines:
        sys.exit(f"bench_vs_hf: {' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--python", default=str(VENV_PY))
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    env = pinned_env(a.threads)
    common = ["--model", a.model, "--batch", str(a.batch), "--seq", str(a.seq), "--threads",
              str(a.threads), "--warmup", str(a.warmup), "--steps", str(a.steps)]
    cmds = {"lightpeft": [str(pathlib.Path(a.build) / "bin" / "bench_step")],
            "hf": [a.python, str(ROOT / "benchmarks" / "hf_step.py")]}
    load_before = uptime()
    results = {(impl, mode): [] for impl in cmds for mode in ("train", "infer")}
    for rep in range(a.repeats):
        order = ["lightpeft", "hf"] if rep % 2 == 0 else ["hf", "lightpeft"]
        for mode in ("train", "infer"):
            for impl in order:
                r = run_one(cmds[impl] + ["--mode", mode] + common, env)
                results[(impl, mode)].append(r)
                print(f"# rep {rep} {impl:9s} {mode:5s} median step "
                      f"{statistics.median(r['step_seconds']) * 1e3:8.1f} ms, peak RSS "
                      f"{r['peak_rss_bytes'] / 2**20:7.0f} MiB", file=sys.stderr, flush=True)
    load_after = uptime()

    def med_time(impl, mode):
        return statistics.median(t for r in results[(impl, mode)] for t in r["step_seconds"])

    def med(impl, mode, key):
        return statistics.median(r[key] for r in results[(impl, mode)])

    random_init = results[("lightpeft", "train")][0]["random_init"]
    print(f"\n## lightpeft vs HF transformers {_version(a.python)} (CPU, fp32, eager, "
          f"batch {a.batch} x seq {a.seq}, {a.threads} threads)\n")
    print(f"model: {'random-init all-MiniLM-L6-v2 shape (pretrained not found)' if random_init else a.model}; "
          f"LoRA r 8 on 6 linears/layer; {a.repeats} interleaved repeats x {a.steps} steps "
          f"(after {a.warmup} warm-up), medians\n")
    print("| measure | lightpeft | HF | lightpeft / HF |")
    print("|---|---|---|---|")
    for mode, what in (("train", "train step (fwd+bwd+clip+AdamW)"), ("infer", "inference forward")):
        lp, hf = med_time("lightpeft", mode), med_time("hf", mode)
        print(f"| {what}, ms | {lp * 1e3:.1f} | {hf * 1e3:.1f} | {lp / hf:.2f} |")
    for mode in ("train", "infer"):
        lp, hf = med("lightpeft", mode, "peak_rss_bytes"), med("hf", mode, "peak_rss_bytes")
        print(f"| peak RSS ({mode}), MiB | {lp / 2**20:.0f} | {hf / 2**20:.0f} | {lp / hf:.2f} |")
        lp = lp - med("lightpeft", mode, "rss_before_steps_bytes")
        hf = hf - med("hf", mode, "rss_before_steps_bytes")
        if mode == "train":
            print(f"| RSS growth during the steps ({mode}), MiB | {lp / 2**20:.0f} | {hf / 2**20:.0f} | "
                  f"{(lp / hf) if hf > 0 else float('nan'):.2f} |")
    for key in ("trainable_parameters", "total_parameters"):
        lp, hf = med("lightpeft", "train", key), med("hf", "train", key)
        print(f"| {key.replace('_', ' ')} | {lp:,.0f} | {hf:,.0f} | {lp / hf:.4f} |")
    print(f"\nload before: `{load_before}`  \nload after: `{load_after}`")
    return 0


def _version(python) -> str:
    try:
        return subprocess.run([python, "-c", "import transformers, peft, torch; print("
                               "f'{transformers.__version__}, peft {peft.__version__}, torch {torch.__version__}')"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
