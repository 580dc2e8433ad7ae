#!/usr/bin/env python3
"""Pictures of a `lightpeft train` run: `lightpeft report OUTPUT_DIR` runs this script.

Reads what a run writes (metrics.jsonl, results.json, config.yaml, prune/pruning_plan.json,
estimate/importance.safetensors) and writes OUTPUT_DIR/report/:

  curves.png        loss and learning rate per stage
  dev_metrics.png   dev-set metrics at every evaluation, per stage
  heads.png         attention-head mask values/scores per layer, pruned heads marked   (light-peft)
  ffn_neurons.png   FFN neuron scores per layer, kept mask, kept counts                (light-peft)
  peft_modules.png  PEFT module importance, pruned modules marked, the threshold       (light-peft)
  peft_ranks.png    rank importance per module, kept ranks marked                      (light-peft)
  parameters.png    parameter and unit counts before/after pruning
  index.md          links every picture with a caption, and the final dev metrics

Only what the run has is drawn; index.md says what is missing and why. Needs matplotlib, numpy
and safetensors (tools/requirements.txt). Usage: report.py OUTPUT_DIR [--out DIR]
"""
import argparse
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

DPI = 130
matplotlib.rcParams["hatch.linewidth"] = 0.8
matplotlib.rcParams["axes.formatter.useoffset"] = False  # mask values near 1: show them, not offsets
STAGE_COLORS = {"estimate": "tab:orange", "finetune": "tab:blue", "final": "black"}
KIND_SHORT = [  # (suffix of a module path after "layer.N.", short name), first match wins
    ("attention.self.query", "query"),
    ("attention.self.key", "key"),
    ("attention.self.value", "value"),
    ("attention.output.dense", "attn.out"),
    ("intermediate.dense", "ffn.in"),
    ("output.dense", "ffn.out"),
]


def warn(*parts):
    print("report: warning:", *parts, file=sys.stderr)


# ---- reading a run -------------------------------------------------------------------------------


def read_metrics(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                warn(f"{path}:{n}: skipped a line that is not JSON ({e})")
    return rows


def read_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_config_value(path, section, key):
    """A scalar from the run's resolved config.yaml (flat two-level YAML, as the trainer writes it)."""
    if not os.path.exists(path):
        return None
    current = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\w+):\s*(.*)$", line)
            if m:
                current = m.group(1)
                if section is None and current == key:
                    return m.group(2).strip()
                continue
            m = re.match(r"^\s+(\w+):\s*(.*)$", line)
            if m and current == section and m.group(1) == key:
                return m.group(2).strip()
    return None


def read_importance(path):
    if not os.path.exists(path):
        return None
    from safetensors.numpy import load_file

    return load_file(path)


def module_layer_kind(path):
    m = re.search(r"layer\.(\d+)\.(.+)$", path)
    if not m:
        return None, path
    rest = m.group(2)
    for suffix, short in KIND_SHORT:
        if rest == suffix:
            return int(m.group(1)), short
    return int(m.group(1)), rest


def plan_from_importance(imp):
    """A plan-shaped dict (scores only, nothing kept/pruned known) from importance.safetensors."""
    layers = []
    n = 0
    while f"heads.{n}" in imp or f"neurons.{n}" in imp:
        layers.append({
            "heads": {"scores": imp.get(f"heads.{n}", np.zeros(0)).tolist(), "threshold": None, "kept": None},
            "neurons": {"scores": imp.get(f"neurons.{n}", np.zeros(0)).tolist(), "threshold": None, "kept": None},
        })
        n += 1
    modules = []
    for k in sorted(imp):
        if k.startswith("rank."):
            path = k[len("rank."):]
            score = imp.get("module." + path)
            modules.append({"path": path, "score": float(score[0]) if score is not None else 0.0,
                            "kept": None, "rank_scores": imp[k].tolist(), "kept_ranks": None})
    return {"layers": layers, "modules": modules, "module_threshold": None, "rank_threshold": None,
            "options": {}, "from_importance": True}


# ---- small helpers -------------------------------------------------------------------------------


def human(n):
    n = float(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}"


def fmt_thr(t):
    return "none" if t is None else f"{t:.6g}"


def save(fig, out_dir, name, figures, caption):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    figures.append((name, caption))


def moving_average(y, window):
    if len(y) < window or window < 2:
        return None
    kernel = np.ones(window) / window
    return np.convolve(y, kernel, mode="valid")


# ---- figures -------------------------------------------------------------------------------------


