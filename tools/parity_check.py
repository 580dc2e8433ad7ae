#!/usr/bin/env python3
"""Training parity of `lightpeft train` with HF transformers, step by step, from one initial state.

The accuracy study runs each recipe through both programs with the same seed, but a seed is a
different draw in each: its own classifier init, shuffle and dropout masks. This check takes those
three apart, so a gap between the two programs' results can be put down to those draws or to a
difference in what is computed:

  1. one starting checkpoint for both: HF's BertForSequenceClassification at SEED (its classifier
     drawn as HF draws it), saved with `bert.`-prefixed encoder weights and `classifier.*`, which
     lightpeft loads like any user's checkpoint; with --dropout off its config.json sets every
     dropout to 0;
  2. one order: tools/hf_reference.py replays lightpeft's permutation (--order lightpeft);
  3. the loss and learning rate of every step from both (lightpeft: metrics.jsonl at
     logging_steps 1; hf_reference: --loss-log), compared.

With dropout off nothing random is left, so the two traces must agree up to float rounding (which
grows over the steps of training); with dropout on they share the start and the batches, and differ
only in the dropout masks.

    ~/.cache/lightpeft/venv/bin/python tools/parity_check.py --task mrpc --seed 42 --dropout off

Writes OUT/parity.json (per-step losses of both, the largest differences, both dev results) and
prints a summary. Full fine-tuning only: LoRA's A matrices are a further draw of each program.
"""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import accuracy_study as study  # noqa: E402  (recipes, budget, command lines)

try:
    import torch
    from transformers import AutoModelForSequenceClassification
except ImportError as e:
    raise SystemExit(f"parity_check needs torch and transformers ({e}): run it with the project's venv "
                     f"python, {study.study_records.DEFAULT_PYTHON}")

import hf_reference  # noqa: E402  (task label names)


TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def make_start_checkpoint(base, task, seed, dropout, out):
    """HF's initial model for TASK at SEED, saved as an HF checkpoint both programs start from."""
    names = hf_reference.TASKS[task][4]
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=1 if names is None else len(names),
        problem_type="regression" if names is None else "single_label_classification")
    if not dropout:
        model.config.hidden_dropout_prob = 0.0
        model.config.attention_probs_dropout_prob = 0.0
        model.config.classifier_dropout = 0.0
    model.save_pretrained(out, safe_serialization=True)
    # The base's own tokenizer files, copied as they are: both programs tokenize as in the study.
    for f in TOKENIZER_FILES:
        if (pathlib.Path(base) / f).is_file():
            shutil.copyfile(pathlib.Path(base) / f, pathlib.Path(out) / f)


def read_jsonl(path):
    return [json.loads(l) for l in pathlib.Path(path).read_text().splitlines() if l.strip()]


def lightpeft_trace(run_dir):
    """{step: (loss, learning rate)} of the finetune stage's training steps in metrics.jsonl."""
    trace = {}
    for rec in read_jsonl(run_dir / "metrics.jsonl"):
        if "loss" in rec and "learning_rate" in rec and rec.get("stage") == "finetune":
            trace[int(rec["step"])] = (rec["loss"], rec["learning_rate"])
    return trace


def hf_trace(path):
    return {int(r["step"]): (r["loss"], r["learning_rate"]) for r in read_jsonl(path)}


