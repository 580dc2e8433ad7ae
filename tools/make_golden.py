#!/usr/bin/env python3
"""Writes the committed HF reference goldens in tests/golden/data (read by tests/parity).

For a tiny random-init BERT (3-way classification) and RoBERTa (regression), odd sizes, built by
tests/golden/hf_common.py, it writes into tests/golden/data/<arch>/:
  model/      the base model as HF save_pretrained writes it (config.json, model.safetensors, fp32)
  adapter/    a LoRA adapter saved by HF PEFT (PeftModel.save_pretrained), lora_B and the classifier
              copy perturbed so that every part matters
  expected.safetensors, for fixed padded inputs (eval mode, so no dropout):
    input_ids, attention_mask, token_type_ids, labels
    hidden_states.<i>, logits           the base model, every layer's hidden states
    lora.logits                         base + the PEFT adapter
    mask.<layer>.early_attn_mask/early_ffn_mask   Light-PEFT foundation masks (seeded, not all 1)
    masked.logits, masked.loss          base + adapter with the masks applied where lightpeft applies
                                        them (hf_common.light_peft_masks)
    grad.<adapter key>, grad.<mask key> gradients of masked.loss + l1_lambda * sum|masks|
    step<k>.loss, after.<adapter key>   3 AdamW steps on base + adapter (no masks), as lightpeft's
                                        trainer steps: lr * schedule multiplier, clip the global
                                        grad norm, AdamW with decay / no_decay groups
  golden.json   the LoRA and optimiser settings used (the C++ test reads them from here)

For four tiny random-init decoders with causal LM heads (hf_common.DECODER_CONFIGS: llama with
grouped-query attention and a tied lm_head, opt, opt_proj post-LN with project_in/out and an
untied lm_head as OPT-350m, gpt2 with Conv1D), make_decoder writes the same into
tests/golden/data/<arch>/, for right-padded inputs and labels = input_ids with -100 on padding and on a few prompt positions
(HF's causal LM loss shifts them inside the model):
  model/, adapter/ (LoRA on every linear of the family, CAUSAL_LM; GPT-2's with fan_in_fan_out)
  expected.safetensors: hidden_states.<i>, logits, loss; lora.logits; mask.* with one head mask
    per attention unit (a KV group for GQA) and masked.logits / masked.loss / grad.* as above
    (hf_common.decoder_light_peft_masks); step<k>.loss / after.*; and greedy generation:
    generate.input_ids / generate.attention_mask (left-padded prompts of different lengths) and
    generate.sequences (HF generate, do_sample=False, prompt + new tokens)
  choice_scores.safetensors (make_choice_scores, from the saved model/): log-likelihood scoring as
    lm-evaluation-harness computes it, for two questions of random token ids: score.<q>.context and
    score.<q>.continuation.<k> (ids), score.loglikelihood (float64, one per continuation in order:
    float32 log-softmax of the logits of the full sequence (context + continuation)[:-1], run alone,
    summed over the continuation's tokens) and score.greedy (1 where every continuation token is
    the argmax); read by tests/parity's choice scoring test (tasks/choice_scoring.h). Rewritten alone
    with --only-choice-scores (the rest of the folder stays as it is).

Deterministic (fixed seeds, CPU fp32). Regenerate, after changing this file or hf_common.py, with
  ~/.cache/lightpeft/venv/bin/python tools/make_golden.py
and commit tests/golden/data (bert/ and roberta/ come out byte-identical). The whole folder is
about 1.3 MB.
"""
import argparse
import copy
import json
import pathlib
import shutil
import sys

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "golden"))
import hf_common  # noqa: E402

OPTIM = dict(learning_rate=1e-2, weight_decay=0.05, adam_beta1=0.9, adam_beta2=0.98, adam_epsilon=1e-6,
             max_grad_norm=0.5, lr_scheduler_type="linear", warmup_steps=0, total_steps=4, steps=3)
L1_LAMBDA = 0.01


def adapter_key(name: str) -> str:
    """peft's parameter name -> the key peft writes to adapter_model.safetensors (and lightpeft's
    adapter_state_dict uses)."""
    return name.replace(".default", "").replace("modules_to_save.", "")


def lora_config(arch: str) -> LoraConfig:
    # Per-module rank and alpha patterns so that scaling differs between modules.
    return LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0,
                      target_modules=["query", "value", "intermediate.dense", "output.dense"],
                      rank_pattern={"layer.1.attention.self.value": 3},
                      alpha_pattern={"layer.2.output.dense": 5})


def perturb(peft_model, seed: int):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def trainable(peft_model):
    return [(adapter_key(n), p) for n, p in peft_model.named_parameters() if p.requires_grad]