def figure_curves(metrics, out_dir, figures):
    stages = [s for s in ("estimate", "finetune") if any(r.get("stage") == s and "loss" in r for r in metrics)]
    stages += sorted({r.get("stage") for r in metrics if "loss" in r} - set(stages) - {None})
    if not stages:
        return "no logged training steps in metrics.jsonl"
    fig, axes = plt.subplots(2, len(stages), figsize=(6.5 * len(stages), 7), squeeze=False)
    for c, stage in enumerate(stages):
        rows = sorted((r for r in metrics if r.get("stage") == stage and "loss" in r), key=lambda r: r["step"])
        steps = np.array([r["step"] for r in rows])
        loss = np.array([r["loss"] for r in rows], dtype=float)
        color = STAGE_COLORS.get(stage, "tab:green")
        ax = axes[0][c]
        ax.plot(steps, loss, "o-" if len(steps) <= 30 else "-", color=color, alpha=0.45 if len(steps) > 20 else 1,
                ms=3, lw=1, label="logged loss")
        window = max(2, len(steps) // 10)
        ma = moving_average(loss, window) if len(steps) > 20 else None
        if ma is not None:
            ax.plot(steps[window - 1:], ma, "-", color=color, lw=2, label=f"moving average ({window})")
        ax.set_title(f"{stage}: training loss")
        ax.set_xlabel("step")
        ax.set_ylabel("loss" + (" (task + L1 on masks)" if stage == "estimate" else ""))
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        ax = axes[1][c]
        lr = [r.get("learning_rate") for r in rows]
        if any(v is not None for v in lr):
            ax.plot(steps, [np.nan if v is None else v for v in lr], "-", color=color, lw=1.5)
        ax.set_title(f"{stage}: learning rate")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.suptitle("Training loss and learning rate per stage", fontsize=13)
    fig.tight_layout()
    save(fig, out_dir, "curves.png", figures,
         "Training loss (logged steps) and learning-rate schedule, one column per stage ("
         + ", ".join(stages) + ").")
    return None


def figure_estimate_overlap(metrics, results, out_dir, figures):
    """light_peft.estimate_steps: auto: how much each check's decisions agree with the previous check's."""
    rows = sorted((r for r in metrics if r.get("stage") == "estimate" and "overlap_heads" in r), key=lambda r: r["step"])
    if not rows:
        return "the estimate stage had a fixed length (no overlap checks)"
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in rows]
    has_agreement = any("agreement_heads" in r for r in rows)
    for i, (name, label) in enumerate((("heads", "heads"), ("neurons", "FFN neurons"),
                                       ("modules", "PEFT modules"), ("ranks", "ranks"))):
        color = f"C{i}"
        if has_agreement:
            ax.plot(steps, [r.get("agreement_" + name, np.nan) for r in rows], "o-", ms=3, color=color,
                    label=label + ": decisions unchanged")
        ax.plot(steps, [r.get("overlap_" + name, np.nan) for r in rows], "--" if has_agreement else "o-", ms=3,
                lw=1, color=color, alpha=0.6 if has_agreement else 1.0, label=label + ": Jaccard of kept sets")
    pr = (results or {}).get("pruning") or {}
    if pr.get("estimate_steps"):
        ax.axvline(pr["estimate_steps"], color="black", ls="--", lw=1,
                   label=f"stopped: {pr.get('estimate_stop', '?')} ({pr['estimate_steps']} steps)")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("estimate step")
    ax.set_ylabel("agreement with the previous check")
    ax.set_title("estimate_steps: auto — stability of the pruning decisions")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7, ncol=2 if has_agreement else 1)
    fig.tight_layout()
    save(fig, out_dir, "estimate_overlap.png", figures,
         "At each check of an automatic estimate: the fraction of heads, neurons, PEFT modules and ranks whose "
         "keep/prune decision is the same as at the previous check (solid) and the Jaccard overlap of the kept sets "
         "(dashed); the stage stops when they stay above the thresholds (estimate_agreement, estimate_overlap).")
    return None