def compare(lp, hf):
    steps = sorted(set(lp) & set(hf))
    if not steps or len(steps) != len(lp) or len(steps) != len(hf):
        raise SystemExit(f"the traces do not cover the same steps: lightpeft {len(lp)}, hf {len(hf)}, "
                         f"common {len(steps)}")
    loss_diff = [abs(lp[s][0] - hf[s][0]) for s in steps]
    lr_diff = [abs(lp[s][1] - hf[s][1]) for s in steps]
    return {
        "steps": len(steps),
        "first_step_loss": {"lightpeft": lp[steps[0]][0], "hf": hf[steps[0]][0]},
        "max_abs_loss_diff": max(loss_diff),
        "max_abs_loss_diff_step": steps[loss_diff.index(max(loss_diff))],
        "mean_abs_loss_diff": sum(loss_diff) / len(loss_diff),
        "max_abs_lr_diff": max(lr_diff),
        "trace": [{"step": s, "lightpeft_loss": lp[s][0], "hf_loss": hf[s][0], "learning_rate": lp[s][1]}
                  for s in steps],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=sorted(study.TASKS))
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--dropout", choices=["off", "on"], default="off")
    ap.add_argument("--lightpeft", default=str(study.ROOT / "build/bin/lightpeft"))
    ap.add_argument("--python", type=pathlib.Path, default=pathlib.Path(sys.executable))
    ap.add_argument("--model", type=pathlib.Path, default=study.DEFAULT_MODEL)
    ap.add_argument("--data", type=pathlib.Path, default=study.ROOT.parent / "shared/data")
    ap.add_argument("--max-train", type=int, default=1000)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dtype", default="fp32", choices=["bf16", "fp32"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=pathlib.Path)
    args = ap.parse_args()
    if not os.access(args.lightpeft, os.X_OK):
        ap.error(f"--lightpeft: {args.lightpeft} is not an executable (build it: ./tools/setup.sh)")
    if not study.train_file(args.task, args.data).is_file():
        ap.error(f"task {args.task}: no training file {study.train_file(args.task, args.data)} "
                 "(--data names the folder that holds glue/ and superglue/)")
    if not (args.model / "config.json").is_file():
        ap.error(f"--model: {args.model} holds no config.json (an HF-layout model directory is expected)")
    out = args.out or study.ROOT / f"runs/parity/{args.task}-full-seed{args.seed}-dropout-{args.dropout}"
    out.mkdir(parents=True, exist_ok=True)
    start = out / "start-checkpoint"
    make_start_checkpoint(args.model, args.task, args.seed, args.dropout == "on", start)

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    runs = pathlib.Path(out)
    lp_cmd = study.recipe_command(args, runs, "full", args.task, args.seed, out / "lightpeft", model=start)
    lp_cmd += ["--set", "training.logging_steps=1"]
    hf_cmd = study.recipe_command(args, runs, "hf-full", args.task, args.seed, out / "hf", model=start)
    hf_cmd += ["--order", "lightpeft", "--loss-log", str(out / "hf-steps.jsonl")]
    for name, cmd in (("lightpeft", lp_cmd), ("hf", hf_cmd)):
        with open(out / f"{name}.log", "w") as f:
            f.write("+ " + " ".join(cmd) + "\n")
            f.flush()
            if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode != 0:
                raise SystemExit(f"{name} failed: see {out / (name + '.log')}")

    result = compare(lightpeft_trace(out / "lightpeft"), hf_trace(out / "hf-steps.jsonl"))
    dev = {name: json.loads((out / name / "results.json").read_text()) for name in ("lightpeft", "hf")}
    result = {"task": args.task, "seed": args.seed, "dropout": args.dropout, "dtype": args.dtype,
              "dev": {k: {"headline_metric": v["headline_metric"], "headline_value": v["headline_value"]}
                      for k, v in dev.items()}, **result}
    (out / "parity.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.task} full, seed {args.seed}, dropout {args.dropout}, {result['steps']} steps: "
          f"step-1 loss {result['first_step_loss']['lightpeft']:.6f} (lightpeft) / "
          f"{result['first_step_loss']['hf']:.6f} (hf); largest |loss difference| "
          f"{result['max_abs_loss_diff']:.2e} at step {result['max_abs_loss_diff_step']}, mean "
          f"{result['mean_abs_loss_diff']:.2e}; largest |lr difference| {result['max_abs_lr_diff']:.1e}")
    for k, v in result["dev"].items():
        print(f"  dev {v['headline_metric']} {k}: {v['headline_value']:.4f}")
    print(f"  {out / 'parity.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
