#!/usr/bin/env python3
"""Two Chrome traces of the same step, op by op: where the time of one differs from the other's.

    compare_profiles.py A.json B.json [--steps 5] [--top 40]

A and B come from `bench_step --profile` / `bench_decoder_step --profile` and `hf_step.py --profile`
(torch.profiler's CPU ops). For each op name: self time per step (its time minus the ops it called)
and calls per step, in A and in B, largest first. Then each trace's time that no op covers
(between top-level ops on a thread): work outside ATen's ops, such as lightpeft's own CPU kernels
(lightpeft::dropout names its own; an unnamed kernel shows up only here).
"""
import argparse
import collections
import json


def cpu_ops(path):
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and e.get("cat") == "cpu_op":
            by_thread[e["tid"]].append(e)
    return by_thread


def self_times(by_thread):
    """Self time and call count per op name (microseconds), children found by nesting."""
    total, calls = collections.Counter(), collections.Counter()
    for ops in by_thread.values():
        ops.sort(key=lambda e: (e["ts"], -e["dur"]))
        child_time = collections.Counter()
        stack = []
        for i, e in enumerate(ops):
            while stack and ops[stack[-1]]["ts"] + ops[stack[-1]]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                child_time[stack[-1]] += e["dur"]
            stack.append(i)
        for i, e in enumerate(ops):
            total[e["name"]] += e["dur"] - child_time[i]
            calls[e["name"]] += 1
    return total, calls


def uncovered(by_thread):
    """Time between top-level ops, summed by the (op before, op after) pair."""
    gaps = collections.Counter()
    for ops in by_thread.values():
        ops = sorted(ops, key=lambda e: e["ts"])
        end, last = None, None
        for e in ops:
            if end is not None and e["ts"] >= end:
                gaps[(last, e["name"])] += e["ts"] - end
            if end is None or e["ts"] >= end:
                last = e["name"]
            end = e["ts"] + e["dur"] if end is None else max(end, e["ts"] + e["dur"])
    return gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--steps", type=float, default=5, help="timed steps in each trace (default 5)")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    a_ops, b_ops = cpu_ops(args.a), cpu_ops(args.b)
    (a, a_calls), (b, b_calls) = self_times(a_ops), self_times(b_ops)
    per_step = lambda us: us / 1e3 / args.steps
    print(f"{'op (self time)':48s} {'A ms/step':>10s} {'calls':>6s} {'B ms/step':>10s} {'calls':>6s}")
    print(f"{'all ops':48s} {per_step(sum(a.values())):10.1f} {'':6s} {per_step(sum(b.values())):10.1f}")
    for name in sorted(set(a) | set(b), key=lambda n: -(a[n] + b[n]))[: args.top]:
        print(f"{name[:48]:48s} {per_step(a[name]):10.1f} {a_calls[name] / args.steps:6.0f} "
              f"{per_step(b[name]):10.1f} {b_calls[name] / args.steps:6.0f}")
    for label, ops in (("A", a_ops), ("B", b_ops)):
        gaps = uncovered(ops)
        print(f"\n{label}: {per_step(sum(gaps.values())):.1f} ms/step outside any op; largest:")
        for (before, after), us in gaps.most_common(5):
            print(f"  {per_step(us):8.1f} ms/step  after {before}, before {after}")


if __name__ == "__main__":
    main()