def figure_dev(metrics, results, out_dir, figures):
    evals = [r for r in metrics if any(k.startswith("eval_") for k in r)]
    if not evals:
        return "no evaluations in metrics.jsonl"
    names = []
    for r in evals:
        for k in r:
            # Per-set metrics of a suite ("eval_arc_easy/accuracy", task commonsense) are in the
            # index's per-set table; the figure shows the suite's means.
            if k.startswith("eval_") and k not in names and k != "eval_loss" and "/" not in k:
                names.append(k)
    if any("eval_loss" in r for r in evals):
        names.append("eval_loss")
    headline = results.get("headline_metric") if results else None
    best_step = results.get("best_step") if results else None
    cols = min(3, len(names))
    rows_n = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(5.5 * cols, 3.8 * rows_n), squeeze=False)
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        for stage in ("estimate", "finetune"):
            pts = sorted(((r["step"], r[name]) for r in evals if r.get("stage") == stage and name in r))
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, "o-", color=STAGE_COLORS[stage], label=stage, ms=4)
        final = [r for r in evals if r.get("stage") == "final" and name in r]
        if final:
            ax.plot([final[-1]["step"]], [final[-1][name]], "*", color="black", ms=13, label="final", zorder=5)
        if best_step is not None and name == "eval_" + str(headline):
            ax.axvline(best_step, color="gray", ls=":", lw=1.2, label=f"best step {best_step}")
        label = name[len("eval_"):]
        ax.set_title(f"dev {label}" + ("  (headline)" if label == headline else ""))
        ax.set_xlabel("step (within the stage)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    for j in range(len(names), rows_n * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle("Dev-set metrics at each evaluation", fontsize=13)
    fig.tight_layout()
    save(fig, out_dir, "dev_metrics.png", figures,
         "Dev-set metrics at each evaluation per stage; the star is the final evaluation, the dotted line "
         "the best step of the headline metric.")
    return None


def _unit_arrays(plan, unit):
    layers = plan["layers"]
    sizes = [len(l[unit]["scores"]) for l in layers]
    width = max(sizes) if sizes else 0
    scores = np.full((len(layers), width), np.nan)
    kept = np.zeros((len(layers), width), dtype=bool)
    known = all(l[unit]["kept"] is not None for l in layers)
    for i, l in enumerate(layers):
        s = np.asarray(l[unit]["scores"], dtype=float)
        scores[i, : len(s)] = s
        if known:
            kept[i, list(l[unit]["kept"])] = True
    return scores, kept, sizes, known


def _thresholds(plan, unit):
    return [l[unit]["threshold"] for l in plan["layers"]]


def figure_heads(plan, out_dir, figures):
    scores, kept, sizes, known = _unit_arrays(plan, "heads")
    n_layers, n_heads = scores.shape
    if n_layers == 0 or n_heads == 0:
        return "no head scores"
    fig = plt.figure(figsize=(max(9, 0.75 * n_heads + 5), max(3.2, 0.55 * n_layers + 1.8)))
    # heatmap | colorbar | room for the colorbar's labels | kept-count bars
    gs = fig.add_gridspec(1, 4, width_ratios=[max(4, n_heads), 0.3, 1.4, 3.2], wspace=0.05)
    ax = fig.add_subplot(gs[0])
    finite = scores[np.isfinite(scores)]
    im = ax.imshow(scores, aspect="auto", cmap="viridis", vmin=finite.min(), vmax=finite.max(),
                   interpolation="nearest")
    if n_heads <= 32:
        mid = (finite.min() + finite.max()) / 2
        spread = finite.max() - finite.min()
        # Enough decimals to tell the heads apart (mask values often differ in the 4th-6th decimal).
        decimals = int(np.clip(math.ceil(-math.log10(spread)) + 2, 3, 8)) if spread > 0 else 4
        for i in range(n_layers):
            for j in range(sizes[i]):
                ax.text(j, i, f"{scores[i, j]:.{decimals}f}", ha="center", va="center", fontsize=7,
                        color="white" if scores[i, j] < mid else "black")
    if known:
        for i in range(n_layers):
            for j in range(sizes[i]):
                if not kept[i, j]:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="x",
                                           edgecolor="red", lw=0, alpha=0.55))
                    ax.add_patch(Rectangle((j - 0.47, i - 0.45), 0.94, 0.9, fill=False, edgecolor="red", lw=1.5))
    thr = _thresholds(plan, "heads")
    ax.set_yticks(range(n_layers))
    scope = plan.get("options", {}).get("head_scope")
    if scope == "layerwise":
        ax.set_yticklabels([f"layer {i}\nthr {fmt_thr(t)}" for i, t in enumerate(thr)], fontsize=8)
    else:
        ax.set_yticklabels([f"layer {i}" for i in range(n_layers)])
    ax.set_xticks(range(n_heads))
    ax.set_xlabel("attention head")
    cb = fig.colorbar(im, cax=fig.add_subplot(gs[1]))
    cb.set_label("head importance (mask value)" if plan.get("options", {}).get("importance", "mask") == "mask"
                 else "head importance (taylor score)")
    title = "Attention heads: importance per layer"
    if known:
        title += "; red crossed box = pruned"
        if scope == "global":
            title += f" (global threshold {fmt_thr(thr[0] if thr else None)})"
    else:
        title += " (no pruning plan: nothing marked)"
    ax.set_title(title, fontsize=11)
    bx = fig.add_subplot(gs[3], sharey=ax)
    _kept_bars(bx, kept, sizes, known, "heads")
    save(fig, out_dir, "heads.png", figures,
         "Attention-head importance (mask values or scores) per layer; crossed-out heads are pruned, bars count "
         "the kept heads per layer.")
    return None


