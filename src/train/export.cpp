#include "lightpeft/train/export.h"

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/train/stages/session.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

// The head's output width, read from the saved head weights (classifier.weight for BERT,
// classifier.out_proj.weight for RoBERTa).
int64_t num_labels_of(const StateDict& tensors, const std::string& origin) {
  for (const auto& [key, t] : tensors) {
    const bool bert_head = key.size() >= 17 && key.compare(key.size() - 17, 17, "classifier.weight") == 0;
    const bool roberta_head = key.find("classifier.out_proj.weight") != std::string::npos;
    if (bert_head || roberta_head) return t.size(0);
  }
  throw_error(origin, ": no classifier weights (classifier.weight or classifier.out_proj.weight)");
}

}  // namespace

PeftModel load_finetuned_run(const fs::path& run_dir, const std::string& which) {
  const TrainConfig config = load_train_config(run_dir / "config.yaml");
  const fs::path adapter_dir = run_dir / "finetune" / which;
  LP_CHECK(fs::is_directory(adapter_dir), run_dir.string(), ": no finetune/", which,
           " (has the run finished?)");
  LP_CHECK(config.method != Method::full, run_dir.string(),
           ": a full fine-tuning run is already a plain model: ", adapter_dir.string());
  const int64_t num_labels =
      num_labels_of(load_safetensors(adapter_dir / kAdapterWeightsFile), (adapter_dir / kAdapterWeightsFile).string());
  SequenceClassifier base = load_pretrained(config.model, num_labels).model;
  if (config.method == Method::light_peft) {
    // Rebuild the pruned shapes: inject as the run did, apply its plan, take the PEFT off again.
    const bool adapters = config.light_peft.peft == PeftKind::adapter;
    PeftModel shaped = inject_peft(base, config, adapters);
    apply_plan(shaped, load_pruning_plan(run_dir / "prune" / kPruningPlanFile));
    base = unload(shaped);
  }
  return load_adapter(base, adapter_dir);
}

void export_merged_model(const fs::path& run_dir, const fs::path& out, const std::string& which) {
  const TrainConfig config = load_train_config(run_dir / "config.yaml");
  SequenceClassifier merged;
  if (config.method == Method::full) {
    merged = load_pretrained(run_dir / "finetune" / which, 0, /*strict=*/true).model;
  } else {
    PeftModel peft = load_finetuned_run(run_dir, which);
    LP_CHECK(peft.type == PeftType::lora, run_dir.string(),
             ": bottleneck adapters are nonlinear and cannot be merged into the weights; use the "
             "adapter files in ", (run_dir / "finetune" / which).string());
    merged = merge_and_unload(peft);
  }
  save_pretrained(*merged, out);
  copy_tokenizer_files(config.model, out);
  log::info("exported ", to_string(config.method), " run ", run_dir.string(), " (", which, ") to ",
            out.string(), ": ", count_parameters(*merged), " parameters");
}

}  // namespace lightpeft
