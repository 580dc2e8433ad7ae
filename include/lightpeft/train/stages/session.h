#pragma once
// What all stages of one run share: the config, runtime, tokenized data, batchers and the metrics
// log. Built once by make_session (for `lightpeft train`, `prune`, `eval` and `predict` alike) and
// handed to each stage.
#include <filesystem>
#include <memory>

#include "lightpeft/data/batcher.h"
#include "lightpeft/models/sequence_classifier.h"
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

  LoopContext loop_context() const {
    return LoopContext{config.training, data.spec, runtime, *train, dev.get(), &data.dev.groups,
                       metrics.get()};
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

// Loads the pretrained model of the config with a head for the task, on the session's device,
// logging the key report.
SequenceClassifier load_task_model(const Session& session);

// PEFT as the config's `lora:` / `adapter:` sections say, injected into `model`.
LoraConfig lora_config_from(const TrainConfig& config);
AdapterConfig adapter_config_from(const TrainConfig& config);
PeftModel inject_peft(SequenceClassifier model, const TrainConfig& config, bool adapters);

// The tensors with requires_grad, by name (what a checkpoint of a PEFT stage holds).
StateDict trainable_state(const torch::nn::Module& module);
// Copies `state` into the module's tensors of the same names (every name must exist).
void restore_state(torch::nn::Module& module, const StateDict& state, const std::string& origin);

}  // namespace lightpeft