def _kept_bars(bx, kept, sizes, known, what):
    y = np.arange(len(sizes))
    bx.barh(y, sizes, color="lightgray", label="before", height=0.7)
    if known:
        k = kept.sum(axis=1)
        bx.barh(y, k, color="tab:green", label="kept", height=0.7)
        for i in range(len(sizes)):
            bx.text(sizes[i], i, f" {k[i]}/{sizes[i]}", va="center", fontsize=8)
    bx.set_xlim(0, max(sizes) * 1.35 if sizes else 1)
    bx.set_xlabel(f"{what} per layer")
    bx.tick_params(axis="y", labelleft=False)
    bx.set_title(f"kept {what} (green) of all (gray)", fontsize=10)
    bx.grid(axis="x", alpha=0.3)


def figure_neurons(plan, out_dir, figures):
    scores, kept, sizes, known = _unit_arrays(plan, "neurons")
    n_layers, n = scores.shape
    if n_layers == 0 or n == 0:
        return "no FFN neuron scores"
    finite = scores[np.isfinite(scores)]
    lo, hi = np.percentile(finite, [1, 99])
    if hi <= lo:
        lo, hi = finite.min(), finite.max() + 1e-12
    layer_h = 0.42
    panels = 3 if known else 1
    fig = plt.figure(figsize=(16, 2.2 + panels * (n_layers * layer_h + 1.2) + 3.2))
    heights = [n_layers * layer_h + 0.4] * panels + [3.2]
    gs = fig.add_gridspec(panels + 1, 2, height_ratios=heights, width_ratios=[60, 1], hspace=0.55, wspace=0.02)
    ylabels = [f"layer {i}" for i in range(n_layers)]

    ax = fig.add_subplot(gs[0, 0])
    im = ax.imshow(scores, aspect="auto", cmap="viridis", vmin=lo, vmax=hi, interpolation="antialiased")
    ax.set_yticks(range(n_layers))
    ax.set_yticklabels(ylabels)
    ax.set_xlabel("FFN neuron")
    ax.set_title("FFN neuron importance per layer (colour clipped to the 1st-99th percentile)", fontsize=11)
    cb = fig.colorbar(im, cax=fig.add_subplot(gs[0, 1]))
    cb.set_label("importance", fontsize=8)

    if known:
        ax2 = fig.add_subplot(gs[1, 0], sharex=ax)
        mask = np.where(np.isnan(scores), np.nan, kept.astype(float))
        from matplotlib.colors import ListedColormap

        im2 = ax2.imshow(mask, aspect="auto", cmap=ListedColormap(["#d62728", "#2ca02c"]), vmin=0, vmax=1,
                         interpolation="antialiased")
        ax2.set_yticks(range(n_layers))
        ax2.set_yticklabels([f"layer {i}: {kept[i].sum()}/{sizes[i]}" for i in range(n_layers)], fontsize=8)
        ax2.set_xlabel("FFN neuron")
        thr = _thresholds(plan, "neurons")
        scope = plan.get("options", {}).get("neuron_scope")
        if scope == "global":
            desc = f"global threshold {fmt_thr(thr[0] if thr else None)}"
        else:
            desc = "layerwise thresholds " + ", ".join(fmt_thr(t) for t in thr)
        ax2.set_title(f"Kept mask: green = kept, red = pruned ({desc})", fontsize=11)
        cax2 = fig.add_subplot(gs[1, 1])
        cb2 = fig.colorbar(im2, cax=cax2, ticks=[0.25, 0.75])
        cb2.ax.set_yticklabels(["pruned", "kept"], fontsize=8)

        ax3 = fig.add_subplot(gs[2, 0])
        y = np.arange(n_layers)
        k = kept.sum(axis=1)
        ax3.barh(y, sizes, color="lightgray", height=0.7, label="before")
        ax3.barh(y, k, color="tab:green", height=0.7, label="kept")
        for i in range(n_layers):
            ax3.text(sizes[i], i, f" {k[i]}/{sizes[i]} ({100.0 * k[i] / max(1, sizes[i]):.0f}%)", va="center",
                     fontsize=8)
        ax3.set_yticks(y)
        ax3.set_yticklabels(ylabels)
        ax3.invert_yaxis()
        ax3.set_xlim(0, max(sizes) * 1.2)
        ax3.set_xlabel("FFN neurons")
        ax3.set_title(f"Kept FFN neurons per layer: {k.sum()} of {sum(sizes)} (green kept, gray pruned)",
                      fontsize=11)
        ax3.grid(axis="x", alpha=0.3)
        fig.add_subplot(gs[2, 1]).axis("off")

    ax4 = fig.add_subplot(gs[panels, 0])
    cmap = plt.get_cmap("tab10")
    for i in range(n_layers):
        s = np.sort(scores[i, : sizes[i]])[::-1]
        ax4.plot(np.linspace(0, 1, len(s)), s, color=cmap(i % 10), lw=1.4, label=f"layer {i}")
    if known:
        seen = set()
        for t in _thresholds(plan, "neurons"):
            if t is not None and t not in seen:
                seen.add(t)
                ax4.axhline(t, color="red", ls="--", lw=1, label="threshold" if len(seen) == 1 else None)
    ax4.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    ax4.set_xlabel("neurons of the layer, sorted by importance (fraction)")
    ax4.set_ylabel("importance")
    ax4.set_title("Sorted FFN neuron importance per layer (above the threshold = kept)", fontsize=11)
    ax4.legend(fontsize=8, ncol=min(n_layers + 1, 7), loc="upper right")
    ax4.grid(alpha=0.3)
    fig.add_subplot(gs[panels, 1]).axis("off")
    save(fig, out_dir, "ffn_neurons.png", figures,
         "FFN neuron importance per layer (layers x neurons), the kept mask, kept counts per layer and the "
         "sorted scores against the pruning threshold.")
    return None


