#pragma once
// Turning a finished `lightpeft train` run into files other programs load (docs/export.md). The base
// model is loaded again, pruned by the run's plan (light-peft), the run's adapter loaded; then one of
//   hf       what stock HF transformers loads with from_pretrained: every pruned attention unit and
//            MLP neuron written back as zero rows/columns at its original position
//            (pruning/unit_padding.h), so the shapes are the unpruned model's and the logits equal
//            lightpeft's. Exact, but no faster than the unpruned model in HF. The default.
//   compact  the pruned shapes, with per-layer unit counts in config.json
//            (num_attention_heads_per_layer / num_key_value_heads_per_layer,
//            intermediate_size_per_layer) that only lightpeft reads: the inference speed-up.
//   gguf     a merged llama-family causal LM as one GGUF file for llama.cpp (io/hf_gguf.h), F32,
//            F16 or Q8_0; its layers padded with zero units to the widest layer's shape (llama.cpp's
//            llama graph sizes every layer alike), or compact per-layer shapes on request.
// Merged (LoRA folded into the weights: a plain model), or unmerged: the base model (pruned as
// above, without the LoRA update) with the run's adapter beside it in <out>/adapter/, its LoRA A
// columns / B rows padded like the base (hf), so that HF PEFT's PeftModel.from_pretrained loads it
// on that base; rank-pruned modules keep their ranks through rank_pattern / alpha_pattern.
#include <filesystem>
#include <string>
#include <vector>

#include "lightpeft/io/gguf.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/pruning/unit_padding.h"

namespace lightpeft {

enum class ExportFormat { hf, compact, gguf };
std::string to_string(ExportFormat format);  // "hf", "compact", "gguf"
// Throws naming `origin` and listing the formats for anything else.
ExportFormat parse_export_format(const std::string& name, const std::string& origin);

// How a GGUF's layers are shaped: padded to the widest layer (what llama.cpp's llama graph loads),
// or each layer's own pruned shape (per-layer metadata arrays; lightpeft and the gguf package read
// it, llama.cpp's llama graph does not).
enum class GgufLayers { uniform, per_layer };
std::string to_string(GgufLayers layers);  // "uniform", "per-layer"
GgufLayers parse_gguf_layers(const std::string& name, const std::string& origin);

struct ExportOptions {
  ExportFormat format = ExportFormat::hf;
  bool merge = true;             // false: base model + adapter/ (hf, compact)
  std::string which = "final";   // the run's finetune/<which> (final or best)
  GgmlType gguf_type = GgmlType::F16;
  GgufLayers gguf_layers = GgufLayers::uniform;
};

// What an export is made from: a (pruned) fine-tuned model, how its layers looked before pruning,
// and the plan that pruned them.
struct ExportSource {
  PeftModel peft;                     // the pruned model with its PEFT layers in place (none for full)
  bool full_model = false;            // a full fine-tuning run: no adapter, nothing to merge
  std::vector<LayerUnits> unpruned;   // layer_units() of the model before pruning
  PruningPlan plan;                   // no layer decisions: no unit was pruned
  std::filesystem::path tokenizer_from;  // a model path whose tokenizer files go with the export
  std::string name;                   // names the export in logs (and GGUF's general.name)
};

// The run's model as export sees it. Throws lightpeft::Error naming the run for a folder that is
// not a run, a run that has not finished (no results.json) or has no finetune/<which>.
ExportSource load_export_source(const std::filesystem::path& run_dir, const std::string& which = "final");

// The fine-tuned model of a run with its PEFT modules in place (not merged). `which` is "final" or
// "best" (the adapter folders under output_dir/finetune).
PeftModel load_finetuned_run(const std::filesystem::path& run_dir, const std::string& which = "final");

// Writes `source` into `out` (a folder for hf and compact; the .gguf file for gguf, or
// <out>/model.gguf when `out` is a folder). Consumes source.peft (merged or unloaded). Throws
// lightpeft::Error, before writing anything, for: gguf of a non-llama family or of a model without
// a causal-LM head, gguf without merge, merge of bottleneck adapters (nonlinear), an unmerged
// export of a full fine-tuning run.
void export_model(ExportSource& source, const std::filesystem::path& out, const ExportOptions& options);

// load_export_source + export_model.
void export_run(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                const ExportOptions& options = {});

// export_run merged, in the default format (hf).
void export_merged_model(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                         const std::string& which = "final");

}  // namespace lightpeft
