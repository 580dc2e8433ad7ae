#!/usr/bin/env python3
"""How fast can a SmolLM2 LoRA step or inference forward be on this CPU with the same arithmetic as
HF's? The floor set by its matrix products, against what lightpeft and HF take.

Issue 27 asks for a LoRA train step at most 0.75x HF transformers + peft's time and an inference
forward at most 0.5x. When both programs do the same arithmetic through the same BLAS, neither can
be faster than the matrix products it issues. This benchmark records every matrix product
(aten mm / addmm / bmm / baddbmm) of HF's step (`hf_decoder_step.py`'s model: SmolLM2 with LoRA r 8
on q_proj and v_proj, sdpa attention, causal LM loss on every position, batch x seq tokens) with a
TorchDispatchMode, in fp32 and under bf16 autocast, then replays those products alone (the same
shapes, strides and dtypes, on random tensors, in order, the same thread count) and times them: the
GEMM floor. Attention (sdpa), norms, activations, the loss and the optimizer come on top of it, so a
program with these GEMMs cannot go below it; only other GEMM shapes (fusing products) could. With
--measure it also runs lightpeft's `bench_decoder_step` and HF's `hf_decoder_step.py` (each its own
process, interleaved) and prints each step against the floor, and the floor's ratio to HF's step: the
best ratio any program with HF's arithmetic can reach here.

  python3 benchmarks/bench_gemm_floor.py [--model FOLDER] [--dtypes fp32,bf16] [--modes train,infer]
                                         [--repeats 5] [--measure] [--batch 8] [--seq 128] [--threads 2]
"""
import argparse
import collections
import pathlib
import statistics
import sys
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench_vs_hf  # noqa: E402
from hf_decoder_step import load_lora_model  # noqa: E402

aten = torch.ops.aten
GEMMS = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.baddbmm.default}
# A recorded tensor argument: what the replay makes a random tensor of.
TensorSpec = collections.namedtuple("TensorSpec", "size stride dtype")


def gemm_flops(func, spec):
    """Multiply-adds x 2 of one recorded product (the bias add of addmm not counted)."""
    a, b = [t.size for t in spec if isinstance(t, TensorSpec)][-2:]  # the two factors come last
    if func in (aten.mm.default, aten.addmm.default):
        return 2 * a[0] * a[1] * b[1]
    return 2 * a[0] * a[1] * a[2] * b[2]  # bmm, baddbmm


class GemmRecorder(TorchDispatchMode):
    """Records (op, tensor arguments' size/stride/dtype, other arguments) of every matrix product."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in GEMMS:
            spec = [TensorSpec(tuple(a.shape), a.stride(), a.dtype) if isinstance(a, torch.Tensor) else a
                    for a in args]
            self.calls.append((func, spec, dict(kwargs or {})))
        return out


def record(model, ids, mode, dtype):
    """The matrix products of one train step's forward + backward, or of one inference forward."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")
    rec = GemmRecorder()
    if mode == "train":
        model.train()
        with rec:
            with autocast:
                loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids).loss
            loss.backward()
        model.zero_grad(set_to_none=True)
    else:
        model.eval()
        with rec, torch.no_grad(), autocast:
            model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.sum().item()
    return rec.calls