def _module_table(plan):
    rows = []
    for m in plan["modules"]:
        layer, kind = module_layer_kind(m["path"])
        rows.append((layer if layer is not None else -1, kind, m))
    kinds = []
    for suffix, short in KIND_SHORT:
        if any(k == short for _, k, _ in rows):
            kinds.append(short)
    for _, k, _ in rows:
        if k not in kinds:
            kinds.append(k)
    rows.sort(key=lambda r: (r[0], kinds.index(r[1])))
    return rows, kinds


def figure_modules(plan, out_dir, figures):
    rows, kinds = _module_table(plan)
    if not rows:
        return "no PEFT module scores"
    known = all(m["kept"] is not None for _, _, m in rows)
    cmap = plt.get_cmap("tab10")
    color = {k: cmap(i % 10) for i, k in enumerate(kinds)}
    fig, ax = plt.subplots(figsize=(max(9, 0.32 * len(rows) + 3), 5))
    x, pos, layer_centres = 0.0, [], {}
    last = None
    for layer, kind, m in rows:
        if last is not None and layer != last:
            x += 1.0
        pos.append(x)
        layer_centres.setdefault(layer, []).append(x)
        last = layer
        x += 1.0
    rankless = 0
    for (layer, kind, m), p in zip(rows, pos):
        pruned = known and not m["kept"]
        no_ranks = known and m["kept"] and not m["kept_ranks"]  # survived, then lost every rank
        rankless += no_ranks
        hatch = "//" if pruned else ".." if no_ranks else None
        ax.bar(p, m["score"], width=0.85, color=color[kind], alpha=0.35 if (pruned or no_ranks) else 1.0,
               hatch=hatch, edgecolor="black" if hatch else color[kind], lw=0.6)
    thr = plan.get("module_threshold")
    handles = [Patch(facecolor=color[k], label=k) for k in kinds]
    if known:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="pruned"))
        if rankless:
            handles.append(Patch(facecolor="white", edgecolor="black", hatch="..",
                                 label="kept, but all its ranks pruned"))
    if thr is not None:
        ax.axhline(thr, color="red", ls="--", lw=1.2)
        handles.append(plt.Line2D([], [], color="red", ls="--", label=f"threshold {fmt_thr(thr)}"))
    ax.set_xticks([np.mean(v) for v in layer_centres.values()])
    ax.set_xticklabels([f"layer {l}" if l >= 0 else "other" for l in layer_centres])
    for v in list(layer_centres.values())[1:]:
        ax.axvline(v[0] - 1.0, color="lightgray", lw=0.8)
    ax.set_ylabel("module importance")
    kept_n = sum(1 for _, _, m in rows if m["kept"] and m["kept_ranks"]) if known else None
    title = "PEFT module importance, grouped by layer and module kind"
    if known:
        title += f": {kept_n} of {len(rows)} modules keep their PEFT"
    ax.set_title(title, fontsize=11)
    ax.legend(handles=handles, fontsize=8, ncol=min(len(handles), 8), loc="upper center",
              bbox_to_anchor=(0.5, -0.08), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save(fig, out_dir, "peft_modules.png", figures,
         "PEFT module importance per module, grouped by layer and coloured by module kind; hatched modules "
         "are pruned, the dashed line is the module threshold.")
    return None


def figure_ranks(plan, out_dir, figures, peft_kind):
    rows, _ = _module_table(plan)
    if not rows:
        return "no rank scores"
    r = max(len(m["rank_scores"]) for _, _, m in rows)
    known = all(m["kept"] is not None for _, _, m in rows)
    scores = np.full((len(rows), r), np.nan)
    for i, (_, _, m) in enumerate(rows):
        scores[i, : len(m["rank_scores"])] = m["rank_scores"]
    finite = scores[np.isfinite(scores)]
    positive = finite[finite > 0]
    use_log = positive.size == finite.size and positive.size > 0 and positive.max() / positive.min() > 100
    norm = LogNorm(positive.min(), positive.max()) if use_log else Normalize(finite.min(), finite.max())
    fig, ax = plt.subplots(figsize=(max(6.5, 0.5 * r + 4.5), max(4, 0.24 * len(rows) + 1.6)))
    im = ax.imshow(scores, aspect="auto", cmap="magma", norm=norm, interpolation="nearest")
    labels = []
    for i, (layer, kind, m) in enumerate(rows):
        lab = f"L{layer} {kind}" if layer >= 0 else m["path"]
        if known and not m["kept"]:
            lab += " (pruned)"
        elif known and not m["kept_ranks"]:
            lab += " (all ranks pruned)"
        labels.append(lab)
        if known:
            if not m["kept"]:
                ax.add_patch(Rectangle((-0.5, i - 0.5), r, 1, fill=False, hatch="///", edgecolor="#bbbbbb",
                                       lw=0))
            for j in m["kept_ranks"] or []:
                ax.add_patch(Rectangle((j - 0.45, i - 0.42), 0.9, 0.84, fill=False, edgecolor="#00e5ff", lw=1.6))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7 if len(rows) > 24 else 9)
    if known:
        for t, (_, _, m) in zip(ax.get_yticklabels(), rows):
            if not m["kept"] or not m["kept_ranks"]:
                t.set_color("gray")
    ax.set_xticks(range(r))
    ax.set_xlabel("rank index" if peft_kind != "adapter" else "bottleneck unit")
    cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    cb.set_label("rank importance" + (" (log scale)" if use_log else ""))
    title = f"{'LoRA rank' if peft_kind != 'adapter' else 'Adapter bottleneck'} importance per module"
    if known:
        total_kept = sum(len(m["kept_ranks"]) for _, _, m in rows if m["kept"])
        title += (f"\ncyan box = kept ({total_kept} of {sum(len(m['rank_scores']) for _, _, m in rows)}); "
                  f"hatched rows: module pruned; threshold {fmt_thr(plan.get('rank_threshold'))}")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save(fig, out_dir, "peft_ranks.png", figures,
         "Rank importance, modules x ranks; boxed ranks are kept, hatched rows are pruned modules (ranks are "
         "pruned globally over the surviving modules).")
    return None


