// docs/configuration.md: the prose below around one table per schema section (config_schema.h).
#include "lightpeft/train/config_doc.h"

#include "config_schema.h"

namespace lightpeft {
namespace {

const char* kHead = R"(# Configuration reference (`lightpeft train --config FILE.yaml`)

<!-- Generated from the config schema (src/train/train_config.cpp) by `lightpeft config-doc`; edit the
schema, then run `./build/bin/lightpeft config-doc > docs/configuration.md`. -->

Every key below; anything else is an error naming the file, the line and the key, with the nearest
known key of that section suggested (`cfg.yaml:6: unknown key 'training.lerning_rate' (did you mean
'learning_rate'?)`) or, when nothing is close, the allowed keys listed. Keys follow HF
`TrainingArguments` names where one exists. Paths are relative to the working directory; a leading
`~/` is the home directory. Defaults are the Light-PEFT spec's (`scripts/*.sh` and
`NLU/arguments.py` of the official code). `configs/glue/*.yaml` and `configs/superglue/cb.yaml` spell
every default out for each task with data in `../shared/data`; `configs/glue_rte.yaml` is the small
CPU main job.

## Overrides on the command line

`train`, `eval`, `predict` and `prune` take `--set KEY=VALUE`, repeated; `KEY` is a dotted path
(`training.learning_rate`, `light_peft.estimate_steps`, `method`) and `VALUE` is read as YAML
(`1e-3`, `true`, `[query, value]`, or `query,value` for lists; empty restores the default). They are
applied in order to the YAML tree before validation, so every check applies to them, and an error
they cause names them:

```sh
lightpeft train --config configs/glue_rte.yaml --set training.learning_rate=1e-3 \
  --set light_peft.estimate_steps=20 --set method=lora
lightpeft train --config configs/glue_rte.yaml --set training.lerning_rate=1e-3
# error: --set training.lerning_rate: unknown key 'training.lerning_rate' (did you mean 'learning_rate'?)
```

The resolved config (overrides applied) is what `output_dir/config.yaml` records, so a run resumes
only with the same overrides; `eval`/`predict` need the overrides that change `output_dir` or the
model's shape (method, PEFT sections) to find the run.
)";

const char* kTail = R"(
## What a run writes

`output_dir/`: `config.yaml` (the resolved config), `train.log`, `metrics.jsonl`, `results.json`
(final dev metrics, `dev_loss`, parameter counts, `pruning` before/after for light-peft,
`estimate_seconds`, `finetune_seconds`, `total_seconds`, `finetune_samples_per_second`,
`eval_seconds` and `eval_samples_per_second` (the final dev pass: inference speed),
`peak_cpu_rss_bytes` (the run's peak resident set: the largest of `stage_peak_cpu_rss_bytes`, each
stage's own peak, Linux's VmHWM restarted between stages), `finetune_start_cpu_rss_bytes` (the
resident set with the model to fine-tune ready, before its first step: the part of the finetune
stage's peak that is not its training) and, on CUDA, `peak_cuda_allocated_bytes`
(torch's caching allocator, the finetune stage's)), `estimate/`, `prune/pruning_plan.json`, `finetune/{best,final}`.
`lightpeft eval` adds `eval_results.json`; `lightpeft predict --out FILE.tsv` writes GLUE's
submission format (`index<TAB>prediction`, labels as the task's files spell them, a number for
STS-B and regression). SQuAD (`task: squad`, `squad_v2`): `results.json`'s `dev` holds the official
`exact_match` and `f1` (0-100; v2 adds `total` and the `HasAns_*` / `NoAns_*` splits),
`dev_predictions.json` the dev answers (`{"question id": "answer text"}`, the file the official
evaluation script reads; v2 also `dev_null_odds.json`), `lightpeft eval` writes
`eval_predictions.json`, and `lightpeft predict --split test|dev --out FILE.json` the same JSON.

## Environment variables

| variable | default | meaning |
|---|---|---|
| `LIGHTPEFT_KERNELS` | `reference` | `fused`: CUDA tensors go through lightpeft's own kernels (`docs/kernels.md`); `reference`: LibTorch's ops. CPU runs always use LibTorch. The kernels have not yet run on a GPU, so `reference` stays the default; any other value is an error naming the variable |
| `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`, `SLURM_*`, `LIGHTPEFT_DIST_TIMEOUT` | | data-parallel launch (`docs/distributed.md`) |
)";

// A table cell: a '|' (as in |mask|) would end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void render(const config::SectionDoc& s, const std::string& path, std::string& out) {
  out += "\n## " + (path.empty() ? std::string("Top level") : "`" + path + ":`") +
         (s.heading.empty() ? "" : " " + s.heading) + "\n\n";
  if (!s.intro.empty()) out += s.intro + "\n\n";
  out += "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : s.keys)
    out += "| `" + k.name + "` | " + k.type + " | " + cell(k.default_value) + " | " + cell(k.allowed) + " | " +
           cell(k.doc) + " |\n";
  if (!s.outro.empty()) out += "\n" + s.outro + "\n";
  for (const auto* child : s.sections) render(*child, path.empty() ? child->name : path + "." + child->name, out);
}

}  // namespace

std::string config_reference_markdown() {
  std::string out = kHead;
  render(config::train_config_doc(), "", out);
  return out + kTail;
}

}  // namespace lightpeft
