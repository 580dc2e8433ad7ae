#!/usr/bin/env python3
"""tools/decoder_study.py, the driver of the decoder study (issue 26), against a stand-in
`lightpeft` (a script that records its command line and writes the results.json or
eval_results.json the real one would) on tiny data of its own: the commands of a training recipe
(train without generation, then one eval for generation and one per transfer set, all on the run's
folder) and of zero-shot (`eval --checkpoint base`, once whatever the seeds), what a record keeps,
that a run on record is not run again, that a failed run says where its log is and leaves no record,
what the report prints, and that bad arguments are refused up front. Nothing here trains a model.

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

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools/decoder_study.py"
spec = importlib.util.spec_from_file_location("decoder_study", TOOL)
study = importlib.util.module_from_spec(spec)
spec.loader.exec_module(study)

# A stand-in for build/bin/lightpeft: appends its argv to calls.jsonl beside the runs, exits with
# FAKE_RC if set; `train` writes results.json (accuracy from the seed, a pruning summary for
# light-peft), `eval` writes eval_results.json whose accuracy says which config (task) it ran.
FAKE_LIGHTPEFT = textwrap.dedent("""\
    #!{python}
    import json, os, pathlib, sys
    argv = sys.argv[1:]
    sets = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
    out = pathlib.Path(sets["output_dir"])
    with open(out.parent.parent.parent / "calls.jsonl", "a") as f:
        f.write(json.dumps(argv) + "\\n")
    if os.environ.get("FAKE_RC"):
        sys.exit(int(os.environ["FAKE_RC"]))
    task = pathlib.Path(argv[argv.index("--config") + 1]).stem
    code = {{"arc_easy": 0.1, "openbookqa": 0.2, "boolq": 0.3, "piqa": 0.6, "social_i_qa": 0.7, "winogrande": 0.8}}[task]
    out.mkdir(parents=True, exist_ok=True)
    gen = sets.get("commonsense.generation_eval") == "true"
    dev = {{"accuracy": code, "accuracy_norm": code / 2, "loss": 1.0}}
    if gen:
        dev.update(generation_accuracy=0.25, generation_no_answer=0.5)
    if argv[0] == "train":
        res = {{"headline_metric": "accuracy", "headline_value": code + int(sets["seed"]) / 1000, "dev": dev,
               "trainable_parameters": 10, "total_parameters": 100, "finetune_seconds": 5.0,
               "finetune_samples_per_second": 2.0, "peak_cpu_rss_bytes": 2 ** 30}}
        if sets["method"] == "light-peft":
            res["pruning"] = {{k: [8, 4] for k in ("heads", "ffn_neurons", "peft_modules", "lora_ranks", "parameters")}}
            res["estimate_seconds"] = 3.0
        (out / "results.json").write_text(json.dumps(res))
    else:
        (out / "eval_results.json").write_text(json.dumps({{
            "headline_metric": "accuracy", "headline_value": code, "dev": dev,
            "checkpoint": argv[argv.index("--checkpoint") + 1] if "--checkpoint" in argv else "final"}}))
    """)


def set_values(argv, key):
    """The values of `--set key=...` in a command line, in order."""
    return [argv[i + 1].split("=", 1)[1] for i in range(len(argv) - 1)
            if argv[i] == "--set" and argv[i + 1].startswith(key + "=")]


def config_of(argv):
    return pathlib.Path(argv[argv.index("--config") + 1]).stem


class DecoderStudyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="lp_decoder_study_"))
        self.data = self.tmp / "commonsense"
        for task, folder in study.TASKS.items():
            (self.data / folder).mkdir(parents=True)
            # 40 rows: 5 batches of 8.
            (self.data / folder / "train.json").write_text(json.dumps([{"instruction": "q", "output": "a"}] * 40))
        self.runs = self.tmp / "runs"
        self.records = self.tmp / "records.jsonl"
        self.fake = self.tmp / "lightpeft"
        self.fake.write_text(FAKE_LIGHTPEFT.format(python=sys.executable))
        self.fake.chmod(self.fake.stat().st_mode | stat.S_IXUSR)
        self.model = self.tmp / "model.gguf"
        self.model.write_text("not read by the stand-in")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def args(self, **over):
        return types.SimpleNamespace(**{
            "lightpeft": str(self.fake), "python": sys.executable, "model": self.model, "data": self.data,
            "runs": str(self.runs), "records": self.records, "max_train": 40, "epochs": 1, "batch_size": 8,
            "lr": 3e-4, "eval_limit": 100, "generate": 40, "transfer_limit": 50, "threads": 2,
            "seeds": "42", "tasks": "arc_easy", "cpu_shared": False, **over})

    def calls(self):
        f = self.runs / "calls.jsonl"
        return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

    def records_on_file(self):
        return [json.loads(l) for l in self.records.read_text().splitlines()] if self.records.exists() else []

    def test_a_training_recipe_trains_then_evaluates_generation_and_each_transfer_set(self):
        status = study.run_one(self.args(), "light-peft", "arc_easy", 43)
        self.assertTrue(status.startswith("accuracy 0.1430"), status)
        train, gen, *transfer = self.calls()
        self.assertEqual(train[0], "train")
        self.assertIn("--overwrite", train)
        self.assertEqual(set_values(train, "commonsense.generation_eval"), ["false"])
        self.assertEqual(set_values(train, "training.max_eval_samples"), ["100"])
        self.assertEqual(set_values(train, "training.max_train_samples"), ["40"])
        self.assertEqual(set_values(train, "seed"), ["43"])
        # 5 steps per epoch: half of it is 2, raised to the floor of 10.
        self.assertEqual(set_values(train, "light_peft.estimate_steps"), ["10"])
        self.assertEqual(set_values(train, "lora.target_modules"), ["[all-linear]"])
        self.assertEqual((gen[0], config_of(gen)), ("eval", "arc_easy"))
        self.assertEqual(set_values(gen, "commonsense.generation_eval"), ["true"])
        self.assertEqual(set_values(gen, "training.max_eval_samples"), ["40"])
        self.assertEqual([config_of(c) for c in transfer], study.TRANSFER)
        for c in [gen] + transfer:
            self.assertNotIn("--checkpoint", c)  # the run's final adapter
            self.assertEqual(set_values(c, "output_dir"), set_values(train, "output_dir"))
        self.assertEqual(set_values(transfer[0], "training.max_eval_samples"), ["50"])

        (rec,) = self.records_on_file()
        self.assertEqual((rec["recipe"], rec["task"], rec["seed"]), ("light-peft", "arc_easy", 43))
        self.assertEqual(rec["dev"], {"accuracy": 0.1, "accuracy_norm": 0.05, "generation_accuracy": 0.25,
                                      "generation_no_answer": 0.5})
        self.assertEqual(rec["transfer"]["piqa"]["accuracy"], 0.6)
        self.assertEqual(rec["transfer"]["winogrande"]["accuracy"], 0.8)
        self.assertEqual(rec["pruning"]["heads"], [8, 4])
        self.assertEqual(rec["study_budget"]["eval_limit"], 100)
        # On record: not run again.
        self.assertTrue(study.run_one(self.args(), "light-peft", "arc_easy", 43).startswith("on record"))
        self.assertEqual(len(self.calls()), 5)

    def test_zero_shot_evaluates_the_base_model_once_whatever_the_seeds(self):
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_run(self.args(seeds="42,43"), ["zero-shot", "lora-qv"])
        calls = self.calls()
        base = [c for c in calls if "--checkpoint" in c]
        self.assertEqual([c[c.index("--checkpoint") + 1] for c in base], ["base"] * 5)  # dev, gen, 3 transfer
        self.assertTrue(all(c[0] == "eval" for c in base))
        self.assertEqual([c[0] for c in calls].count("train"), 2)  # lora-qv at both seeds
        recs = self.records_on_file()
        self.assertEqual(sorted((r["recipe"], r["seed"]) for r in recs),
                         [("lora-qv", 42), ("lora-qv", 43), ("zero-shot", 42)])
        zero = next(r for r in recs if r["recipe"] == "zero-shot")
        self.assertEqual(zero["trainable_parameters"], 0)
        self.assertEqual(zero["headline_value"], 0.1)
        lora = next(r for r in recs if r["recipe"] == "lora-qv")
        self.assertEqual(set_values(next(c for c in calls if c[0] == "train"), "lora.target_modules"),
                         ["[q_proj, v_proj]"])
        self.assertNotIn("pruning", lora)

    def test_a_failed_run_names_its_log_and_leaves_no_record(self):
        os.environ["FAKE_RC"] = "3"
        try:
            status = study.run_one(self.args(), "lora-qv", "arc_easy", 42)
        finally:
            del os.environ["FAKE_RC"]
        self.assertTrue(status.startswith("FAILED (exit 3:"), status)
        self.assertIn(str(self.runs / "lora-qv/arc_easy/seed42.log"), status)
        self.assertEqual(self.records_on_file(), [])

    def test_report_cells_and_pruning_table(self):
        for seed in (42, 43, 44):
            study.run_one(self.args(), "light-peft", "arc_easy", seed)
        study.run_one(self.args(), "zero-shot", "arc_easy", 42)
        out = self.tmp / "report.md"
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_report(self.args(out=str(out)))
        text = out.read_text()
        # The cells read each record's dev metrics (0.1 at every seed here, whatever the headline) and
        # the transfer columns the transfer sets' metrics.
        # (the gen eval column is the stand-in's own wall time)
        self.assertRegex(text, r"\| light-peft \| 10.0 ± 0.0 \| 5.0 ± 0.0 \| 25.0 ± 0.0 \| 60.0 ± 0.0 \| 70.0 ± 0.0 \| "
                               r"80.0 ± 0.0 \| 10 \| 100 \| 5 \| 3 \| 2.00 \| \d+ \| 1024 \|")
        self.assertIn("| zero-shot | 10.0 | 5.0 | 25.0 | 60.0 | 70.0 | 80.0 | 0 |", text)
        self.assertIn("| light-peft | arc_easy | 44 | 8 -> 4 | 8 -> 4 | 8 -> 4 | 8 -> 4 | 8 -> 4 |", text)
        self.assertIn("first 40 rows of the set's train.json", text)
        self.assertIn(study.study_records.NOTES_MARKER, text)

    def test_all_evaluates_the_whole_test_files(self):
        args = self.args(eval_limit="all", generate="all", transfer_limit=0)
        study.run_one(args, "lora-qv", "openbookqa", 42)
        train, gen = self.calls()  # no transfer set with a limit of 0
        self.assertEqual(set_values(train, "training.max_eval_samples"), ["0"])  # lightpeft's "all"
        self.assertEqual(set_values(gen, "training.max_eval_samples"), ["0"])
        self.assertEqual(set_values(gen, "commonsense.generation_eval"), ["true"])
        (rec,) = self.records_on_file()
        self.assertEqual((rec["study_budget"]["eval_limit"], rec["study_budget"]["generate"]), ("all", "all"))
        # HF's reference takes counts: `all` is the set's test file's length.
        (self.data / "openbookqa" / "test.json").write_text(json.dumps([{"instruction": "q"}] * 7))
        self.assertEqual(study.hf_limit(args, "openbookqa", "all"), 7)
        self.assertEqual(study.hf_limit(args, "openbookqa", 5), 5)
        out = self.tmp / "report.md"
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_report(self.args(out=str(out)))
        text = out.read_text()
        self.assertIn("Evaluation on all questions of the set's test.json", text)
        self.assertIn("generate-and-extract on all of them", text)
        self.assertIn("no zero-shot transfer.", text)
        self.assertEqual(study.question_limit("all"), "all")
        self.assertEqual(study.question_limit("12"), 12)
        with self.assertRaisesRegex(Exception, "'-3' is neither a number of questions nor 'all'"):
            study.question_limit("-3")

    def report_of(self, records):
        """The report made from these records (written over the records file)."""
        self.records.write_text("".join(json.dumps(r) + "\n" for r in records))
        out = self.tmp / "report.md"
        with contextlib.redirect_stdout(io.StringIO()):
            study.cmd_report(self.args(out=str(out)))
        return out.read_text()

    def test_runs_that_shared_the_cpu_keep_their_metrics_but_not_their_times(self):
        study.run_one(self.args(), "lora-qv", "arc_easy", 42)
        study.run_one(self.args(cpu_shared=True), "lora-qv", "arc_easy", 43)
        records = self.records_on_file()
        self.assertNotIn("cpu_shared", records[0])
        self.assertTrue(records[1]["cpu_shared"])
        # The quiet run's finetune time stays; the shared one's would have made it 7.5.
        records[0]["finetune_seconds"] = 10.0
        text = self.report_of(records)
        self.assertRegex(text, r"\| lora-qv \| 10.0 ± 0.0 \(2 seeds\) \|.*\| 10 \| 100 \| 10 \|  \| 2.00 \|")
        self.assertIn("1 run shared the CPU with other work", text)

    def test_times_from_another_cpu_are_not_averaged_with_the_home_machines(self):
        for seed in (42, 43):
            study.run_one(self.args(), "lora-qv", "arc_easy", seed)
        study.run_one(self.args(), "lora-qv", "arc_easy", 44)
        study.run_one(self.args(), "light-peft", "arc_easy", 42)
        records = self.records_on_file()
        for r in records:
            r["machine"] = "vm: EPYC"
        # lora-qv seed 44 and the light-peft cell ran on another CPU, 3x as fast.
        records[2]["machine"] = records[3]["machine"] = "vm: Xeon"
        records[2]["finetune_seconds"] = records[3]["finetune_seconds"] = 1.7
        text = self.report_of(records)
        # lora-qv: the metric over all three seeds, the time from the two home runs only.
        self.assertRegex(text, r"\| lora-qv \| 10.0 ± 0.0 \|.*\| 10 \| 100 \| 5 \|  \| 2.00 \|")
        # light-peft: its only run is elsewhere, shown and marked.
        self.assertRegex(text, r"\| light-peft \| 10.0 \(1 seed\) \|.*\| 10 \| 100 \| 2 † \| 3 † \| 2.00 † \|")
        self.assertIn("Time columns: runs on vm: EPYC; a cell marked † has none there and shows its runs on vm: Xeon", text)

    def test_bad_arguments_are_refused_before_any_run(self):
        for argv, message in ((["run", "--recipes", "lora-qv,qlora"], "unknown recipe 'qlora'"),
                              (["run", "--tasks", "piqa"], "unknown task 'piqa'"),
                              (["run", "--seeds", "42,x"], "'x' is not an integer"),
                              (["run", "--data", str(self.tmp / "nowhere")], "no " + str(self.tmp / "nowhere"))):
            r = subprocess.run([sys.executable, str(TOOL), *argv, "--runs", str(self.runs), "--records",
                                str(self.records), "--lightpeft", str(self.fake), "--model", str(self.model)],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(message, r.stderr)
        self.assertEqual(self.calls(), [])

    def test_a_bad_record_is_refused_with_its_line(self):
        self.records.write_text(json.dumps({"recipe": "lora-qv", "task": "arc_easy", "seed": 42,
                                            "headline_value": 0.5}) + "\n" + '{"recipe": "lora-qv", "ta\n')
        with self.assertRaises(SystemExit) as e:
            study.read_records(self.records)
        self.assertIn(f"{self.records}:2: not a JSON object", str(e.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
