#!/usr/bin/env python3
"""tools/parity_check.py and the replay of lightpeft's shuffle in tools/hf_reference.py: the
replayed std::mt19937_64 against the C++ standard's check value, the replayed permutation against
the golden of tests/data/batcher_test.cpp (read from that file, so the two cannot drift apart), the
starting checkpoint both programs load (HF layout, dropout off when asked), and the comparison of
the two step traces. Nothing here trains a model.

Run by ctest (tests/CMakeLists.txt) with the project's venv python (torch, transformers).
"""
import importlib.util
import json
import pathlib
import re
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hf_reference = load("hf_reference")
parity = load("parity_check")


class ShuffleReplayTest(unittest.TestCase):
    def test_mt19937_64_matches_the_standard(self):
        # [rand.predef]: the 10000th consecutive invocation of a default-constructed mt19937_64
        # (seed 5489) produces 9981545732273789042.
        rng = hf_reference.MT19937_64(5489)
        for _ in range(9999):
            rng()
        self.assertEqual(rng(), 9981545732273789042)

    def test_permutation_matches_the_cpp_golden(self):
        src = (ROOT / "tests/data/batcher_test.cpp").read_text()
        m = re.search(r"Batcher::permutation\((\d+), (\d+), (\d+)\), \(std::vector<int64_t>\{([\d, ]+)\}\)", src)
        self.assertIsNotNone(m, "the permutation golden in tests/data/batcher_test.cpp moved")
        n, seed, epoch = int(m.group(1)), int(m.group(2)), int(m.group(3))
        expected = [int(x) for x in m.group(4).split(",")]
        self.assertEqual(hf_reference.lightpeft_permutation(n, seed, epoch), expected)

    def test_every_epoch_is_a_new_permutation(self):
        orders = [hf_reference.lightpeft_permutation(1000, 42, e) for e in range(3)]
        for order in orders:
            self.assertEqual(sorted(order), list(range(1000)))
        self.assertNotEqual(orders[0], orders[1])
        self.assertNotEqual(orders[1], orders[2])
        self.assertNotEqual(orders[0], hf_reference.lightpeft_permutation(1000, 43, 0))


class StartCheckpointTest(unittest.TestCase):
    def tiny_base(self, d):
        from transformers import BertConfig, BertModel
        cfg = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16, max_position_embeddings=32)
        BertModel(cfg).save_pretrained(d)
        (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                                               [f"w{i}" for i in range(25)]) + "\n")

    def test_checkpoint_has_a_head_and_no_dropout(self):
        from safetensors import safe_open
        with tempfile.TemporaryDirectory() as t:
            base, out = pathlib.Path(t) / "base", pathlib.Path(t) / "start"
            self.tiny_base(base)
            parity.make_start_checkpoint(base, "mrpc", 42, dropout=False, out=out)
            cfg = json.loads((out / "config.json").read_text())
            self.assertEqual(cfg["hidden_dropout_prob"], 0.0)
            self.assertEqual(cfg["attention_probs_dropout_prob"], 0.0)
            self.assertEqual(cfg["classifier_dropout"], 0.0)
            with safe_open(str(out / "model.safetensors"), "pt") as f:
                keys = set(f.keys())
                self.assertEqual(tuple(f.get_tensor("classifier.weight").shape), (2, 8))
            self.assertIn("bert.embeddings.word_embeddings.weight", keys)
            self.assertTrue((out / "vocab.txt").is_file())

    def test_the_head_is_the_seeds_draw(self):
        from safetensors.torch import load_file
        with tempfile.TemporaryDirectory() as t:
            base = pathlib.Path(t) / "base"
            self.tiny_base(base)
            heads = {}
            for seed, name in ((42, "a"), (42, "b"), (43, "c")):
                parity.make_start_checkpoint(base, "stsb", seed, dropout=True, out=pathlib.Path(t) / name)
                heads[name] = load_file(str(pathlib.Path(t) / name / "model.safetensors"))["classifier.weight"]
            self.assertEqual(tuple(heads["a"].shape), (1, 8))  # STS-B: one regression output
            self.assertTrue(bool((heads["a"] == heads["b"]).all()))
            self.assertFalse(bool((heads["a"] == heads["c"]).all()))
            cfg = json.loads((pathlib.Path(t) / "a" / "config.json").read_text())
            self.assertEqual(cfg["hidden_dropout_prob"], 0.1)  # dropout on: the base's own


class CompareTest(unittest.TestCase):
    def test_differences(self):
        lp = {1: (0.70, 1e-4), 2: (0.60, 0.5e-4)}
        hf = {1: (0.70, 1e-4), 2: (0.63, 0.5e-4)}
        r = parity.compare(lp, hf)
        self.assertEqual(r["steps"], 2)
        self.assertAlmostEqual(r["max_abs_loss_diff"], 0.03)
        self.assertEqual(r["max_abs_loss_diff_step"], 2)
        self.assertAlmostEqual(r["mean_abs_loss_diff"], 0.015)
        self.assertEqual(r["max_abs_lr_diff"], 0.0)

    def test_traces_of_other_steps_are_refused(self):
        with self.assertRaisesRegex(SystemExit, "same steps: lightpeft 2, hf 1"):
            parity.compare({1: (0.7, 1e-4), 2: (0.6, 1e-4)}, {1: (0.7, 1e-4)})

    def test_lightpeft_trace_reads_finetune_training_steps_only(self):
        with tempfile.TemporaryDirectory() as t:
            d = pathlib.Path(t)
            lines = [{"stage": "finetune", "step": 1, "loss": 0.7, "learning_rate": 1e-4, "epoch": 0.03},
                     {"stage": "finetune", "step": 1, "eval_loss": 0.69, "accuracy": 0.5},
                     {"stage": "estimate", "step": 1, "loss": 0.9, "learning_rate": 1e-3}]
            (d / "metrics.jsonl").write_text("".join(json.dumps(l) + "\n" for l in lines))
            self.assertEqual(parity.lightpeft_trace(d), {1: (0.7, 1e-4)})


if __name__ == "__main__":
    unittest.main(verbosity=2)
