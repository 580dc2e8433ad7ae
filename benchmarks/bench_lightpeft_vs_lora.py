#!/usr/bin/env python3
"""Light-PEFT vs plain LoRA on the same model and data, through the `lightpeft` CLI, as a table of
ratios.

Model: ~/.cache/lightpeft/models/all-MiniLM-L6-v2 (the setup installs it); when absent, a random-init
model of its shape made with `lightpeft init-model` (the table says so). Data: GLUE RTE from
../shared/data/glue/RTE; when absent, a synthetic RTE-format task (the table says so).
Each repeat runs, interleaved (LoRA, Light-PEFT, then Light-PEFT, LoRA, ...), every process with the
same pinned thread count:
  LoRA        lightpeft train --set method=lora                   (finetune stage only)
  Light-PEFT  lightpeft prune   (estimate + prune: the estimate stage's overhead, its own process)
              lightpeft train   (same output_dir: reuses the estimate, prunes, fine-tunes the
                                 pruned model: so its peak RSS is the finetune stage's)
and reads results.json (finetune step time, eval throughput, parameters, dev metric); peak RSS is
the process's ru_maxrss (os.wait4). Medians over repeats; the short runs make the dev metric a smoke
value, not an accuracy claim.

  python3 benchmarks/bench_lightpeft_vs_lora.py [--build build] [--repeats 2] [--steps 8]
                                                [--estimate-checkpointing]
"""
import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile

import bench_util  # benchmarks/: the script's own folder is on sys.path

PROGRAM = "bench_lightpeft_vs_lora"
ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = pathlib.Path.home() / ".cache/lightpeft/models/all-MiniLM-L6-v2"
RTE = ROOT.parent / "shared" / "data" / "glue" / "RTE"


