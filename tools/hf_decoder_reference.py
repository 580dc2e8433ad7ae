#!/usr/bin/env python3
"""The HF transformers + peft reference row of the decoder study (tools/decoder_study.py): LoRA
fine-tuning of a causal LM on an LLM-Adapters commonsense set as `lightpeft train` does it, then
the same evaluation (tools/commonsense_reference.py's log-likelihood scoring and generation).

What is matched to lightpeft (tasks/causal_lm_encoding.h, the trainer's defaults):
  - the first --max-train rows of <set>/train.json; each row is the Alpaca prompt (LLM-Adapters'
    template, with or without input) and the response `output` + EOS, tokenized apart and
    concatenated after the tokenizer's own leading special tokens; labels -100 on the prompt;
    a row longer than --max-seq-length loses tokens from its start (the response is kept);
  - batches of --batch-size rows in a seeded random order, right-padded; the loss is the mean over
    the batch's response tokens (HF's shifted causal-LM loss);
  - AdamW (0.9, 0.999, 1e-8, no weight decay), --lr with HF's linear decay to 0 and no warmup,
    global-norm clipping at 1.0, --epochs epochs;
  - LoRA r 8, alpha 16, dropout 0.05 on --target-modules (HF PEFT's LoraConfig), fp32.
--max-train 0 trains nothing: the zero-shot row of HF transformers.

    python tools/hf_decoder_reference.py --model HF_FOLDER --data ../shared/data/commonsense \\
        --task arc_easy --max-train 256 --seed 42 --eval-limit 100 --generate 40 \\
        --transfer piqa,social_i_qa,winogrande --out runs/decoder_study/hf-lora-qv/arc_easy/seed42

Writes OUT/results.json with the keys lightpeft's results.json has for the study (headline_metric,
headline_value, dev, trainable_parameters, total_parameters, finetune_seconds,
finetune_samples_per_second, peak_cpu_rss_bytes) and `transfer` ({set: metrics}).
"""
import argparse
import json
import math
import pathlib
import random
import resource
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import commonsense_reference as ref  # noqa: E402


def encode_row(tok, lead, row, max_len):
    """(ids, labels) of one training row, as lightpeft's encode_turns builds them."""
    prompt = (ref.ALPACA_WITH_INPUT if row.get("input") else ref.ALPACA_NO_INPUT).format(**row)
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    r = tok(row["output"], add_special_tokens=False)["input_ids"]
    if tok.eos_token_id is not None:
        r = r + [tok.eos_token_id]
    room = max_len - len(lead)
    if len(p) + len(r) > room:  # drop tokens from the start; the response stays whole where it fits
        keep = max(0, room - len(r))
        p, r = p[len(p) - keep:] if keep else [], r[:room]
    return lead + p + r, [-100] * (len(lead) + len(p)) + r


def train(model, tok, torch, rows, args):
    lead = ref.leading_specials(tok)
    encoded = [encode_row(tok, lead, row, args.max_seq_length) for row in rows]
    steps_per_epoch = math.ceil(len(encoded) / args.batch_size)
    total = max(1, math.ceil(steps_per_epoch * args.epochs))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, (total - step) / total))
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    rng = random.Random(args.seed)
    model.train()
    step, samples, started = 0, 0, time.time()
    while step < total:
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for b in range(0, len(order), args.batch_size):
            if step >= total:
                break
            batch = [encoded[i] for i in order[b:b + args.batch_size]]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, (x, y) in enumerate(batch):
                ids[i, :len(x)], labels[i, :len(y)], mask[i, :len(x)] = torch.tensor(x), torch.tensor(y), 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            samples += len(batch)
            if step % 10 == 0 or step == total:
                elapsed = time.time() - started
                print(f"[hf finetune] step {step}/{total}  loss {loss.item():.4f}  {samples / elapsed:.1f} samples/s",
                      flush=True)
    model.eval()
    seconds = time.time() - started
    return seconds, samples / seconds if seconds > 0 else 0.0, step


def metrics_of(entry):
    return {k: entry[k] for k in ("accuracy", "accuracy_norm", "generation_accuracy") if k in entry}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=pathlib.Path, help="an HF folder (lightpeft's GGUF conversion)")
    ap.add_argument("--data", required=True, type=pathlib.Path, help="LLM-Adapters' commonsense folder")
    ap.add_argument("--task", required=True, choices=[s for s in ref.SETS])
    ap.add_argument("--max-train", type=int, default=256, help="the first N rows of train.json; 0: no training")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--max-seq-length", type=int, default=256)
    ap.add_argument("--target-modules", default="q_proj,v_proj")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--eval-limit", type=int, default=100, help="the first N questions of test.json")
    ap.add_argument("--generate", type=int, default=0, help="generation for the first N of them")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--transfer", default="", help="other sets evaluated (log-likelihood) on --transfer-limit questions")
    ap.add_argument("--transfer-limit", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, type=pathlib.Path)
    args = ap.parse_args()
    for name in filter(None, args.transfer.split(",")):
        if name not in ref.SETS:
            ap.error(f"--transfer: unknown set '{name}' (expected some of {', '.join(ref.SETS)})")
    train_file = args.data / ref.SETS[args.task][0] / "train.json"
    if args.max_train > 0 and not train_file.is_file():
        ap.error(f"--task {args.task}: no training file {train_file}")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    total_params = sum(p.numel() for p in model.parameters())
    result = {"task": args.task, "method": "lora" if args.max_train > 0 else "zero-shot", "seed": args.seed,
              "model": str(args.model), "trainable_parameters": 0, "total_parameters": total_params}
    if args.max_train > 0:
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, bias="none",
                                                 target_modules=args.target_modules.split(","),
                                                 task_type="CAUSAL_LM"))
        rows = json.loads(train_file.read_text())[:args.max_train]
        seconds, rate, steps = train(model, tok, torch, rows, args)
        result.update(trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
                      total_parameters=sum(p.numel() for p in model.parameters()),
                      finetune_seconds=seconds, finetune_samples_per_second=rate, finetune_steps=steps)
    started = time.time()
    dev = ref.evaluate_sets(model, tok, torch, args.data, [args.task], args.eval_limit, args.generate,
                            args.max_new_tokens)[args.task]
    result["eval_seconds"] = time.time() - started
    result["dev"] = metrics_of(dev)
    result["headline_metric"], result["headline_value"] = "accuracy", dev["accuracy"]
    result["examples"] = len(dev["questions"])
    transfer = [s for s in args.transfer.split(",") if s]
    if transfer:
        result["transfer"] = {k: metrics_of(v) for k, v in
                              ref.evaluate_sets(model, tok, torch, args.data, transfer, args.transfer_limit).items()}
    result["peak_cpu_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"dev accuracy: {dev['accuracy']:.4f} ({args.task}, {result['method']}, {result['examples']} questions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
