"""What the studies (tools/accuracy_study.py on encoders, tools/decoder_study.py on decoders) share:
their records (one JSON object per finished run, appended to a committed .jsonl file, so a run is
not lost with the machine it ran on and is not run again), cell statistics over seeds, and the
machine a run ran on."""
import datetime
import json
import math
import os
import pathlib
import platform

DEFAULT_PYTHON = pathlib.Path.home() / ".cache/lightpeft/venv/bin/python"

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTES_MARKER = "<!-- notes: written by hand below this line; `report` keeps them -->"


def read_records(path, recipes, tasks):
    """The records in PATH, one JSON object per line: a run (recipe, task, seed and its results) or,
    for runs whose folders were lost before records existed, a cell's summary (recipe, task, seeds,
    headline_mean, headline_sd, source). A line cut short or naming an unknown recipe or task is
    refused with its line number."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}:{n}: not a JSON object ({e.msg})")
        summary = "seeds" in rec
        need = ("recipe", "task") + (("seeds", "headline_mean", "headline_sd", "source") if summary
                                     else ("seed", "headline_value"))
        missing = [k for k in need if k not in rec]
        if missing:
            raise SystemExit(f"{path}:{n}: a {'summary' if summary else 'run'} record needs "
                             f"{', '.join(missing)}")
        if rec["recipe"] not in recipes or rec["task"] not in tasks:
            raise SystemExit(f"{path}:{n}: unknown recipe '{rec['recipe']}' or task '{rec['task']}'")
        records.append(rec)
    return records


def has_record(records, recipe, task, seed):
    return any(r["recipe"] == recipe and r["task"] == task and
               (r.get("seed") == seed or seed in r.get("seeds", [])) for r in records)


def append_record(path, recipe, task, seed, res, keys):
    """One line per finished run (the KEYS of its results), appended in one write and synced; a line
    cut short by a crash is refused with its line number by the next read_records, not skipped."""
    rec = {"recipe": recipe, "task": task, "seed": seed, "date": datetime.date.today().isoformat(),
           "machine": machine_description(), **{k: res[k] for k in keys if k in res}}
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def cell_stats(summary, values):
    """(n, mean, sample sd) of a cell: a summary's seeds pooled with single runs' values (Welford's
    update from the summary's n, mean and sum of squared deviations)."""
    n, mean, m2 = 0, 0.0, 0.0
    if summary:
        n, mean = len(summary["seeds"]), summary["headline_mean"]
        m2 = summary["headline_sd"] ** 2 * (n - 1)
    for x in values:
        n += 1
        d = x - mean
        mean += d / n
        m2 += d * (x - mean)
    return n, mean, math.sqrt(m2 / (n - 1)) if n > 1 else 0.0


def fmt_cell(n, mean, sd, scale=100.0, design=3):
    if n == 0:
        return ""
    if n == 1:
        return f"{mean * scale:.1f} (1 seed)"
    cell = f"{mean * scale:.1f} ± {sd * scale:.1f}"
    # Three seeds is the studies' design; say so when a cell has fewer or more.
    return cell if n == design else f"{cell} ({n} seeds)"


def machine_description():
    """The machine a run ran on, as its record and the report name it: host, cores, CPU model and
    its widest vector unit (fp32 timings, and bf16 autocast's speed, depend on AVX-512)."""
    model, flags = "CPU", set()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    return f"{platform.node()}: a {os.cpu_count()}-core {model}, {simd}"


def display_path(path):
    """PATH relative to the repository when it lies inside it (a report names its records file)."""
    path = pathlib.Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_report(out, lines):
    """Writes LINES to OUT, keeping what was written by hand below NOTES_MARKER in the old file."""
    out = pathlib.Path(out)
    kept = ""
    if out.exists() and NOTES_MARKER in out.read_text():
        kept = out.read_text().split(NOTES_MARKER, 1)[1]
    lines = lines + ["", NOTES_MARKER + kept.rstrip("\n")]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def add_study_arguments(ap, *, actions, model, data, runs, records, out, tasks, recipes):
    """The arguments both study drivers take (each adds its budget's own)."""
    ap.add_argument("action", choices=actions)
    ap.add_argument("--lightpeft", default=str(ROOT / "build/bin/lightpeft"))
    ap.add_argument("--python", type=pathlib.Path, default=DEFAULT_PYTHON)
    ap.add_argument("--model", type=pathlib.Path, default=model)
    ap.add_argument("--data", type=pathlib.Path, default=data)
    ap.add_argument("--runs", default=str(runs))
    ap.add_argument("--records", type=pathlib.Path, default=records)
    ap.add_argument("--tasks", default=",".join(tasks))
    ap.add_argument("--recipes", default=",".join(recipes))
    ap.add_argument("--seeds", default="42,43,44")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(out))


def check_names(ap, args, tasks, recipes):
    """Bad task or recipe names and seeds fail before hours of runs, not half-way through the study."""
    for name, known in (("task", tasks), ("recipe", recipes)):
        for value in getattr(args, name + "s").split(","):
            if value not in known:
                ap.error(f"--{name}s: unknown {name} '{value}' (expected one of: {', '.join(known)})")
    for value in args.seeds.split(","):
        if not value.strip().isdigit():
            ap.error(f"--seeds: '{value}' is not an integer (expected a comma-separated list such as 42,43,44)")


def budgets_and_machines(records, ignore=()):
    """The distinct budgets of RECORDS (their study_budget less the IGNOREd keys, as sorted JSON
    strings: more than one means the runs are not comparable) and {machine: {dates}}."""
    budgets = sorted({json.dumps({k: v for k, v in x["study_budget"].items() if k not in ignore}, sort_keys=True)
                      for x in records if "study_budget" in x})
    machines = {}
    for x in records:
        machines.setdefault(x.get("machine", "unknown machine"), set()).add(x.get("date", "?"))
    return budgets, machines


def machines_text(machines):
    return "; ".join(f"{m} ({', '.join(sorted(d))})" for m, d in sorted(machines.items()))