def figure_parameters(results, out_dir, figures):
    if not results:
        return "no results.json (the run has not finished)"
    pr = results.get("pruning")
    if pr and "parameters" in pr:
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 4.8), gridspec_kw={"width_ratios": [1.15, 1]})
        total = pr["parameters"]
        peft = pr.get("peft_parameters", [0, 0])
        groups = [("total", total), ("foundation\n(total - PEFT)", [total[0] - peft[0], total[1] - peft[1]]),
                  ("PEFT", peft)]
        y = np.arange(len(groups))
        before = [g[1][0] for g in groups]
        after = [g[1][1] for g in groups]
        ax.barh(y - 0.2, before, height=0.38, color="lightgray", label="before pruning")
        ax.barh(y + 0.2, after, height=0.38, color="tab:blue", label="after pruning")
        trainable = results.get("trainable_parameters")
        labels = [g[0] for g in groups]
        if trainable is not None:
            y = np.append(y, len(groups))
            ax.barh(len(groups) + 0.2, trainable, height=0.38, color="tab:green", label="trainable (finetune)")
            labels.append("trainable")
            ax.text(trainable, len(groups) + 0.2, f" {human(trainable)}", va="center", fontsize=8)
        for i, (b, a) in enumerate(zip(before, after)):
            ax.text(b, i - 0.2, f" {human(b)}", va="center", fontsize=8)
            change = f" ({100.0 * (a - b) / b:+.1f}%)" if b else ""
            ax.text(max(a, 1), i + 0.2, f" {human(a)}{change}", va="center", fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        smallest = min(v for v in before + after + ([trainable] if trainable else []) if v > 0)
        ax.set_xlim(smallest / 10, max(before + after) * 8)
        ax.set_xlabel("parameters (log scale)")
        ax.set_title("Parameters before / after pruning")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(axis="x", alpha=0.3)

        units = [(k, lab) for k, lab in (("heads", "attention heads"), ("ffn_neurons", "FFN neurons"),
                                         ("peft_modules", "PEFT modules"), ("lora_ranks", "ranks")) if k in pr]
        yy = np.arange(len(units))
        frac = [pr[k][1] / pr[k][0] if pr[k][0] else 0 for k, _ in units]
        bx.barh(yy, [1] * len(units), color="lightgray", height=0.6, label="before")
        bx.barh(yy, frac, color="tab:green", height=0.6, label="kept")
        for i, (k, _) in enumerate(units):
            bx.text(1.01, i, f"{pr[k][1]} / {pr[k][0]}  ({100 * frac[i]:.0f}% kept)", va="center", fontsize=9)
        bx.set_yticks(yy)
        bx.set_yticklabels([lab for _, lab in units])
        bx.invert_yaxis()
        bx.set_xlim(0, 1.6)
        bx.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        bx.set_xlabel("fraction of units kept (green) of those before pruning (gray)")
        est = pr.get("estimate_steps")
        bx.set_title("Units kept by pruning" + (f" (estimated in {est} steps)" if est else ""))
        bx.grid(axis="x", alpha=0.3)
        caption = ("Parameter counts before/after pruning (total, foundation, PEFT; trainable in finetune) and "
                   "the fraction of heads, FFN neurons, PEFT modules and ranks kept.")
    else:
        total = results.get("total_parameters")
        trainable = results.get("trainable_parameters")
        if total is None or trainable is None:
            return "results.json has no parameter counts"
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.barh([0, 1], [total, trainable], color=["tab:blue", "tab:green"], height=0.6)
        for i, v in enumerate([total, trainable]):
            ax.text(v, i, f" {human(v)}" + (f" ({100.0 * trainable / total:.3g}% of total)" if i == 1 and total else ""),
                    va="center", fontsize=9)
        ax.set_yticks([0, 1])
        ax.set_yticklabels(["total", "trainable"])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(max(1, min(total, trainable)) / 10, total * 30)
        ax.set_xlabel("parameters (log scale)")
        ax.set_title(f"Parameters ({results.get('method', '?')}: no pruning)")
        ax.grid(axis="x", alpha=0.3)
        caption = "Total and trainable parameters (the method does not prune)."
    fig.tight_layout()
    save(fig, out_dir, "parameters.png", figures, caption)
    return None


# ---- the index -----------------------------------------------------------------------------------


def fmt_value(v):
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def write_index(run_dir, out_dir, results, metrics, method, figures, notes):
    lines = []
    task = (results or {}).get("task") or read_config_value(os.path.join(run_dir, "config.yaml"), None, "task")
    lines.append(f"# Report: {task or '?'} / {method or '?'}")
    lines.append("")
    lines.append(f"Run directory: `{os.path.abspath(run_dir)}`")
    lines.append("")
    if results:
        model = results.get("model", "?")
        init = "random-init: results are not those of a pretrained model" if results.get("random_init") \
            else "pretrained"
        lines.append(f"- model: `{model}` ({init})")
        if "total_parameters" in results:
            lines.append(f"- parameters: {results['total_parameters']:,} total, "
                         f"{results.get('trainable_parameters', 0):,} trainable")
        pr = results.get("pruning")
        if pr:
            parts = []
            for k, lab in (("heads", "heads"), ("ffn_neurons", "FFN neurons"), ("peft_modules", "PEFT modules"),
                           ("lora_ranks", "ranks"), ("parameters", "parameters")):
                if k in pr:
                    parts.append(f"{lab} {pr[k][0]:,} -> {pr[k][1]:,}")
            lines.append("- pruning: " + ", ".join(parts))
            if pr.get("estimate_steps"):
                why = {"stable": "the pruning decisions were stable", "max_steps": "estimate_max_steps reached",
                       "fixed": "light_peft.estimate_steps"}.get(pr.get("estimate_stop"), pr.get("estimate_stop", ""))
                lines.append(f"- estimate: {pr['estimate_steps']} steps ({why})")
        elif method != "light-peft":
            lines.append(f"- pruning: none (method `{method}` has no estimate or prune stage)")
        if "finetune_seconds" in results:
            lines.append(f"- finetune: {results.get('finetune_steps', '?')} steps in "
                         f"{results['finetune_seconds']:.0f} s")
        lines.append("")
        lines.append("## Final dev metrics")
        lines.append("")
        lines.append("| metric | value |")
        lines.append("|---|---|")
        headline = results.get("headline_metric")
        dev = results.get("dev") or {}
        for k, v in dev.items():
            if "/" not in k:
                lines.append(f"| {k}{' (headline)' if k == headline else ''} | {fmt_value(v)} |")
        if "dev_loss" in results:
            lines.append(f"| loss | {fmt_value(results['dev_loss'])} |")
        if "best_dev_headline" in results:
            lines.append(f"| best {headline} (step {results.get('best_step', '?')}) | "
                         f"{fmt_value(results['best_dev_headline'])} |")
        lines.append("")
        per_set = {}  # task commonsense: "<set>/<metric>"
        for k, v in dev.items():
            if "/" in k:
                name, metric = k.split("/", 1)
                per_set.setdefault(name, {})[metric] = v
        if per_set:
            columns = sorted({m for v in per_set.values() for m in v})
            lines.append("Per evaluation set (the rows above are their means):")
            lines.append("")
            lines.append("| set | " + " | ".join(columns) + " |")
            lines.append("|---|" + "---|" * len(columns))
            for name, v in per_set.items():
                lines.append(f"| {name} | " + " | ".join(fmt_value(v[c]) if c in v else "" for c in columns) + " |")
            lines.append("")
    else:
        lines.append("No `results.json`: the run has not finished; the figures show what metrics.jsonl holds so far.")
        lines.append("")
    lines.append("## Figures")
    lines.append("")
    for name, caption in figures:
        title = os.path.splitext(name)[0].replace("_", " ")
        lines.append(f"### {title}")
        lines.append("")
        lines.append(caption)
        lines.append("")
        lines.append(f"[![{title}]({name})]({name})")
        lines.append("")
    if notes:
        lines.append("## Not drawn")
        lines.append("")
        for n in notes:
            lines.append(f"- {n}")
        lines.append("")
    path = os.path.join(out_dir, "index.md")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)
    return path


