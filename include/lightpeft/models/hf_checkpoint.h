#pragma once
// Reading and writing models in HF layout: a directory with config.json, model.safetensors (or
// pytorch_model.bin, or sharded *.index.json) and tokenizer files. Checkpoint keys are matched to
// module names as HF does: legacy LayerNorm.gamma/beta names, with or without the base-model
// prefix ("bert.", "model.", ...), and every key that does not fit is reported.
#include <filesystem>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/io/state_dict.h"
#include "lightpeft/models/heads.h"
#include "lightpeft/models/task_model.h"

namespace lightpeft {

struct KeyReport {
  std::vector<std::string> missing;     // in the model, not in the checkpoint (left as initialised)
  std::vector<std::string> unexpected;  // in the checkpoint, not in the model (ignored)
  std::vector<std::string> mismatched;  // same key, other shape (left as initialised)
  std::vector<std::string> ignored;     // known non-persistent buffers (position_ids, ...)
  int64_t loaded = 0;
  bool clean() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // One human-readable paragraph: counts and the keys, abbreviated past a few.
  std::string summary() const;
};

// The model's parameters and buffers by their full key.
StateDict module_state_dict(const torch::nn::Module& module);

// All weights of a model directory or a single weights file (.safetensors or .bin); sharded
// checkpoints (model.safetensors.index.json / pytorch_model.bin.index.json) are read shard by shard.
StateDict read_model_weights(const std::filesystem::path& dir_or_file);

// Copies `weights` into `module` (dtype converted, device kept). With strict, any missing,
// unexpected or mismatched key throws lightpeft::Error listing them (`origin` names the source).
// `base_prefix` ("bert", "roberta" or "") lets a bare-encoder checkpoint load into a model with a
// head, and a full checkpoint into a bare encoder.
KeyReport load_weights(torch::nn::Module& module, const StateDict& weights,
                       const std::string& base_prefix, bool strict, const std::string& origin);

struct LoadedModel {
  TaskModel model;
  KeyReport report;
};

struct PretrainedOptions {
  HeadKind head = HeadKind::sequence_classification;
  // > 0 overrides the config's number of labels (a head of another size is then reported as
  // mismatched and freshly initialised, as HF's ignore_mismatched_sizes); 1 means regression.
  int64_t num_labels = 0;
  bool strict = false;  // any missing, unexpected or mismatched key throws
};

// Loads an HF model directory with the head asked for; the head's weights are freshly initialised
// (seeded by the caller) where the checkpoint has none.
LoadedModel load_pretrained(const std::filesystem::path& dir, const PretrainedOptions& options = {});

// Writes config.json (with the head's HF class in `architectures`) and model.safetensors
// (atomically) into `dir`, created if needed.
void save_pretrained(const TaskModelImpl& model, const std::filesystem::path& dir);
// The same from a config and weights (HF keys; copied to CPU as written) of a model with `head`:
// what export writes for a model whose weights were reshaped outside a module (zero padding).
void save_pretrained(const ModelConfig& config, HeadKind head, const StateDict& weights,
                     const std::filesystem::path& dir);

// Copies the tokenizer files found in `from` (vocab.txt, vocab.json, merges.txt, tokenizer.json,
// tokenizer_config.json, special_tokens_map.json) into `to`; returns the names copied.
std::vector<std::string> copy_tokenizer_files(const std::filesystem::path& from,
                                              const std::filesystem::path& to);

}  // namespace lightpeft