def replay_seconds(calls, repeats):
    """Median over REPEATS of the recorded products run alone, in order, on random tensors."""
    made = {}

    def tensor(t):
        if t not in made:  # drawn in fp32 (normal_ is not implemented for every dtype), copied into the layout
            made[t] = torch.empty_strided(t.size, t.stride, dtype=t.dtype).copy_(torch.randn(t.size))
        return made[t]

    prepared = [(func, [tensor(a) if isinstance(a, TensorSpec) else a for a in spec], kwargs)
                for func, spec, kwargs in calls]
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):  # the first pass warms the caches and oneDNN's kernels up
            t0 = time.perf_counter()
            for func, args, kwargs in prepared:
                func(*args, **kwargs)
            times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def measured_steps(a, weights, dtype, modes):
    """lightpeft's and HF's median step (s) per mode, interleaved processes (bench_vs_hf's programs)."""
    env = bench_vs_hf.pinned_env(a.threads)
    common = ["--batch", str(a.batch), "--seq", str(a.seq), "--threads", str(a.threads), "--warmup", "1",
              "--steps", "3", "--dtype", dtype]
    progs = {"lightpeft": [str(pathlib.Path(a.build) / "bin/bench_decoder_step"), "--model", str(a.gguf)] + common,
             "HF": [a.python, str(bench_vs_hf.ROOT / "benchmarks/hf_decoder_step.py"), "--model", str(weights),
                    "--attn", "sdpa"] + common}
    out = {}
    for mode in modes:
        for rep in range(a.measure_repeats):
            for name in (progs if rep % 2 == 0 else reversed(list(progs))):
                r = bench_vs_hf.run_one(progs[name] + ["--mode", mode], env)
                out.setdefault((name, mode), []).append(statistics.median(r["step_seconds"]))
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=pathlib.Path,
                    default=bench_vs_hf.MODELS_DIR / "SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--model", default="", help="the fp32 HF folder (default: lightpeft's conversion of --gguf)")
    ap.add_argument("--build", default=str(bench_vs_hf.ROOT / "build"))
    ap.add_argument("--python", default=str(bench_vs_hf.VENV_PY))
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--targets", default="q_proj,v_proj")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--measure", action="store_true", help="also time lightpeft's and HF's steps (own processes)")
    ap.add_argument("--measure-repeats", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    bench_vs_hf.check_list(ap, "--dtypes", "dtype", a.dtypes, ("fp32", "bf16"))
    bench_vs_hf.check_list(ap, "--modes", "mode", a.modes, ("train", "infer"))
    weights = a.model
    if not weights:
        if not a.gguf.is_file():
            ap.error(f"--gguf: {a.gguf} is not a file (./tools/setup.sh installs SmolLM2-135M-Instruct)")
        weights = bench_vs_hf.run_one(
            [str(pathlib.Path(a.build) / "bin/bench_decoder_step"), "--model", str(a.gguf), "--mode", "infer",
             "--batch", "1", "--seq", "8", "--threads", str(a.threads), "--warmup", "0", "--steps", "1"],
            bench_vs_hf.pinned_env(a.threads))["model_dir"]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = load_lora_model(weights, "sdpa", a.targets.split(","))
    ids = torch.randint(100, model.config.vocab_size, (a.batch, a.seq))
    print(f"# GEMM floor of HF's SmolLM2 LoRA ({a.targets}) step: {bench_vs_hf.cpu_name()}, {a.threads} threads, "
          f"batch {a.batch} x seq {a.seq}, torch {torch.__version__}; load before: {bench_vs_hf.uptime()}", flush=True)
    header = "| mode | dtype | products | GFLOP | GEMMs alone, ms | GFLOP/s |"
    rule = "|---|---|---|---|---|---|"
    if a.measure:
        header += " lightpeft, ms | HF, ms | lightpeft / HF | floor / HF | lightpeft / floor |"
        rule += "---|---|---|---|---|"
    rows = []
    for dtype in a.dtypes.split(","):
        steps = measured_steps(a, weights, dtype, a.modes.split(",")) if a.measure else {}
        for mode in a.modes.split(","):
            calls = record(model, ids, mode, dtype)
            flops = sum(gemm_flops(f, spec) for f, spec, _ in calls)
            floor = replay_seconds(calls, a.repeats)
            row = (f"| {mode} | {dtype} | {len(calls)} | {flops / 1e9:.1f} | {floor * 1e3:.0f} | "
                   f"{flops / floor / 1e9:.0f} |")
            if a.measure:
                lp, hf = steps[("lightpeft", mode)], steps[("HF", mode)]
                row += f" {lp * 1e3:.0f} | {hf * 1e3:.0f} | **{lp / hf:.2f}** | **{floor / hf:.2f}** | {lp / floor:.2f} |"
            rows.append(row)
            print(f"# {mode} {dtype}: {len(calls)} products, floor {floor * 1e3:.0f} ms", file=sys.stderr, flush=True)
    print("\n".join([header, rule] + rows))
    print(f"# load after: {bench_vs_hf.uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
