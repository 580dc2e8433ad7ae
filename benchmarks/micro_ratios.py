#!/usr/bin/env python3
"""Runs build/bin/bench_micro (Google Benchmark) with repetitions and prints, per family, the median
real time of each variant and its ratio to the family's first (baseline) variant, with the load.

  python3 benchmarks/micro_ratios.py [--build build] [--repetitions 5] [--threads 2]
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads),
               LIGHTPEFT_BENCH_THREADS=str(a.threads))
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    # Repetitions interleave the variants (A, B, A, B, ...) instead of A, A, ..., B, B.
    out = subprocess.run([str(pathlib.Path(a.build) / "bin" / "bench_micro"), "--benchmark_format=json",
                          f"--benchmark_repetitions={a.repetitions}", "--benchmark_enable_random_interleaving=true",
                          "--benchmark_report_aggregates_only=true", "--benchmark_min_time=0.2"],
                         capture_output=True, text=True, env=env, check=True).stdout
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    families = collections.OrderedDict()
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].replace("/real_time", "")
        fam, arg = name.split("/", 1)
        families.setdefault(fam, []).append((arg, b["real_time"], b["time_unit"]))
    labels = {"BM_LoraLinear": "r", "BM_LoraBaseAFusion": "fused", "BM_MaskedAttention": "head mask",
              "BM_PrunedFfn": "d_ff"}
    print(f"\n## Micro benchmarks (bench_micro, fwd+bwd, batch 8 x seq 128, hidden 384, {a.threads} threads, "
          f"median of {a.repetitions} interleaved repetitions)\n")
    print("| benchmark | variant | median time | ratio to the baseline (first row) |")
    print("|---|---|---|---|")
    baseline = {"BM_LoraLinear": "0", "BM_LoraBaseAFusion": "0", "BM_MaskedAttention": "0", "BM_PrunedFfn": "1536"}
    for fam, rows in families.items():
        first = baseline.get(fam, rows[0][0])
        rows.sort(key=lambda r: r[0] != first)
        base = rows[0][1]
        for arg, t, unit in rows:
            print(f"| {fam} | {labels.get(fam, 'arg')} = {arg} | {t:.2f} {unit} | {t / base:.3f} |")
    print(f"\nload before: `{load_before}`  \nload after: `{load_after}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
