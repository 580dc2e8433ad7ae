#!/usr/bin/env python3
"""Writes the HF reference outputs the C++ tests compare against.

Run by ctest (fixture `golden`) with the project venv's python, so the reference is HF
transformers/tokenizers/peft as pinned in tools/requirements.txt, on inputs made here or read from
../shared. Every gen_*.py module beside this file contributes: it defines main(out_dir, shared_dir).
Regenerate by hand with:  <venv>/bin/python tests/golden/make_test_golden.py --out DIR --shared ../shared
"""
import argparse
import importlib.util
import pathlib
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument("--shared", type=pathlib.Path, default=None)
    ap.add_argument("--only", default=None, help="run only gen_<ONLY>.py")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shared = args.shared if args.shared and args.shared.is_dir() else None
    here = pathlib.Path(__file__).resolve().parent
    sys.path.insert(0, str(here))  # hf_common.py, shared with tools/make_golden.py
    for path in sorted(here.glob("gen_*.py")):
        name = path.stem[len("gen_"):]
        if args.only and name != args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sub = args.out / name
        sub.mkdir(parents=True, exist_ok=True)
        print(f"golden: {path.name} -> {sub}", flush=True)
        mod.main(sub, shared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