def synthetic_rte(dest: pathlib.Path, seed=0):
    """RTE-format TSVs of random word sentences (label: whether sentence2's words are in sentence1)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(200)]
    dest.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 512), ("dev", 128)):
        rows = ["index\tsentence1\tsentence2\tlabel"]
        for i in range(n):
            s1 = rng.sample(words, 20)
            ent = rng.random() < 0.5
            s2 = rng.sample(s1, 5) if ent else rng.sample(words, 5)
            rows.append(f"{i}\t{' '.join(s1)}\t{' '.join(s2)}\t{'entailment' if ent else 'not_entailment'}")
        (dest / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return words


def random_init_model(cli, dest: pathlib.Path, words, env):
    cfg = dict(model_type="bert", vocab_size=5 + len(words), hidden_size=384, num_hidden_layers=6,
               num_attention_heads=12, intermediate_size=1536, max_position_embeddings=512,
               type_vocab_size=2)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "in_config.json").write_text(json.dumps(cfg))
    (dest / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
    subprocess.run([cli, "init-model", "--arch", "bert", "--config", str(dest / "in_config.json"),
                    "--vocab", str(dest / "vocab.txt"), "--out", str(dest / "model")], check=True, env=env,
                   capture_output=True)
    return dest / "model"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8, help="finetune steps (max_steps)")
    ap.add_argument("--estimate-steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--eval-samples", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--estimate-checkpointing", action="store_true",
                    help="Light-PEFT with light_peft.estimate_gradient_checkpointing: true")
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    a = ap.parse_args()
    cli = str(pathlib.Path(a.build) / "bin" / "lightpeft")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
    work = pathlib.Path(tempfile.mkdtemp(prefix="lightpeft-bench-"))
    notes = []
    data_dir = RTE
    if not (RTE / "train.tsv").exists():
        words = synthetic_rte(work / "data")
        data_dir = work / "data"
        notes.append(f"data: synthetic RTE-format task ({RTE} absent)")
    else:
        words = [f"w{i}" for i in range(200)]
        notes.append(f"data: GLUE RTE from {RTE} (dev: first {a.eval_samples} examples)")
    model = MODEL
    if not (MODEL / "config.json").exists():
        model = random_init_model(cli, work / "random_model", words, env)
        notes.append(f"model: RANDOM-INIT all-MiniLM-L6-v2 shape ({MODEL} absent)")
    else:
        notes.append(f"model: pretrained all-MiniLM-L6-v2 ({MODEL})")

    def sets(out, method):
        return ["--config", str(ROOT / "configs" / "glue_rte.yaml"), "--set", f"output_dir={out}",
                "--set", f"method={method}", "--set", f"data_dir={data_dir}", "--set", f"model={model}",
                "--set", f"threads={a.threads}", "--set", f"max_seq_length={a.seq}",
                "--set", f"training.per_device_train_batch_size={a.batch}",
                "--set", f"training.max_steps={a.steps}", "--set", f"training.max_eval_samples={a.eval_samples}",
                "--set", f"light_peft.estimate_steps={a.estimate_steps}", "--set", "training.logging_steps=1000",
                "--set", f"light_peft.estimate_gradient_checkpointing={str(a.estimate_checkpointing).lower()}"]

    load_before = bench_util.uptime()
    rows = {"lora": [], "light-peft": []}
    log = work / "cli.log"
    for rep in range(a.repeats):
        order = ["lora", "light-peft"] if rep % 2 == 0 else ["light-peft", "lora"]
        for method in order:
            out = work / f"{method}-{rep}"
            r = {}
            if method == "light-peft":
                r["estimate_wall"], r["estimate_rss"] = bench_util.run_timed(PROGRAM, [cli, "prune"] + sets(out, method), env, log)
            r["train_wall"], r["rss"] = bench_util.run_timed(PROGRAM, [cli, "train"] + sets(out, method), env, log)
            res = json.loads((out / "results.json").read_text())
            r.update(res)
            rows[method].append(r)
            print(f"# rep {rep} {method:10s} finetune step {res['finetune_seconds'] / res['finetune_steps']:.2f} s, "
                  f"peak RSS {r['rss'] / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    load_after = bench_util.uptime()

    def med(method, f):
        return statistics.median(f(r) for r in rows[method])

    step = lambda r: r["finetune_seconds"] / r["finetune_steps"]  # noqa: E731
    n_eval = lambda r: r["eval_seconds"] * r["eval_samples_per_second"]  # noqa: E731
    eval_batch = 64
    latency = lambda r: r["eval_seconds"] / max(1, -(-round(n_eval(r)) // eval_batch))  # noqa: E731
    print(f"\n## Light-PEFT vs LoRA (lightpeft CLI, CPU, fp32, {a.threads} threads, batch {a.batch} x "
          f"seq {a.seq}, {a.steps} finetune steps, {a.estimate_steps} estimate steps)\n")
    for n in notes:
        print(f"- {n}")
    lp0 = rows["light-peft"][0]
    if "pruning" in lp0:
        p = lp0["pruning"]
        print(f"- pruning: heads {p['heads'][0]} -> {p['heads'][1]}, FFN neurons {p['ffn_neurons'][0]} -> "
              f"{p['ffn_neurons'][1]}, LoRA modules {p['peft_modules'][0]} -> {p['peft_modules'][1]}, "
              f"ranks {p['lora_ranks'][0]} -> {p['lora_ranks'][1]}")
    if a.estimate_checkpointing:
        print("- Light-PEFT's estimate stage with activation checkpointing (estimate_gradient_checkpointing)")
    print(f"- {a.repeats} interleaved repeats, medians\n")
    print("| measure | LoRA | Light-PEFT | Light-PEFT / LoRA |")
    print("|---|---|---|---|")

    def line(name, f, fmt="{:.3f}"):
        lo, lp = med("lora", f), med("light-peft", f)
        print(f"| {name} | {fmt.format(lo)} | {fmt.format(lp)} | {lp / lo if lo else float('nan'):.3f} |")

    line("finetune step time, s", step)
    line("finetune-stage peak RSS, MiB", lambda r: r["rss"] / 2**20, "{:.0f}")
    line(f"inference latency per batch of {eval_batch}, s", latency)
    line("inference throughput, samples/s", lambda r: r["eval_samples_per_second"], "{:.1f}")
    line("trainable parameters", lambda r: r["trainable_parameters"], "{:,.0f}")
    line("total parameters", lambda r: r["total_parameters"], "{:,.0f}")
    line(f"dev {lp0['headline_metric']} (short run: smoke value)", lambda r: r["headline_value"])
    lora_ft = med("lora", lambda r: r["finetune_seconds"])
    est = med("light-peft", lambda r: r["estimate_seconds"])
    print(f"| estimate stage, s (vs LoRA's finetune time) | - | {est:.1f} | {est / lora_ft:.3f} |")
    est_step = est / a.estimate_steps
    print(f"| estimate stage time per estimate step incl. set-up, s (vs LoRA step) | {med('lora', step):.3f} | {est_step:.3f} | "
          f"{est_step / med('lora', step):.3f} |")
    print(f"| estimate+prune process peak RSS, MiB (vs LoRA's) | {med('lora', lambda r: r['rss']) / 2**20:.0f} | "
          f"{med('light-peft', lambda r: r['estimate_rss']) / 2**20:.0f} | "
          f"{med('light-peft', lambda r: r['estimate_rss']) / med('lora', lambda r: r['rss']):.3f} |")
    print(f"\nload before: `{load_before}`  \nload after: `{load_after}`")
    bench_util.keep_or_remove(work, a.keep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