# ---- main ----------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description="PNG figures and an index.md of a lightpeft run")
    ap.add_argument("run_dir", help="output_dir of `lightpeft train`")
    ap.add_argument("--out", help="where to write (default: RUN_DIR/report)")
    args = ap.parse_args(argv)
    run = args.run_dir
    metrics_path = os.path.join(run, "metrics.jsonl")
    results_path = os.path.join(run, "results.json")
    if not os.path.exists(metrics_path) and not os.path.exists(results_path):
        print(f"report: {run}: not a lightpeft run (no metrics.jsonl or results.json)", file=sys.stderr)
        return 2
    out_dir = args.out or os.path.join(run, "report")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):  # a re-run replaces the report: no stale pictures of another method
        if f.endswith(".png"):
            os.remove(os.path.join(out_dir, f))

    metrics = read_metrics(metrics_path)
    results = read_json(results_path)
    config = os.path.join(run, "config.yaml")
    method = (results or {}).get("method") or read_config_value(config, None, "method")
    peft_kind = read_config_value(config, "light_peft", "peft") or "lora"

    figures, notes = [], []
    for name, fn in (("loss/learning-rate curves", lambda: figure_curves(metrics, out_dir, figures)),
                     ("dev-metric curves", lambda: figure_dev(metrics, results, out_dir, figures)),
                     ("estimate overlap", lambda: figure_estimate_overlap(metrics, results, out_dir, figures))):
        why = fn()
        if why:
            notes.append(f"{name}: {why}")
    if not metrics:
        notes.append("metrics.jsonl is missing or empty")

    plan = read_json(os.path.join(run, "prune", "pruning_plan.json"))
    if plan is None:
        imp = read_importance(os.path.join(run, "estimate", "importance.safetensors"))
        if imp is not None:
            plan = plan_from_importance(imp)
            notes.append("no prune/pruning_plan.json yet: importance figures come from "
                         "estimate/importance.safetensors, with nothing marked as pruned")
    if plan is not None:
        for name, fn in (("heads", lambda: figure_heads(plan, out_dir, figures)),
                         ("FFN neurons", lambda: figure_neurons(plan, out_dir, figures)),
                         ("PEFT modules", lambda: figure_modules(plan, out_dir, figures)),
                         ("ranks", lambda: figure_ranks(plan, out_dir, figures, peft_kind))):
            why = fn()
            if why:
                notes.append(f"{name}: {why}")
    elif method == "light-peft":
        notes.append("head, FFN-neuron, PEFT-module and rank figures: the estimate stage has not written "
                     "its importances yet (no estimate/ or prune/)")
    else:
        notes.append(f"head, FFN-neuron, PEFT-module and rank figures: method `{method}` does no pruning "
                     "(only light-peft runs estimate and prune stages)")

    why = figure_parameters(results, out_dir, figures)
    if why:
        notes.append(f"parameter counts: {why}")
    index = write_index(run, out_dir, results, metrics, method, figures, notes)
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
