#!/usr/bin/env python3
"""Loads a `lightpeft export --format hf` folder with stock HF transformers (and, with --adapter,
the exported adapter with HF PEFT) and compares the logits with lightpeft's.

Usage: check_hf_export.py MODEL_DIR EXPECTED.safetensors [--adapter ADAPTER_DIR] [--causal-lm]
EXPECTED holds input_ids, attention_mask, token_type_ids (optional) and logits. Exit status 0 when
from_pretrained loads every weight with no missing, unexpected or mismatched key and the logits
match (atol 1e-5), 1 otherwise.
"""
import argparse
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("expected")
    parser.add_argument("--adapter")
    parser.add_argument("--causal-lm", action="store_true")
    args = parser.parse_args()
    expected = load_file(args.expected)
    auto = AutoModelForCausalLM if args.causal_lm else AutoModelForSequenceClassification
    model, info = auto.from_pretrained(args.model_dir, attn_implementation="eager", output_loading_info=True)
    problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if problems:
        print(f"check_hf_export: from_pretrained did not load the folder cleanly: {problems}")
        return 1
    if args.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.adapter)
    model.eval()
    kwargs = dict(input_ids=expected["input_ids"], attention_mask=expected["attention_mask"])
    if "token_type_ids" in expected:
        kwargs["token_type_ids"] = expected["token_type_ids"]
    with torch.no_grad():
        logits = model(**kwargs).logits
    if logits.shape != expected["logits"].shape:
        print(f"check_hf_export: logits of shape {tuple(logits.shape)}, lightpeft's {tuple(expected['logits'].shape)}")
        return 1
    diff = (logits - expected["logits"]).abs().max().item()
    print(f"check_hf_export: {type(model).__name__}: max |HF - lightpeft| = {diff:.3g}")
    return 0 if diff <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
