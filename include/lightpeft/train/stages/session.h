#pragma once
// What all stages of one run share: the config, runtime, tokenized data, batchers and the metrics
// log. Built once by make_session (for `lightpeft train`, `prune`, `eval` and `predict` alike) and
// handed to each stage.
#include <filesystem>
#include <memory>

#include "lightpeft/data/batcher.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "lightpeft/train/progress.h"
#include "lightpeft/train/runtime.h"
#include "lightpeft/train/task_data.h"
#include "lightpeft/train/train_config.h"
#include "lightpeft/train/train_loop.h"

namespace lightpeft {

struct Session {
  TrainConfig config;
  Runtime runtime;
  std::unique_ptr<Tokenizer> tokenizer;
  TaskData data;
  std::unique_ptr<Batcher> train;  // null when the session was made without the training split
  std::unique_ptr<Batcher> dev;    // null without the dev split
  std::unique_ptr<MetricsLog> metrics;  // null without a metrics log
  bool random_init = false;

  const Task& task() const { return *data.task; }
  LoopContext loop_context() const {
    return LoopContext{config.training, *data.task, runtime, *train, dev.get(), &data.dev, metrics.get(), tokenizer.get()};
  }
  std::filesystem::path stage_dir(const std::string& stage) const { return config.output_dir / stage; }
};

struct SessionOptions {
  bool train = true;        // load, tokenize and batch the training split
  bool dev = true;          // and the dev split
  bool metrics_log = true;  // append to output_dir/metrics.jsonl (output_dir must exist)
};

// Sets threads and the seed, picks the device, loads the tokenizer and the splits asked for, and
// makes their batchers. Warns when the model is random-init (lightpeft init-model).
Session make_session(const TrainConfig& config, const SessionOptions& options = {});

// Whether the model directory was written by `lightpeft init-model` (random weights).
bool is_random_init(const std::filesystem::path& model_dir);

// Loads the pretrained model of the config with the head the task needs, on the session's device,
// logging the key report.
TaskModel load_task_model(const Session& session);

// PEFT as the config's `lora:` / `adapter:` sections say, injected into `model`.
// PEFT as a config says for a model of `family` with `head`: lora.target_modules may be
// "all-linear" (every linear of a layer) or "default" (HF PEFT's default for the family); the
// adapter placement picks the family's Houlsby or Pfeiffer targets; task_type follows the head.
LoraConfig lora_config_from(const TrainConfig& config, const ModelFamily& family, HeadKind head);
AdapterConfig adapter_config_from(const TrainConfig& config, const ModelFamily& family, HeadKind head);
PeftModel inject_peft(TaskModel model, const TrainConfig& config, bool adapters);

// The tensors with requires_grad, by name (what a checkpoint of a PEFT stage holds).
StateDict trainable_state(const torch::nn::Module& module);
// Copies `state` into the module's tensors of the same names (every name must exist).
void restore_state(torch::nn::Module& module, const StateDict& state, const std::string& origin);

}  // namespace lightpeft
