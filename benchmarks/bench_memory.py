#!/usr/bin/env python3
"""Peak resident memory of a whole Light-PEFT run and of each of its stages, against LoRA on the
query/value projections (LoRA-qv) and LoRA on every linear (LoRA-all), through the `lightpeft` CLI,
as ratios to LoRA-qv (issue 29: the whole run at most LoRA-qv's peak, the finetune stage at most 0.6x).

Every recipe is one `lightpeft train` process on the same config, batch and sequence length (by
default the README's main job, configs/glue_sst2_main.yaml: pretrained all-MiniLM-L6-v2, SST-2,
batch 32 x up to 128 tokens), shortened to --steps finetune steps and a fixed --estimate-steps
estimate. The stage peaks are the run's own (results.json `stage_peak_cpu_rss_bytes`: Linux's
VmHWM, restarted between stages after freed memory went back to the kernel) and the whole run's is
the largest of them (`peak_cpu_rss_bytes`). Not the process's ru_maxrss: the resets between stages
restart it too, and it counts the exit, where LibTorch's libraries' static destructors page in
about 100 MiB of their code. Resident memory does not depend on the machine's load, so
unlike the time benchmarks this one may run beside other work; the malloc the CLI runs with is
printed (results.json `malloc`), since it decides much of the figure.

  python3 benchmarks/bench_memory.py [--build build] [--config configs/glue_sst2_main.yaml]
                                     [--steps 60] [--estimate-steps 30]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import bench_util  # benchmarks/: the script's own folder is on sys.path

ROOT = pathlib.Path(__file__).resolve().parent.parent

RECIPES = {
    "LoRA-qv": ["method=lora", "lora.target_modules=[query,value]"],
    "LoRA-all": ["method=lora"],
    "Light-PEFT": ["method=light-peft"],
    "Light-PEFT (estimate checkpointed)": ["method=light-peft", "light_peft.estimate_gradient_checkpointing=true"],
}


def run(cmd, env, log):
    with open(log, "a") as out:
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    if code != 0:
        sys.exit(f"bench_memory: {' '.join(map(str, cmd))} failed; see {log}")


def mib(x):
    return f"{x / 2**20:,.0f}" if x else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--config", default=str(ROOT / "configs/glue_sst2_main.yaml"))
    ap.add_argument("--steps", type=int, default=60, help="finetune steps of every recipe (max_steps)")
    ap.add_argument("--estimate-steps", type=int, default=30, help="Light-PEFT's estimate steps (fixed)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated subset of: " + ", ".join(RECIPES))
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    a = ap.parse_args()
    recipes = [r.strip() for r in a.recipes.split(",")]
    for r in recipes:
        if r not in RECIPES:
            ap.error(f"--recipes: unknown recipe '{r}' (expected some of: {', '.join(RECIPES)})")
    if "LoRA-qv" not in recipes:
        ap.error("--recipes: LoRA-qv is the yardstick of every ratio; keep it in the list")
    cli = pathlib.Path(a.build) / "bin" / "lightpeft"
    if not os.access(cli, os.X_OK):
        ap.error(f"--build: {cli} is not an executable (build it: ./tools/setup.sh)")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    work = pathlib.Path(tempfile.mkdtemp(prefix="lightpeft-bench-memory-"))
    log = work / "cli.log"
    rows = {}
    for name in recipes:
        out = work / "".join(c if c.isalnum() or c == "-" else "_" for c in name)
        cmd = [cli, "train", "--config", a.config, "--overwrite", "--set", f"output_dir={out}",
               "--set", f"threads={a.threads}", "--set", f"training.max_steps={a.steps}",
               "--set", f"light_peft.estimate_steps={a.estimate_steps}", "--set", "training.logging_steps=1000"]
        for s in RECIPES[name]:
            cmd += ["--set", s]
        run(cmd, env, log)
        res = json.loads((out / "results.json").read_text())
        rows[name] = dict(run=res["peak_cpu_rss_bytes"], stages=res.get("stage_peak_cpu_rss_bytes", {}), malloc=res.get("malloc", "?"),
                          parameters=res["total_parameters"], random_init=res.get("random_init", False),
                          pruning=res.get("pruning"))
        print(f"# {name}: whole run {mib(rows[name]['run'])} MiB, stages "
              + ", ".join(f"{k} {mib(v)}" for k, v in rows[name]["stages"].items()), file=sys.stderr, flush=True)

    base = rows["LoRA-qv"]
    print(f"\n## Peak resident memory: Light-PEFT vs LoRA (lightpeft CLI, CPU, fp32, {a.threads} threads)\n")
    print(f"- config: `{os.path.relpath(a.config, ROOT)}`, {a.steps} finetune steps, Light-PEFT estimate "
          f"{a.estimate_steps} steps; malloc: {', '.join(sorted({r['malloc'] for r in rows.values()}))}")
    if any(r["random_init"] for r in rows.values()):
        print("- model: RANDOM-INIT (the config's pretrained weights were absent)")
    lp = next((r["pruning"] for r in rows.values() if r["pruning"]), None)
    if lp:
        print(f"- pruning: heads {lp['heads'][0]} -> {lp['heads'][1]}, FFN neurons {lp['ffn_neurons'][0]} -> "
              f"{lp['ffn_neurons'][1]}, parameters {lp['parameters'][0]:,} -> {lp['parameters'][1]:,}")
    print("\n| recipe | whole run, MiB | / LoRA-qv | estimate | prune | finetune | finetune / LoRA-qv's |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        s = r["stages"]
        ft, base_ft = s.get("finetune"), base["stages"].get("finetune")
        ratio = f"{ft / base_ft:.2f}" if ft and base_ft else "-"
        print(f"| {name} | {mib(r['run'])} | {r['run'] / base['run']:.2f} | {mib(s.get('estimate'))} | "
              f"{mib(s.get('prune'))} | {mib(ft)} | {ratio} |")
    bench_util.keep_or_remove(work, a.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
