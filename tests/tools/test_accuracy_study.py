#!/usr/bin/env python3
"""tools/accuracy_study.py, the driver of the accuracy study (issue 11), against a stand-in
`lightpeft` (a script that records its command line and writes a results.json) on tiny data of its
own: the command each recipe runs (the estimate's length above all), that a finished run is put on
record and not run again, even once its folder is gone, that a failed run says where its log is, what
the report prints from given records (a summarised cell pooled with single runs, one cost table per
machine), and that bad arguments and a bad records file are refused up front. Nothing here trains a
model: the study itself is hours of CPU.

Run by ctest (tests/CMakeLists.txt) with the project's venv python; standard library only.
"""
import contextlib
import importlib.util
import io
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import types
import unittest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools/accuracy_study.py"
spec = importlib.util.spec_from_file_location("accuracy_study", TOOL)
study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(study)

# A stand-in for build/bin/lightpeft: appends its argv to calls.jsonl beside the runs, exits with
# FAKE_RC if set, else writes the results.json lightpeft train would (headline from the seed). Handed
# tools/hf_reference.py's arguments (as --python), it writes that script's results.json at --out.
FAKE_LIGHTPEFT = textwrap.dedent("""\
    #!{python}
    import json, os, pathlib, sys
    sets = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a and not a.startswith("-"))
    if "--out" in sys.argv:  # called as the python, with tools/hf_reference.py's arguments
        sets["output_dir"] = sys.argv[sys.argv.index("--out") + 1]
        sets["seed"] = sys.argv[sys.argv.index("--seed") + 1]
    out = pathlib.Path(sets["output_dir"])
    with open(out.parent.parent.parent / "calls.jsonl", "a") as f:
        f.write(json.dumps(sys.argv[1:]) + "\\n")
    print("fake lightpeft ran")
    if os.environ.get("FAKE_RC"):
        sys.exit(int(os.environ["FAKE_RC"]))
    out.mkdir(parents=True, exist_ok=True)
    seed = int(sets["seed"])
    (out / "results.json").write_text(json.dumps({{
        "headline_metric": "accuracy", "headline_value": 0.5 + seed / 1000,
        "trainable_parameters": 10, "total_parameters": 100}}))
    """)


def set_values(argv, key):
    """The values of `--set key=...` in a command line, in order."""
    return [argv[i + 1].split("=", 1)[1] for i in range(len(argv) - 1)
            if argv[i] == "--set" and argv[i + 1].startswith(key + "=")]


class StudyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="lp_study_"))
        self.data = self.tmp / "data"
        sst2 = self.data / "glue/SST-2"
        sst2.mkdir(parents=True)
        # 400 rows + header: 13 batches of 32 per epoch.
        sst2.joinpath("train.tsv").write_text(
            "sentence\tlabel\n" + "".join(f"row {i}\t{i % 2}\n" for i in range(400)))
        self.runs = self.tmp / "runs"
        self.records = self.tmp / "records.jsonl"
        self.fake = self.tmp / "lightpeft"
        self.fake.write_text(FAKE_LIGHTPEFT.format(python=sys.executable))
        self.fake.chmod(self.fake.stat().st_mode | stat.S_IXUSR)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def args(self, **over):
        return types.SimpleNamespace(**{
            "lightpeft": str(self.fake), "python": sys.executable, "model": self.tmp / "model",
            "data": self.data, "max_train": 1000, "epochs": 3, "batch_size": 32, "dtype": "fp32",
            "threads": 2, "records": self.records, "runs": str(self.runs), **over})

    def records_on_file(self):
        return [json.loads(l) for l in self.records.read_text().splitlines()] if self.records.exists() else []

    def calls(self):
        f = self.runs / "calls.jsonl"
        return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

    def test_estimate_is_half_an_epoch_by_default_and_three_epochs_for_est3ep(self):
        self.assertTrue(study.run_one(self.args(), self.runs, "light-peft", "sst2", 42).startswith("accuracy 0.5420"))
        self.assertTrue(study.run_one(self.args(), self.runs, "light-peft-est3ep", "sst2", 42).startswith("accuracy"))
        default, long = self.calls()
        # 13 steps per epoch: half an epoch is 6, raised to the floor of 10; three epochs are 39.
        self.assertEqual(set_values(default, "light_peft.estimate_steps"), ["10"])
        self.assertEqual(set_values(long, "light_peft.estimate_steps"), ["39"])
        self.assertEqual(set_values(long, "method"), ["light-peft"])
        self.assertEqual(set_values(long, "training.max_train_samples"), ["1000"])
        res = json.loads((self.runs / "light-peft-est3ep/sst2/seed42/results.json").read_text())
        self.assertEqual(res["study_budget"]["train_rows"], 400)
        self.assertEqual(res["study_budget"]["epochs"], 3)

    def test_the_auto_estimate_runs_between_the_default_and_est3ep_lengths(self):
        study.run_one(self.args(), self.runs, "light-peft-auto", "sst2", 42)
        (argv,) = self.calls()
        # 13 steps per epoch: checked every 3 steps, at least the default's 10, at most est3ep's 39.
        self.assertEqual(set_values(argv, "light_peft.estimate_steps"), ["auto"])
        self.assertEqual(set_values(argv, "light_peft.estimate_check_steps"), ["3"])
        self.assertEqual(set_values(argv, "light_peft.estimate_min_steps"), ["10"])
        self.assertEqual(set_values(argv, "light_peft.estimate_max_steps"), ["39"])
        self.assertIn("estimate_steps auto", study.recipe_description(study.ALL_RECIPES["light-peft-auto"]))

    def test_a_recipes_own_settings_come_after_the_defaults(self):
        study.run_one(self.args(), self.runs, "light-peft-f20-m50", "sst2", 43)
        (argv,) = self.calls()
        self.assertEqual(set_values(argv, "light_peft.head_pruning_ratio"), ["0.2"])
        self.assertEqual(set_values(argv, "light_peft.module_pruning_ratio"), ["0.5"])
        self.assertEqual(set_values(argv, "seed"), ["43"])
        # lightpeft applies --set in order: the recipe's must follow the driver's own.
        self.assertGreater(argv.index("light_peft.module_pruning_ratio=0.5"),
                           argv.index("light_peft.estimate_steps=10"))

    def test_the_six_epoch_control_overrides_the_studys_epochs(self):
        study.run_one(self.args(), self.runs, "lora-qv-6ep", "sst2", 42)
        (argv,) = self.calls()
        # The driver's 3 epochs first, the control's 6 last (the last --set wins).
        self.assertEqual(set_values(argv, "training.num_train_epochs"), ["3", "6"])
        self.assertEqual(set_values(argv, "lora.target_modules"), ["[query, value]"])
        self.assertEqual(set_values(argv, "light_peft.estimate_steps"), ["10"])  # unused by lora

    def test_a_finished_run_is_not_run_again(self):
        study.run_one(self.args(), self.runs, "lora-qv", "sst2", 42)
        self.assertEqual(study.run_one(self.args(), self.runs, "lora-qv", "sst2", 42), "cached")
        self.assertEqual(len(self.calls()), 1)

    def test_a_finished_run_is_on_record_and_not_run_again_once_its_folder_is_gone(self):
        study.run_one(self.args(), self.runs, "lora-qv", "sst2", 43)
        (rec,) = self.records_on_file()
        self.assertEqual((rec["recipe"], rec["task"], rec["seed"]), ("lora-qv", "sst2", 43))
        self.assertAlmostEqual(rec["headline_value"], 0.543)
        self.assertEqual(rec["trainable_parameters"], 10)
        self.assertEqual(rec["study_budget"]["train_rows"], 400)
        self.assertEqual(rec["machine"], study.machine_description())
        self.assertIn("-core ", rec["machine"])
        shutil.rmtree(self.runs / "lora-qv")
        self.assertEqual(study.run_one(self.args(), self.runs, "lora-qv", "sst2", 43),
                         f"on record ({self.records})")
        self.assertEqual(len(self.calls()), 1)
        self.assertEqual(len(self.records_on_file()), 1)
        # A seed inside a summarised cell is on record too.
        with open(self.records, "a") as f:
            f.write(json.dumps(dict(recipe="full", task="sst2", seeds=[42, 43, 44], headline_mean=0.8,
                                    headline_sd=0.01, source="an earlier report")) + "\n")
        self.assertTrue(study.run_one(self.args(), self.runs, "full", "sst2", 44).startswith("on record"))
        self.assertEqual(len(self.calls()), 1)

    def test_a_bad_records_file_names_its_line(self):
        self.records.write_text(json.dumps(dict(recipe="full", task="sst2", seed=42, headline_value=0.8)) + "\n"
                                + "\n" + '{"recipe": "full", "task": "sst2", "seed": 43}\n')
        with self.assertRaises(SystemExit) as e:
            study.run_one(self.args(), self.runs, "full", "sst2", 44)
        self.assertEqual(str(e.exception), f"{self.records}:3: a run record needs headline_value")
        self.records.write_text('{"recipe": "full", "task": "sst2", "seed": 42, \n')
        with self.assertRaises(SystemExit) as e:
            study.read_records(self.records)
        self.assertTrue(str(e.exception).startswith(f"{self.records}:1: not a JSON object"), str(e.exception))
        self.records.write_text(json.dumps(dict(recipe="lora-kv", task="sst2", seed=42, headline_value=0.8)) + "\n")
        with self.assertRaises(SystemExit) as e:
            study.read_records(self.records)
        self.assertEqual(str(e.exception), f"{self.records}:1: unknown recipe 'lora-kv' or task 'sst2'")
        self.assertEqual(self.calls(), [])

    def test_a_failed_run_names_its_log_and_leaves_no_result(self):
        os.environ["FAKE_RC"] = "3"
        try:
            status = study.run_one(self.args(), self.runs, "full", "sst2", 42)
        finally:
            del os.environ["FAKE_RC"]
        log = self.runs / "full/sst2/seed42.log"
        self.assertEqual(status, f"FAILED ({log})")
        self.assertFalse((self.runs / "full/sst2/seed42/results.json").exists())
        self.assertEqual(self.records_on_file(), [])
        text = log.read_text()
        self.assertTrue(text.startswith("+ " + str(self.fake) + " train"), text)
        self.assertIn("fake lightpeft ran", text)
        # Not cached: the next call runs it again.
        study.run_one(self.args(), self.runs, "full", "sst2", 42)
        self.assertEqual(len(self.calls()), 2)

    def write_result(self, recipe, task, seed, value, **extra):
        d = self.runs / recipe / task / f"seed{seed}"
        d.mkdir(parents=True)
        d.joinpath("results.json").write_text(json.dumps(dict(
            headline_value=value, trainable_parameters=1234, total_parameters=56789,
            finetune_seconds=10.0, study_budget=dict(max_train=1000, epochs=3, batch_size=32,
                                                     dtype="fp32", threads=2), **extra)))

    def test_report_cells_say_mean_spread_and_how_many_seeds(self):
        for seed, v in ((42, 0.80), (43, 0.81), (44, 0.79)):
            self.write_result("full", "sst2", seed, v)
        self.write_result("lora-qv", "sst2", 42, 0.7)
        self.write_result("lora-qv", "cb", 42, 0.5)
        for seed, v in ((42, 0.60), (43, 0.64)):
            self.write_result("light-peft-est3ep", "sst2", seed, v)
        out = self.tmp / "accuracy.md"
        out.write_text("old tables\n" + study.NOTES_MARKER + "\nhand-written findings\n")
        with contextlib.redirect_stdout(io.StringIO()):  # the report is also printed
            study.cmd_report(self.args(runs=str(self.runs), out=str(out)))
        text = out.read_text()
        dev_table = text.split("## Dev metric", 1)[1].split("\n\n")[1]
        rows = {l.split(" | ")[0].strip("| "): l for l in dev_table.splitlines()}
        self.assertIn("| sst2 | cb | mean |", text)
        self.assertEqual(rows["full"], "| full | 80.0 ± 1.0 |  |  |")  # no cb: no mean
        self.assertEqual(rows["lora-qv"], "| lora-qv | 70.0 (1 seed) | 50.0 (1 seed) | 60.0 |")
        self.assertEqual(rows["light-peft-est3ep"], "| light-peft-est3ep | 62.0 ± 2.8 (2 seeds) |  |  |")
        self.assertIn("- `light-peft-est3ep`: lightpeft train, method light-peft, lr 0.001, estimate 3 epochs", text)
        self.assertNotIn("old tables", text)
        self.assertTrue(text.endswith(study.NOTES_MARKER + "\nhand-written findings\n"), text[-200:])
        # The runs' folders were put on record: the report is the same without them.
        self.assertEqual(len(self.records_on_file()), 7)
        shutil.rmtree(self.runs)
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_report(self.args(runs=str(self.runs), out=str(out)))
        self.assertEqual(out.read_text().split("## Dev metric")[1], text.split("## Dev metric")[1])

    def report_rows(self, out):
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_report(self.args(out=str(out)))
        text = out.read_text()
        dev_table = text.split("## Dev metric", 1)[1].split("\n\n")[1]
        return text, {l.split(" | ")[0].strip("| "): l for l in dev_table.splitlines()}

    def test_report_says_how_long_each_auto_estimate_ran_and_why_it_stopped(self):
        budget = dict(max_train=1000, epochs=3, batch_size=32, dtype="fp32", threads=2)
        here, there = "here: a 2-core X, AVX-512", "there: a 2-core X, AVX2 only"
        run = lambda recipe, seed, v, machine, wall, **extra: dict(  # noqa: E731
            recipe=recipe, task="sst2", seed=seed, headline_value=v, machine=machine, wall_seconds=wall,
            study_budget=budget, **extra)
        recs = [run("light-peft-auto", 42, 0.78, here, 130.0, pruning=dict(estimate_steps=96, estimate_stop="max_steps")),
                run("light-peft-auto", 43, 0.80, here, 110.0, pruning=dict(estimate_steps=40, estimate_stop="stable")),
                run("light-peft-auto-jaccard", 42, 0.785, here, 200.0,
                    pruning=dict(estimate_steps=96, estimate_stop="max_steps")),
                run("lora-qv", 42, 0.77, here, 90.0),
                run("lora-qv", 43, 0.79, there, 500.0)]  # another machine: its time is left out
        self.records.write_text("".join(json.dumps(r) + "\n" for r in recs))
        text, _ = self.report_rows(self.tmp / "accuracy.md")
        section = text.split("## The estimate's length chosen by the data (light-peft-auto)")[1].split("\n## ")[0]
        self.assertIn(f"({here}; blank: none there)", section)
        rows = [l for l in section.splitlines() if l.startswith("| sst2 |")]
        # One row per recipe on record, HF LoRA-qv's wall time the yardstick (none here: no ratio);
        # lora-qv's time is the mean of its runs on the auto runs' machine only.
        self.assertEqual(rows, ["| sst2 | lora-qv |  | 78.0 ± 1.4 (2 seeds) | 90 |  |",
                                "| sst2 | light-peft-auto-jaccard | 96 (max_steps) | 78.5 (1 seed) | 200 |  |",
                                "| sst2 | light-peft-auto | 96 (max_steps), 40 (stable) | 79.0 ± 1.4 (2 seeds) | 120 |  |"])
        recs.append(run("hf-lora-qv", 42, 0.775, here, 150.0))
        self.records.write_text("".join(json.dumps(r) + "\n" for r in recs))
        text, _ = self.report_rows(self.tmp / "accuracy.md")
        section = text.split("## The estimate's length chosen by the data (light-peft-auto)")[1].split("\n## ")[0]
        rows = [l for l in section.splitlines() if l.startswith("| sst2 |")]
        self.assertEqual(rows[0], "| sst2 | hf-lora-qv |  | 77.5 (1 seed) | 150 | 1.00 |")
        self.assertEqual(rows[-1], "| sst2 | light-peft-auto | 96 (max_steps), 40 (stable) | 79.0 ± 1.4 (2 seeds) | 120 | 0.80 |")

    def test_report_pools_a_summarised_cell_with_single_runs_and_counts_each_seed_once(self):
        budget = dict(max_train=1000, epochs=3, batch_size=32, dtype="fp32", threads=2)
        recs = [
            # Seeds 42 and 43 known only as a summary (mean 0.5, sd 0.1), seed 44 as a run.
            dict(recipe="full", task="rte", seeds=[42, 43], headline_mean=0.5, headline_sd=0.1,
                 source="an earlier report", machine="old: a 2-core X, AVX2 only", study_budget=budget),
            dict(recipe="full", task="rte", seed=44, headline_value=0.8, machine="new: a 2-core X, AVX-512",
                 finetune_seconds=100.0, trainable_parameters=5, total_parameters=7, peak_cpu_rss_bytes=2**30,
                 study_budget=dict(budget, train_rows=1000)),  # a task's own row count is not the budget
            # A run of a seed the summary covers is not counted twice.
            dict(recipe="full", task="rte", seed=43, headline_value=0.9, machine="old: a 2-core X, AVX2 only",
                 finetune_seconds=300.0, trainable_parameters=5, total_parameters=7, study_budget=budget),
        ]
        self.records.write_text("".join(json.dumps(r) + "\n" for r in recs))
        text, rows = self.report_rows(self.tmp / "accuracy.md")
        # Values 0.5 -+ 0.1/sqrt(2) and 0.8: mean 0.6, sample sd sqrt(0.07 / 2) = 0.187.
        self.assertEqual(rows["full"], "| full | 60.0 ± 18.7 | 60.0 |")
        self.assertIn("(2 runs, 1 cell summarised", text)
        # One cost table per machine: their times are not comparable.
        self.assertIn("## Cost (rte; new: a 2-core X, AVX-512)\n", text)
        self.assertIn("## Cost (rte; old: a 2-core X, AVX2 only)\n", text)
        new_cost = text.split("## Cost (rte; new: a 2-core X, AVX-512)")[1].split("\n\n")[1]
        self.assertIn("| full | 5 | 7 | 100 | 0 | 0.0 | 0.0 | 1024 | 1 |", new_cost)
        self.assertNotIn("runs on record do not share one budget", text)
        recs.append(dict(recipe="lora-qv", task="rte", seed=42, headline_value=0.6, study_budget=dict(budget, epochs=6)))
        self.records.write_text("".join(json.dumps(r) + "\n" for r in recs))
        text, rows = self.report_rows(self.tmp / "accuracy.md")
        self.assertIn("**The runs on record do not share one budget**", text)

    def run_tool(self, *argv):
        return subprocess.run([sys.executable, str(TOOL), *argv, "--data", str(self.data),
                               "--lightpeft", str(self.fake), "--runs", str(self.runs),
                               "--records", str(self.records)],
                              capture_output=True, text=True)

    def test_bad_arguments_are_refused_before_any_run(self):
        cases = [
            (["run", "--tasks", "sst2,sst3"], "--tasks: unknown task 'sst3' (expected one of: sst2, cola,"),
            (["sweep", "--recipes", "light-peft-f10"], "--recipes: unknown recipe 'light-peft-f10'"),
            (["run", "--seeds", "42,4x"], "--seeds: '4x' is not an integer"),
            (["run", "--seeds", "42,--5"], "--seeds: '--5' is not an integer"),
            (["run", "--tasks", "cb"], "task cb: no training file " + str(self.data / "superglue/CB/train.jsonl")),
        ]
        for argv, message in cases:
            with self.subTest(argv=argv):
                p = self.run_tool(*argv)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(message, p.stderr)
        p = subprocess.run([sys.executable, str(TOOL), "run", "--tasks", "sst2", "--data", str(self.data),
                            "--lightpeft", str(self.tmp / "no-such-binary"), "--runs", str(self.runs),
                            "--records", str(self.records)],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--lightpeft: " + str(self.tmp / "no-such-binary") + " is not an executable", p.stderr)
        self.assertEqual(self.calls(), [])
        p = subprocess.run([sys.executable, str(TOOL), "run", "--tasks", "sst2", "--data", str(self.data),
                            "--recipes", "hf-full", "--python", str(self.tmp / "no-such-python"),
                            "--runs", str(self.runs), "--records", str(self.records)],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--python: " + str(self.tmp / "no-such-python") + " is not an executable", p.stderr)

    def test_hf_only_runs_need_no_lightpeft_build(self):
        # The stand-in serves as the python too: it is handed tools/hf_reference.py's arguments.
        p = subprocess.run([sys.executable, str(TOOL), "run", "--tasks", "sst2", "--data", str(self.data),
                            "--recipes", "hf-full", "--seeds", "42", "--python", str(self.fake),
                            "--lightpeft", str(self.tmp / "no-such-binary"), "--runs", str(self.runs),
                            "--records", str(self.records)],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("hf-full", p.stdout)
        self.assertEqual([r["recipe"] for r in self.records_on_file()], ["hf-full"])

    def test_run_goes_through_seeds_tasks_and_recipes(self):
        p = self.run_tool("run", "--tasks", "sst2", "--recipes", "full,lora-qv", "--seeds", "42,43")
        self.assertEqual(p.returncode, 0, p.stderr)
        runs = sorted((set_values(a, "method")[0], set_values(a, "seed")[0]) for a in self.calls())
        self.assertEqual(runs, [("full", "42"), ("full", "43"), ("lora", "42"), ("lora", "43")])
        self.assertEqual(p.stdout.count(": accuracy 0.54"), 4, p.stdout)
        self.assertEqual(len(self.records_on_file()), 4)

    def test_run_puts_a_run_finished_before_records_existed_on_record(self):
        self.write_result("full", "sst2", 42, 0.7)
        p = self.run_tool("run", "--tasks", "sst2", "--recipes", "full", "--seeds", "42,43")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([set_values(a, "seed") for a in self.calls()], [["43"]])
        self.assertIn("sst2  seed 42: cached", p.stdout)
        recs = {(r["recipe"], r["seed"]): r["headline_value"] for r in self.records_on_file()}
        self.assertEqual(recs, {("full", 42): 0.7, ("full", 43): 0.543})


if __name__ == "__main__":
    unittest.main(verbosity=2)
