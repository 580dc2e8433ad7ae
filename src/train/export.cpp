#include "lightpeft/train/export.h"

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/train/stages/session.h"
#include "lightpeft/train/task_data.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

// The head's output width, read from the saved head weights (the last dimension-0 size of the
// head's modules, e.g. classifier.weight, classifier.out_proj.weight, score.weight); 0 when the
// adapter saves no head (a causal LM's).
int64_t num_labels_of(const StateDict& tensors, const TaskModelImpl& shape) {
  int64_t n = 0;
  for (const auto& head : shape.head_module_names())
    for (const auto& [key, t] : tensors) {
      const std::string plain = key.substr(key.rfind(kAdapterKeyPrefix, 0) == 0 ? std::string(kAdapterKeyPrefix).size() : 0);
      if (plain.rfind(head + ".", 0) == 0 && plain.size() >= 7 &&
          plain.compare(plain.size() - 7, 7, ".weight") == 0 && t.dim() == 2)
        n = t.size(0);  // the last linear of the head (keys sort out_proj after dense)
    }
  return n;
}

}  // namespace

PeftModel load_finetuned_run(const fs::path& run_dir, const std::string& which) {
  const TrainConfig config = load_train_config(run_dir / "config.yaml");
  const fs::path adapter_dir = run_dir / "finetune" / which;
  LP_CHECK(fs::is_directory(adapter_dir), run_dir.string(), ": no finetune/", which,
           " (has the run finished?)");
  LP_CHECK(config.method != Method::full, run_dir.string(),
           ": a full fine-tuning run is already a plain model: ", adapter_dir.string());
  PretrainedOptions options;
  options.head = make_config_task(config)->head();
  TaskModel base = load_pretrained(config.model, options).model;
  const int64_t num_labels = num_labels_of(load_safetensors(adapter_dir / kAdapterWeightsFile), *base);
  if (num_labels > 0 && num_labels != base->config().num_labels) {
    options.num_labels = num_labels;
    base = load_pretrained(config.model, options).model;
  }
  // A light-peft run's shapes: the pretrained model pruned by its foundation plan (no PEFT needed).
  if (config.method == Method::light_peft)
    apply_foundation_plan(*base, load_pruning_plan(run_dir / "prune" / kPruningPlanFile));
  return load_adapter(base, adapter_dir);
}

void export_merged_model(const fs::path& run_dir, const fs::path& out, const std::string& which) {
  const TrainConfig config = load_train_config(run_dir / "config.yaml");
  TaskModel merged;
  if (config.method == Method::full) {
    PretrainedOptions options;
    options.head = make_config_task(config)->head();
    options.strict = true;
    merged = load_pretrained(run_dir / "finetune" / which, options).model;
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
