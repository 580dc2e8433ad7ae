#!/usr/bin/env python3
"""The README's main job against HF transformers + peft on the same budget: wall time of the whole
process, dev metric and peak resident memory of Light-PEFT (estimate + prune + finetune) and of
lightpeft's LoRA-qv, as ratios to HF's LoRA-qv (issue 27: Light-PEFT's whole run at most 0.6x HF
LoRA-qv's time at equal accuracy).

Every row is one process on the same config (by default configs/glue_sst2_main.yaml), one at a time:
  Light-PEFT         lightpeft train --config C                          (the config as it is)
  lightpeft LoRA-qv  lightpeft train --config C --set method=lora --set lora.target_modules=[query,value]
  HF LoRA-qv         tools/hf_reference.py with the budget of the config lightpeft resolved (task,
                     data, model, seed, rows, epochs, batch sizes, sequence length, learning rate, LoRA
                     r / alpha / dropout; the optimiser, schedule and data order are lightpeft's)
plus any --variant NAME=KEY=VALUE[;KEY=VALUE...] as more Light-PEFT rows; --set KEY=VALUE changes
the config for every row (HF's included: it follows lightpeft's resolved config), for example a
longer budget or `dtype=bf16` (lightpeft's bf16 autocast against HF's reference under
torch.autocast(bfloat16), as Trainer's bf16=True). Repeats run interleaved,
the order reversed every other repeat; medians. Wall time is the whole process (start-up, data,
model loading, training, every dev evaluation: lightpeft evaluates after each epoch, HF's reference
once at the end, so the comparison leaves lightpeft the extra work). Peak memory is each process's
ru_maxrss (os.wait4); for lightpeft the larger of it and results.json's run peak, since lightpeft
restarts the high-water mark between its stages (its ru_maxrss is the last stage's alone). The machine's load is printed before and after:
time ratios are only worth something from a quiet machine.

  python3 benchmarks/bench_main_job_vs_hf.py [--build build] [--config configs/glue_sst2_main.yaml]
      [--repeats 1] [--variant "bf16 estimate=light_peft.estimate_base_dtype=bf16"] [--python VENV_PYTHON]
      [--set training.max_train_samples=8000]
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

import yaml

import bench_util  # benchmarks/: the script's own folder is on sys.path

ROOT = pathlib.Path(__file__).resolve().parent.parent
HF_TASKS = ("cb", "cola", "mrpc", "rte", "sst2", "stsb", "wnli")  # what tools/hf_reference.py runs
LORA_QV = ["method=lora", "lora.target_modules=[query,value]"]


def parse_variant(text: str, ap) -> tuple:
    name, sep, sets = text.partition("=")
    if not sep or not name.strip() or "=" not in sets:
        ap.error(f"--variant '{text}': expected NAME=KEY=VALUE[;KEY=VALUE...]")
    return name.strip(), [s.strip() for s in sets.split(";") if s.strip()]


def hf_command(python, resolved: dict, threads: int, out: pathlib.Path) -> list:
    """tools/hf_reference.py with the budget of lightpeft's resolved config (its config.yaml)."""
    t, lora = resolved["training"], resolved["lora"]
    return [python, str(ROOT / "tools/hf_reference.py"), "--task", resolved["task"],
            "--data-dir", str(resolved["data_dir"]), "--model", str(resolved["model"]), "--method", "lora",
            "--target-modules", "query,value", "--r", str(lora["r"]), "--alpha", str(lora["alpha"]),
            "--lora-dropout", str(lora["dropout"]), "--lr", str(t["learning_rate"]),
            "--epochs", str(t["num_train_epochs"]), "--batch-size", str(t["per_device_train_batch_size"]),
            "--eval-batch-size", str(t["per_device_eval_batch_size"]),
            "--max-seq-length", str(resolved["max_seq_length"]), "--max-train", str(t["max_train_samples"]),
            "--max-eval", str(t["max_eval_samples"]), "--seed", str(resolved["seed"]),
            "--dtype", resolved.get("dtype", "fp32"),
            "--threads", str(threads), "--order", "lightpeft", "--out", str(out)]


