"""Reference adapters written by HF PEFT for the PEFT tests (tests/peft).

Tiny random-init BERT and RoBERTa classifiers saved in HF layout (the base, before wrapping), then
wrapped with peft LoraConfig (list targets with rank_pattern/alpha_pattern, a regex target with
rsLoRA, layers_to_transform; the classifier as modules_to_save), their zero-initialised lora_B and
the classifier copy perturbed with seeded noise, saved with PeftModel.save_pretrained, with the
eval-mode logits of the wrapped model for fixed padded inputs.
"""
import copy
import pathlib

import torch
import hf_common
from peft import LoraConfig, TaskType, get_peft_model
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, RobertaConfig,
                          RobertaForSequenceClassification)


def _inputs(vocab: int, pad: int, seed: int, roberta: bool):
    return hf_common.fixed_inputs(vocab, pad, seed, roberta, seq=10, lengths=(10, 6, 3))


def _perturb(peft_model, seed: int):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            # lora_B starts at zero and the saved classifier equals the base's: make both matter.
            if "lora_B" in name or "modules_to_save" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def _case(base, lora_config, out: pathlib.Path, inputs, roberta: bool, seed: int):
    peft_model = get_peft_model(copy.deepcopy(base), lora_config)
    _perturb(peft_model, seed)
    peft_model.save_pretrained(out)
    peft_model.eval()
    ids, mask, types = inputs
    kwargs = dict(input_ids=ids, attention_mask=mask)
    if not roberta:
        kwargs["token_type_ids"] = types
    with torch.no_grad():
        logits = peft_model(**kwargs).logits
    save_file({"logits": logits.contiguous(), "input_ids": ids, "attention_mask": mask,
               "token_type_ids": types}, str(out / "expected.safetensors"))


def main(out_dir: pathlib.Path, shared_dir):
    torch.manual_seed(2024)
    bert = BertForSequenceClassification(BertConfig(
        vocab_size=101, hidden_size=40, num_hidden_layers=3, num_attention_heads=4,
        intermediate_size=52, max_position_embeddings=64, num_labels=3, attn_implementation="eager"))
    bert.save_pretrained(out_dir / "bert_base", safe_serialization=True)
    inputs = _inputs(101, 0, 5, roberta=False)
    _case(bert, LoraConfig(
        task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.1,
        target_modules=["query", "key", "value", "output.dense", "intermediate.dense"],
        rank_pattern={"layer.1.attention.self.value": 2, "intermediate.dense": 6},
        alpha_pattern={"layer.2.output.dense": 3},
        modules_to_save=["classifier"]), out_dir / "bert_lora", inputs, False, 11)

    torch.manual_seed(2025)
    roberta = RobertaForSequenceClassification(RobertaConfig(
        vocab_size=120, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
        intermediate_size=50, max_position_embeddings=40, type_vocab_size=1, pad_token_id=1,
        num_labels=2, attn_implementation="eager"))
    roberta.save_pretrained(out_dir / "roberta_base", safe_serialization=True)
    inputs = _inputs(120, 1, 6, roberta=True)
    # A regex target (it would also match classifier.dense, which modules_to_save excludes).
    _case(roberta, LoraConfig(
        task_type=TaskType.SEQ_CLS, r=3, lora_alpha=5, use_rslora=True,
        target_modules=r".*\.(query|value|dense)", modules_to_save=["classifier"]),
        out_dir / "roberta_lora_regex", inputs, True, 12)
    _case(roberta, LoraConfig(
        task_type=TaskType.SEQ_CLS, r=2, lora_alpha=16, layers_to_transform=[1],
        target_modules=["query", "key", "value", "attention.output.dense", "intermediate.dense",
                        "output.dense"]),
        out_dir / "roberta_lora_layer1", inputs, True, 13)
