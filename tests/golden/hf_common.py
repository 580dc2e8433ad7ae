"""What the golden generators share: the tiny models, their fixed inputs and Light-PEFT's masks on the
HF side.

Imported by tools/make_golden.py (the committed goldens in tests/golden/data) and by the test-time
generators beside this file (gen_models.py, gen_peft.py); not a generator itself (no gen_ prefix).
"""
import contextlib

import torch
from transformers import (BertConfig, BertForSequenceClassification, RobertaConfig,
                          RobertaForSequenceClassification)
from transformers.models.bert import modeling_bert
from transformers.models.roberta import modeling_roberta

# Odd sizes on purpose: head sizes 7 and 6, FFN widths that are no multiple of anything.
BERT_CONFIG = dict(vocab_size=99, hidden_size=28, num_hidden_layers=3, num_attention_heads=4,
                   intermediate_size=37, max_position_embeddings=32, type_vocab_size=2, num_labels=3)
ROBERTA_CONFIG = dict(vocab_size=87, hidden_size=30, num_hidden_layers=3, num_attention_heads=5,
                      intermediate_size=41, max_position_embeddings=34, type_vocab_size=1,
                      pad_token_id=1, num_labels=1)  # regression head: MSE loss


def tiny_model(arch: str, seed: int):
    """A random-init BertForSequenceClassification or RobertaForSequenceClassification (eager)."""
    torch.manual_seed(seed)
    if arch == "bert":
        return BertForSequenceClassification(BertConfig(**BERT_CONFIG, attn_implementation="eager"))
    return RobertaForSequenceClassification(RobertaConfig(**ROBERTA_CONFIG, attn_implementation="eager"))


def fixed_inputs(vocab: int, pad: int, seed: int, roberta: bool, batch=3, seq=11, lengths=(11, 7, 4)):
    """Seeded token ids with right padding (as our tokenizers produce) and, for BERT, two segments."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(pad + 2 if roberta else 1, vocab, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for b, length in enumerate(lengths):
        mask[b, length:] = 0
        ids[b, length:] = pad
    types = torch.zeros(batch, seq, dtype=torch.long)
    if not roberta:
        types[:, seq // 2:] = 1
        types = types * mask
    return ids, mask, types


def model_kwargs(ids, mask, types, roberta: bool):
    kwargs = dict(input_ids=ids, attention_mask=mask)
    if not roberta:
        kwargs["token_type_ids"] = types
    return kwargs


@contextlib.contextmanager
def light_peft_masks(model, head_masks, neuron_masks):
    """Light-PEFT's foundation masks on an HF BERT/RoBERTa, where lightpeft applies them
    (src/models/attention.cpp, src/models/encoder.cpp):
      head mask (1, H, 1, 1) of layer l multiplies the attention probabilities after softmax and
      dropout, before they weight the values;
      neuron mask (1, d_ff) multiplies the FFN activation (the output of `intermediate`, i.e.
      act(dense(x))) before the output projection.
    transformers 5 has no head_mask argument, so the eager attention function is wrapped."""
    layers = model.base_model.encoder.layer
    assert len(layers) == len(head_masks) == len(neuron_masks)
    originals = {m: m.eager_attention_forward for m in (modeling_bert, modeling_roberta)}

    def masked(original):
        def forward(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
            if scaling is None:
                scaling = query.size(-1) ** -0.5
            w = torch.matmul(query, key.transpose(2, 3)) * scaling
            if attention_mask is not None:
                w = w + attention_mask
            w = torch.nn.functional.softmax(w, dim=-1)
            w = torch.nn.functional.dropout(w, p=dropout, training=module.training)
            w = w * module.lp_head_mask
            out = torch.matmul(w, value).transpose(1, 2).contiguous()
            return out, w
        return forward

    hooks = []
    try:
        for m, original in originals.items():
            m.eager_attention_forward = masked(original)
        for layer, hm, nm in zip(layers, head_masks, neuron_masks):
            layer.attention.self.lp_head_mask = hm
            hooks.append(layer.intermediate.register_forward_hook(
                lambda mod, args, out, nm=nm: out * nm))
        yield
    finally:
        for m, original in originals.items():
            m.eager_attention_forward = original
        for h in hooks:
            h.remove()
        for layer in layers:
            if hasattr(layer.attention.self, "lp_head_mask"):
                del layer.attention.self.lp_head_mask