def check_hf_budget(resolved: dict, config: str) -> None:
    """hf_reference.py reproduces lightpeft's plain recipe only: say which config keys it cannot follow."""
    t = resolved["training"]
    problems = []
    if resolved["task"] not in HF_TASKS:
        problems.append(f"task {resolved['task']} (tools/hf_reference.py runs {', '.join(HF_TASKS)})")
    if resolved.get("dtype", "fp32") not in ("fp32", "bf16"):
        problems.append(f"dtype {resolved['dtype']} (the reference runs fp32, or bf16 under autocast)")
    if t.get("max_steps", -1) > 0:
        problems.append("training.max_steps (the reference counts epochs)")
    for key, plain in (("warmup_steps", 0), ("warmup_ratio", 0), ("weight_decay", 0), ("gradient_accumulation_steps", 1),
                       ("lr_scheduler_type", "linear")):
        if t.get(key, plain) != plain:
            problems.append(f"training.{key} {t[key]} (the reference runs {plain})")
    if problems:
        sys.exit(f"bench_main_job_vs_hf: {config}: HF's reference cannot run this budget: " + "; ".join(problems))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--config", default=str(ROOT / "configs/glue_sst2_main.yaml"))
    ap.add_argument("--python", default=str(pathlib.Path.home() / ".cache/lightpeft/venv/bin/python"),
                    help="the venv's python, with transformers and peft (tools/setup.sh makes it)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variant", action="append", default=[], help="NAME=KEY=VALUE[;KEY=VALUE...]: a Light-PEFT row with these --set")
    ap.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE",
                    help="a config override for every row (lightpeft's --set; HF follows the resolved config)")
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    a = ap.parse_args()
    if a.repeats < 1:
        ap.error("--repeats: expected at least 1")
    for s in a.sets:
        if "=" not in s:
            ap.error(f"--set '{s}': expected KEY=VALUE")
    cli = pathlib.Path(a.build) / "bin" / "lightpeft"
    if not os.access(cli, os.X_OK):
        ap.error(f"--build: {cli} is not an executable (build it: ./tools/setup.sh)")
    if not os.access(a.python, os.X_OK):
        ap.error(f"--python: {a.python} is not an executable (the venv tools/setup.sh makes)")
    rows = {"Light-PEFT": ["method=light-peft"], **dict(parse_variant(v, ap) for v in a.variant),
            "lightpeft LoRA-qv": LORA_QV, "HF LoRA-qv": None}
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    work = pathlib.Path(tempfile.mkdtemp(prefix="lightpeft-bench-main-job-"))
    log = work / "runs.log"
    results = {name: [] for name in rows}
    resolved = None
    load_before = bench_util.uptime()
    for rep in range(a.repeats):
        order = list(rows) if rep % 2 == 0 else list(reversed(rows))
        if resolved is None:  # HF needs the budget lightpeft resolved: a lightpeft row first
            order.remove("HF LoRA-qv")
            order.append("HF LoRA-qv")
        for name in order:
            out = work / f"{''.join(c if c.isalnum() else '_' for c in name)}_{rep}"
            if rows[name] is None:
                cmd = hf_command(a.python, resolved, a.threads, out)
            else:
                cmd = [str(cli), "train", "--config", a.config, "--overwrite", "--set", f"output_dir={out}",
                       "--set", f"threads={a.threads}"]
                for s in a.sets + rows[name]:
                    cmd += ["--set", s]
            wall, peak = bench_util.run_timed("bench_main_job_vs_hf", cmd, env, log, cwd=ROOT)
            res = json.loads((out / "results.json").read_text())
            # lightpeft restarts the kernel's high-water mark between stages (each stage's own peak is
            # in results.json), so the process's ru_maxrss is only the last stage's: take the larger.
            peak = max(peak, res.get("peak_cpu_rss_bytes") or 0)
            if resolved is None:
                resolved = yaml.safe_load((out / "config.yaml").read_text())
                check_hf_budget(resolved, a.config)
            results[name].append(dict(wall=wall, peak=peak, metric=res["headline_value"], metric_name=res["headline_metric"],
                                      estimate_steps=(res.get("pruning") or {}).get("estimate_steps"),
                                      random_init=res.get("random_init", False)))
            print(f"# {name} (repeat {rep + 1}): {res['headline_metric']} {res['headline_value']:.4f}, "
                  f"{wall:.1f} s, peak {peak / 2**20:,.0f} MiB", file=sys.stderr, flush=True)
    load_after = bench_util.uptime()

    def med(name, key):
        return statistics.median(r[key] for r in results[name])

    hf = "HF LoRA-qv"
    dtype = resolved.get("dtype", "fp32")
    print(f"\n## The main job against HF transformers + peft (CPU, {dtype}{' autocast' if dtype == 'bf16' else ''}, {a.threads} threads, "
          f"{a.repeats} repeat{'s' if a.repeats > 1 else ''}, medians)\n")
    print(f"- config: `{os.path.relpath(a.config, ROOT)}`" + "".join(f" --set {s}" for s in a.sets) + f"; load before: {load_before}; after: {load_after}")
    if any(r["random_init"] for rs in results.values() for r in rs):
        print("- model: RANDOM-INIT (the config's pretrained weights were absent)")
    metric = results[hf][0]["metric_name"]
    print(f"\n| run | dev {metric} | estimate steps | whole process, s | / HF LoRA-qv | peak RSS, MiB | / HF LoRA-qv |")
    print("|---|---|---|---|---|---|---|")
    for name in rows:
        steps = results[name][0]["estimate_steps"]
        print(f"| {name} | {med(name, 'metric'):.4f} | {steps if steps is not None else '-'} | {med(name, 'wall'):.1f} | "
              f"{med(name, 'wall') / med(hf, 'wall'):.2f} | {med(name, 'peak') / 2**20:,.0f} | "
              f"{med(name, 'peak') / med(hf, 'peak'):.2f} |")
    bench_util.keep_or_remove(work, a.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