def linear_multiplier(step: int) -> float:
    """HF get_linear_schedule_with_warmup (lightpeft's lr_multiplier)."""
    warm, total = OPTIM["warmup_steps"], OPTIM["total_steps"]
    if step < warm:
        return step / max(1, warm)
    return max(0.0, 1.0 - (step - warm) / max(1, total - warm))


def adamw_steps(peft_model, kwargs, labels, out: dict):
    params = trainable(peft_model)
    # lightpeft's default_param_groups: ".bias" and LayerNorm do not decay.
    decay = [p for n, p in params if not (n.endswith(".bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in params if n.endswith(".bias") or "LayerNorm" in n]
    lr = OPTIM["learning_rate"]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": OPTIM["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr,
                            betas=(OPTIM["adam_beta1"], OPTIM["adam_beta2"]), eps=OPTIM["adam_epsilon"],
                            foreach=False)
    for step in range(OPTIM["steps"]):
        loss = peft_model(**kwargs, labels=labels).loss
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = lr * linear_multiplier(step)
        torch.nn.utils.clip_grad_norm_([p for _, p in params], OPTIM["max_grad_norm"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        out[f"step{step}.loss"] = loss.detach().reshape(1)
    for n, p in params:
        out[f"after.{n}"] = p.detach().clone()


def make(arch: str, seed: int, out: pathlib.Path):
    roberta = arch == "roberta"
    cfg = hf_common.ROBERTA_CONFIG if roberta else hf_common.BERT_CONFIG
    if out.exists():
        shutil.rmtree(out)
    base = hf_common.tiny_model(arch, seed)
    base.eval()
    base.save_pretrained(out / "model", safe_serialization=True)
    pad = cfg.get("pad_token_id", 0)
    ids, mask, types = hf_common.fixed_inputs(cfg["vocab_size"], pad, seed + 1, roberta)
    kwargs = hf_common.model_kwargs(ids, mask, types, roberta)
    g = torch.Generator().manual_seed(seed + 2)
    if cfg["num_labels"] == 1:
        labels = torch.randn(ids.size(0), generator=g)
    else:
        labels = torch.randint(0, cfg["num_labels"], (ids.size(0),), generator=g)
    t = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels}

    with torch.no_grad():
        res = base(**kwargs, output_hidden_states=True)
    t["logits"] = res.logits
    for i, h in enumerate(res.hidden_states):
        t[f"hidden_states.{i}"] = h

    peft_model = get_peft_model(copy.deepcopy(base), lora_config(arch))
    perturb(peft_model, seed + 3)
    peft_model.save_pretrained(out / "adapter")
    (out / "adapter" / "README.md").unlink(missing_ok=True)  # peft's model-card stub
    # peft writes target_modules from a set (order varies with the hash seed): sort it.
    cfg_file = out / "adapter" / "adapter_config.json"
    adapter_cfg = json.loads(cfg_file.read_text())
    adapter_cfg["target_modules"] = sorted(adapter_cfg["target_modules"])
    cfg_file.write_text(json.dumps(adapter_cfg, indent=2, sort_keys=True) + "\n")
    peft_model.eval()
    with torch.no_grad():
        t["lora.logits"] = peft_model(**kwargs).logits

    heads, d_ff = cfg["num_attention_heads"], cfg["intermediate_size"]
    head_masks, neuron_masks = [], []
    for layer in range(cfg["num_hidden_layers"]):
        hm = (1.0 + 0.2 * torch.randn(1, heads, 1, 1, generator=g)).requires_grad_()
        nm = (1.0 + 0.2 * torch.randn(1, d_ff, generator=g)).requires_grad_()
        head_masks.append(hm)
        neuron_masks.append(nm)
        t[f"mask.layer.{layer}.early_attn_mask"] = hm.detach().clone()
        t[f"mask.layer.{layer}.early_ffn_mask"] = nm.detach().clone()
    hf_model = peft_model.base_model.model
    with hf_common.light_peft_masks(hf_model, head_masks, neuron_masks):
        res = peft_model(**kwargs, labels=labels)
    l1 = sum(m.abs().sum() for m in head_masks + neuron_masks)
    (res.loss + L1_LAMBDA * l1).backward()
    t["masked.logits"] = res.logits.detach()
    t["masked.loss"] = res.loss.detach().reshape(1)
    for n, p in trainable(peft_model):
        t[f"grad.{n}"] = p.grad.clone()
    for layer, (hm, nm) in enumerate(zip(head_masks, neuron_masks)):
        t[f"grad.layer.{layer}.early_attn_mask"] = hm.grad.clone()
        t[f"grad.layer.{layer}.early_ffn_mask"] = nm.grad.clone()

    # The finetune stage: the adapter as lightpeft loads it (from the peft files), 3 AdamW steps.
    trained = PeftModel.from_pretrained(copy.deepcopy(base), out / "adapter", is_trainable=True)
    trained.eval()  # no dropout, so both sides compute the same function
    adamw_steps(trained, kwargs, labels, t)

    save_file({k: v.contiguous() for k, v in t.items()}, str(out / "expected.safetensors"))
    (out / "golden.json").write_text(json.dumps(
        {"arch": arch, "l1_lambda": L1_LAMBDA, "optim": OPTIM,
         "trainable": [n for n, _ in trainable(trained)]}, indent=1) + "\n")


DECODER_TARGETS = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "opt": ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"],
    "gpt2": ["c_attn", "c_proj", "c_fc"],
}
# Per-module rank and alpha (HF get_pattern_key: "(.*\.)?key$"), so scalings differ.
DECODER_PATTERNS = {
    "llama": ({"layers.1.self_attn.k_proj": 3}, {"layers.2.mlp.down_proj": 5}),
    "opt": ({"layers.1.self_attn.v_proj": 3}, {"layers.0.fc2": 5}),
    "gpt2": ({"h.1.attn.c_attn": 3}, {"h.0.mlp.c_proj": 5}),
}
GENERATE = dict(max_new_tokens=8, prompt_lengths=(5, 9, 3))


def decoder_lora_config(arch: str) -> LoraConfig:
    family = arch.split("_")[0]
    ranks, alphas = DECODER_PATTERNS[family]
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=4, lora_alpha=8, lora_dropout=0.0,
                      target_modules=DECODER_TARGETS[family], rank_pattern=ranks, alpha_pattern=alphas,
                      fan_in_fan_out=family == "gpt2")


def decoder_inputs(vocab: int, pad: int, seed: int, batch=3, seq=11, lengths=(11, 7, 4)):
    """Right padding, as the trainer batches; labels -100 on padding and on the first tokens of
    two rows (a prompt the loss skips)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab - 1, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for b, length in enumerate(lengths):
        mask[b, length:] = 0
        ids[b, length:] = pad
    labels = ids.masked_fill(mask == 0, -100)
    labels[0, :3] = -100
    labels[1, :2] = -100
    return ids, mask, labels


def greedy_generation(base, vocab: int, pad: int, seed: int, t: dict):
    """HF greedy generation for left-padded prompts of different lengths (KV cache on). Refuses
    prompts whose top-2 logits come within 1e-3 at a step: a near-tie would test rounding."""
    g = torch.Generator().manual_seed(seed)
    lengths = GENERATE["prompt_lengths"]
    seq = max(lengths)
    ids = torch.full((len(lengths), seq), pad, dtype=torch.long)
    mask = torch.zeros(len(lengths), seq, dtype=torch.long)
    for b, length in enumerate(lengths):
        ids[b, seq - length:] = torch.randint(3, vocab - 1, (length,), generator=g)
        mask[b, seq - length:] = 1
    with torch.no_grad():
        out = base.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                            max_new_tokens=GENERATE["max_new_tokens"], pad_token_id=pad,
                            return_dict_in_generate=True, output_logits=True)
    gap = min(float((lambda top: (top[:, 0] - top[:, 1]).min())(step.topk(2, dim=-1).values))
              for step in out.logits)
    if gap < 1e-3:
        raise SystemExit(f"make_golden: greedy generation has a near-tie (top-2 gap {gap:.2e}); "
                         "change the generation seed")
    t["generate.input_ids"] = ids
    t["generate.attention_mask"] = mask
    t["generate.sequences"] = out.sequences


def make_decoder(arch: str, seed: int, out: pathlib.Path):
    if out.exists():
        shutil.rmtree(out)
    base = hf_common.tiny_decoder(arch, seed)
    base.eval()
    base.save_pretrained(out / "model", safe_serialization=True)
    cfg = base.config
    pad = hf_common.decoder_pad_id(cfg)
    ids, mask, labels = decoder_inputs(cfg.vocab_size, pad, seed + 1)
    kwargs = dict(input_ids=ids, attention_mask=mask)
    t = {"input_ids": ids, "attention_mask": mask, "labels": labels}

    with torch.no_grad():
        res = base(**kwargs, labels=labels, output_hidden_states=True)
    t["logits"] = res.logits
    t["loss"] = res.loss.reshape(1)
    for i, h in enumerate(res.hidden_states):
        t[f"hidden_states.{i}"] = h
    greedy_generation(base, cfg.vocab_size, pad, seed + 4, t)

    peft_model = get_peft_model(copy.deepcopy(base), decoder_lora_config(arch))
    perturb(peft_model, seed + 3)
    peft_model.save_pretrained(out / "adapter")
    (out / "adapter" / "README.md").unlink(missing_ok=True)
    cfg_file = out / "adapter" / "adapter_config.json"
    adapter_cfg = json.loads(cfg_file.read_text())
    adapter_cfg["target_modules"] = sorted(adapter_cfg["target_modules"])
    cfg_file.write_text(json.dumps(adapter_cfg, indent=2, sort_keys=True) + "\n")
    peft_model.eval()
    with torch.no_grad():
        t["lora.logits"] = peft_model(**kwargs).logits

    g = torch.Generator().manual_seed(seed + 2)
    layers = hf_common.decoder_layers(base)
    units = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    d_ff = getattr(cfg, "intermediate_size", None) or getattr(cfg, "ffn_dim", None) or cfg.n_inner
    head_masks, neuron_masks = [], []
    for layer in range(len(layers)):
        hm = (1.0 + 0.2 * torch.randn(1, units, 1, 1, generator=g)).requires_grad_()
        nm = (1.0 + 0.2 * torch.randn(1, d_ff, generator=g)).requires_grad_()
        head_masks.append(hm)
        neuron_masks.append(nm)
        t[f"mask.layer.{layer}.early_attn_mask"] = hm.detach().clone()
        t[f"mask.layer.{layer}.early_ffn_mask"] = nm.detach().clone()
    with hf_common.decoder_light_peft_masks(peft_model.base_model.model, head_masks, neuron_masks):
        res = peft_model(**kwargs, labels=labels)
    l1 = sum(m.abs().sum() for m in head_masks + neuron_masks)
    (res.loss + L1_LAMBDA * l1).backward()
    t["masked.logits"] = res.logits.detach()
    t["masked.loss"] = res.loss.detach().reshape(1)
    for n, p in trainable(peft_model):
        t[f"grad.{n}"] = p.grad.clone()
    for layer, (hm, nm) in enumerate(zip(head_masks, neuron_masks)):
        t[f"grad.layer.{layer}.early_attn_mask"] = hm.grad.clone()
        t[f"grad.layer.{layer}.early_ffn_mask"] = nm.grad.clone()

    trained = PeftModel.from_pretrained(copy.deepcopy(base), out / "adapter", is_trainable=True)
    trained.eval()
    adamw_steps(trained, kwargs, labels, t)

    save_file({k: v.contiguous() for k, v in t.items()}, str(out / "expected.safetensors"))
    (out / "golden.json").write_text(json.dumps(
        {"arch": arch, "model_type": cfg.model_type, "l1_lambda": L1_LAMBDA, "optim": OPTIM,
         "pad_token_id": pad, "generate": GENERATE,
         "trainable": [n for n, _ in trainable(trained)]}, indent=1) + "\n")


CHOICE_SCORES = dict(contexts=(5, 9), continuations=((1, 3, 2), (2, 4)))


def make_choice_scores(arch: str, seed: int, out: pathlib.Path):
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained(out / "model", dtype=torch.float32, attn_implementation="eager")
    base.eval()
    vocab = base.config.vocab_size
    g = torch.Generator().manual_seed(seed + 5)
    t, lls, greedy = {}, [], []
    for q, (n_ctx, lengths) in enumerate(zip(CHOICE_SCORES["contexts"], CHOICE_SCORES["continuations"])):
        ctx = torch.randint(3, vocab - 1, (n_ctx,), generator=g)
        t[f"score.{q}.context"] = ctx
        for k, n in enumerate(lengths):
            cont = torch.randint(3, vocab - 1, (n,), generator=g)
            t[f"score.{q}.continuation.{k}"] = cont
            seq = torch.cat([ctx, cont])[:-1].unsqueeze(0)
            with torch.no_grad():
                logp = torch.log_softmax(base(input_ids=seq).logits.float(), dim=-1)[0]
            picked = logp[torch.arange(n_ctx - 1, n_ctx - 1 + n), cont]
            lls.append(float(picked.double().sum()))
            greedy.append(int(bool((logp[n_ctx - 1:].argmax(-1) == cont).all())))
    t["score.loglikelihood"] = torch.tensor(lls, dtype=torch.float64)
    t["score.greedy"] = torch.tensor(greedy, dtype=torch.int64)
    save_file({k: v.contiguous() for k, v in t.items()}, str(out / "choice_scores.safetensors"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "tests" / "golden" / "data")
    ap.add_argument("--only-choice-scores", action="store_true",
                    help="rewrite only the decoders' choice_scores.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(1)
    decoders = (("llama", 20), ("opt", 21), ("opt_proj", 22), ("gpt2", 23))
    if args.only_choice_scores:
        for arch, seed in decoders:
            make_choice_scores(arch, seed, args.out / arch)
            print(f"make_golden: wrote {args.out / arch / 'choice_scores.safetensors'}")
        return 0
    for arch, seed in (("bert", 8), ("roberta", 9)):
        make(arch, seed, args.out / arch)
        print(f"make_golden: wrote {args.out / arch}")
    for arch, seed in decoders:
        make_decoder(arch, seed, args.out / arch)
        make_choice_scores(arch, seed, args.out / arch)
        print(f"make_golden: wrote {args.out / arch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
