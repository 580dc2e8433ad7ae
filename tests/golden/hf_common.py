"""What the golden generators share: the tiny models (encoders and causal-LM decoders), their fixed
inputs and Light-PEFT's masks on the HF side.

Imported by tools/make_golden.py (the committed goldens in tests/golden/data) and by the test-time
generators beside this file (gen_models.py, gen_peft.py); not a generator itself (no gen_ prefix).
"""
import contextlib

import torch
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM, OPTConfig, OPTForCausalLM, RobertaConfig,
                          RobertaForSequenceClassification)
from transformers.models.bert import modeling_bert
from transformers.models.gpt2 import modeling_gpt2
from transformers.models.llama import modeling_llama
from transformers.models.opt import modeling_opt
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


# ---- decoders (causal LM) ----------------------------------------------------------------------
# Odd sizes again. llama: grouped-query attention (6 query heads read 2 KV heads: 2 attention units
# of 3 heads each), head_dim 6 from hidden / heads, tied lm_head, a rope_theta that is not 10000.
# opt: pre-LN, word_embed_proj_dim = hidden (no projections), tied. opt_proj: shaped like OPT-350m,
# post-LN (no final_layer_norm) with project_in/out (word_embed_proj_dim 20 != hidden 32), and an
# untied lm_head. gpt2: n_inner set, tied, Conv1D.
# The init std is large (0.2 rather than 0.02) so that logits are far from uniform: greedy
# generation then has clear winners, and every weight visibly matters.
DECODER_CONFIGS = {
    "llama": (LlamaConfig, LlamaForCausalLM, dict(
        vocab_size=97, hidden_size=36, num_hidden_layers=3, num_attention_heads=6,
        num_key_value_heads=2, intermediate_size=43, hidden_act="silu", max_position_embeddings=48,
        rope_theta=1234.5, rms_norm_eps=1e-5, tie_word_embeddings=True, initializer_range=0.2,
        pad_token_id=0, bos_token_id=1, eos_token_id=2)),
    "opt": (OPTConfig, OPTForCausalLM, dict(
        vocab_size=91, hidden_size=30, num_hidden_layers=2, num_attention_heads=5, ffn_dim=41,
        max_position_embeddings=40, word_embed_proj_dim=30, do_layer_norm_before=True,
        activation_function="relu", dropout=0.1, attention_dropout=0.1, init_std=0.2,
        pad_token_id=1, bos_token_id=2, eos_token_id=2)),
    "opt_proj": (OPTConfig, OPTForCausalLM, dict(
        vocab_size=83, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=37,
        max_position_embeddings=36, word_embed_proj_dim=20, do_layer_norm_before=False,
        tie_word_embeddings=False, init_std=0.2, pad_token_id=1, bos_token_id=2, eos_token_id=2)),
    "gpt2": (GPT2Config, GPT2LMHeadModel, dict(
        vocab_size=89, n_embd=28, n_layer=2, n_head=4, n_inner=39, n_positions=40,
        activation_function="gelu_new", initializer_range=0.2, bos_token_id=88, eos_token_id=88)),
}


def tiny_decoder(arch: str, seed: int):
    """A random-init causal LM (eager attention) whose norms and biases are perturbed too (HF
    initialises them to 1 and 0, which would hide a missing or misapplied one)."""
    config_cls, model_cls, kwargs = DECODER_CONFIGS[arch]
    torch.manual_seed(seed)
    model = model_cls(config_cls(**kwargs, attn_implementation="eager"))
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # LayerNorm / RMSNorm weights
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
    return model


def decoder_pad_id(config) -> int:
    """The id right padding uses: the pad token, or EOS where the config has none (GPT-2)."""
    return config.pad_token_id if config.pad_token_id is not None else config.eos_token_id


def decoder_layers(model):
    """The decoder layers of an HF causal LM (or its base model), and each layer's attention."""
    base = model.base_model
    if hasattr(base, "decoder"):  # OPTModel
        return [(layer, layer.self_attn) for layer in base.decoder.layers]
    if hasattr(base, "h"):  # GPT2Model
        return [(block, block.attn) for block in base.h]
    return [(layer, layer.self_attn) for layer in base.layers]  # LlamaModel


def _mlp_output_projection(layer):
    """The linear whose input is the MLP activation Light-PEFT's neuron mask multiplies:
    act(gate) * up for SwiGLU (down_proj), act(fc1) for OPT (fc2), act(c_fc) for GPT-2."""
    if hasattr(layer, "fc2"):
        return layer.fc2
    return layer.mlp.down_proj if hasattr(layer.mlp, "down_proj") else layer.mlp.c_proj


@contextlib.contextmanager
def decoder_light_peft_masks(model, head_masks, neuron_masks):
    """Light-PEFT's masks on an HF LLaMA / OPT / GPT-2, where lightpeft applies them
    (src/models/attention_core.cpp and the families' MLPs):
      head mask (1, U, 1, 1) of layer l has one entry per attention unit: a KV group for GQA,
      multiplying the probabilities (after softmax and dropout) of every query head of the group;
      a head for multi-head attention;
      neuron mask (1, d_ff) multiplies the input of the MLP's output projection (a forward pre-hook
      on down_proj / fc2 / mlp.c_proj, so the LoRA of that projection sees the masked input too).
    The families' eager attention functions are swapped for a masked one (transformers 5 has no
    head_mask), which is what the attention modules look up on every call."""
    layers = decoder_layers(model)
    assert len(layers) == len(head_masks) == len(neuron_masks)
    modules = (modeling_llama, modeling_opt, modeling_gpt2)
    originals = {m: m.eager_attention_forward for m in modules}

    def masked(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        groups = getattr(module, "num_key_value_groups", 1)
        key = modeling_llama.repeat_kv(key, groups)
        value = modeling_llama.repeat_kv(value, groups)
        if scaling is None:
            scaling = query.size(-1) ** -0.5
        w = torch.matmul(query, key.transpose(2, 3)) * scaling
        if attention_mask is not None:
            w = w + attention_mask
        w = torch.nn.functional.softmax(w, dim=-1, dtype=torch.float32).to(query.dtype)
        w = torch.nn.functional.dropout(w, p=dropout, training=module.training)
        w = w * module.lp_head_mask.repeat_interleave(groups, dim=1)
        out = torch.matmul(w, value).transpose(1, 2).contiguous()
        return out, w

    hooks = []
    try:
        for m in modules:
            m.eager_attention_forward = masked
        for (layer, attn), hm, nm in zip(layers, head_masks, neuron_masks):
            attn.lp_head_mask = hm
            hooks.append(_mlp_output_projection(layer).register_forward_pre_hook(
                lambda mod, args, nm=nm: (args[0] * nm,) + tuple(args[1:])))
        yield
    finally:
        for m, original in originals.items():
            m.eager_attention_forward = original
        for h in hooks:
            h.remove()
        for _, attn in layers:
            if hasattr(attn, "lp_head_mask"):
                del attn.lp_head_mask
