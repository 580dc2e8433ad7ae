#pragma once
// Turning a finished `lightpeft train` run into a plain HF-layout model: the base model is loaded
// again, pruned by the run's plan (light-peft), the run's adapter loaded and LoRA merged into the
// weights. The result loads in lightpeft (and, unpruned, in HF transformers) without any PEFT code.
#include <filesystem>
#include <string>

#include "lightpeft/peft/inject.h"

namespace lightpeft {

// The fine-tuned model of a run with its PEFT modules in place (not merged). `which` is "final" or
// "best" (the adapter folders under output_dir/finetune).
PeftModel load_finetuned_run(const std::filesystem::path& run_dir, const std::string& which = "final");

// Writes the merged model (config.json, model.safetensors, tokenizer files) into `out`. Throws for
// bottleneck adapters, which are nonlinear and cannot be merged.
void export_merged_model(const std::filesystem::path& run_dir, const std::filesystem::path& out,
                         const std::string& which = "final");

}  // namespace lightpeft
