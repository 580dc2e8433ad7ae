#!/usr/bin/env python3
"""Loads an adapter lightpeft wrote with HF PEFT and compares the logits with lightpeft's.

Usage: check_hf_peft.py BASE_MODEL_DIR ADAPTER_DIR EXPECTED.safetensors
EXPECTED holds input_ids, attention_mask, token_type_ids (optional) and logits. Exit status 0 when
PeftModel.from_pretrained loads the adapter and reproduces the logits (atol 1e-5), 1 otherwise.
"""
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification


def main() -> int:
    base_dir, adapter_dir, expected_file = sys.argv[1:4]
    expected = load_file(expected_file)
    base = AutoModelForSequenceClassification.from_pretrained(base_dir, attn_implementation="eager")
    model = PeftModel.from_pretrained(base, adapter_dir)
    model.eval()
    kwargs = dict(input_ids=expected["input_ids"], attention_mask=expected["attention_mask"])
    if "token_type_ids" in expected:
        kwargs["token_type_ids"] = expected["token_type_ids"]
    with torch.no_grad():
        logits = model(**kwargs).logits
    diff = (logits - expected["logits"]).abs().max().item()
    print(f"check_hf_peft: max |HF - lightpeft| = {diff:.3g}")
    return 0 if diff <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
