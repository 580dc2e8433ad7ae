#pragma once
// Everything `lightpeft train` does is set in one YAML file, read into these typed structs and
// validated before any work starts: an unknown key, a wrong type or an out-of-range value is an
// error naming the file, the line and the key. Defaults are the Light-PEFT spec's (spec section 2).
// A member's initialiser is its key's default; the key itself (name, bounds, documentation) is
// declared once in the config schema (src/train/train_config.cpp), which reads, checks and writes
// it and generates docs/configuration.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/train/config_enums.h"

namespace lightpeft {

struct OptimConfig {
  int64_t per_device_train_batch_size = 32;
  int64_t per_device_eval_batch_size = 64;
  double learning_rate = 3e-4;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;  // > 0 overrides num_train_epochs (as HF)
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;  // > 0 overrides warmup_ratio
  LrScheduler lr_scheduler_type = LrScheduler::linear;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  int64_t gradient_accumulation_steps = 1;
  bool group_by_length = false;
  bool gradient_checkpointing = false;  // recompute each layer in backward: less activation memory
  int64_t logging_steps = 10;
  int64_t eval_steps = 0;  // 0: evaluate at the end of each epoch
  int64_t save_steps = 0;  // 0: checkpoint at each evaluation
  int64_t save_total_limit = 2;
  int64_t max_train_samples = 0;  // 0: all (quick runs and tests use a few)
  int64_t max_eval_samples = 0;
  bool skip_bad_rows = false;
  NonfiniteLoss nonfinite_loss = NonfiniteLoss::stop;
};

struct LoraSection {
  int64_t r = 8;
  double alpha = 16.0;
  double dropout = 0.05;
  // Light-PEFT's default: every linear of a layer (spec: BERT's six; the model family decides);
  // "default" is HF PEFT's per-family default (query,value / q_proj,v_proj), the plain-LoRA baseline.
  std::vector<std::string> target_modules = {"all-linear"};
  bool use_rslora = false;
};

struct AdapterSection {
  int64_t bottleneck_size = 8;
  AdapterActivation non_linearity = AdapterActivation::relu;
  double dropout = 0.1;
  double scaling = 1.0;
  AdapterPlacement placement = AdapterPlacement::houlsby;
  AdapterInit init = AdapterInit::bert;
};

// A number of steps, or `auto`: lightpeft decides (see the key that uses it).
struct StepsOrAuto {
  int64_t steps = 0;
  bool automatic = false;
  bool operator==(const StepsOrAuto& other) const {
    return steps == other.steps && automatic == other.automatic;
  }
};

struct LightPeftSection {
  PeftKind peft = PeftKind::lora;  // which PEFT is pruned
  // Optimiser steps of the estimate stage, or auto: stop when the pruning decisions stop changing
  // (checked every estimate_check_steps; estimate_min_steps .. estimate_max_steps).
  StepsOrAuto estimate_steps{800, false};
  int64_t estimate_check_steps = 10;
  int64_t estimate_patience = 3;       // checks in a row whose decisions agree enough
  // Between two checks, in every granularity: the fraction of candidates whose keep/prune decision
  // is unchanged (plan_agreement), and the Jaccard overlap of the kept sets (plan_overlap; 0: not
  // required). Both are logged; the stage stops when both thresholds hold for `patience` checks.
  double estimate_agreement = 0.95;
  double estimate_overlap = 0.0;
  int64_t estimate_min_steps = 20;
  int64_t estimate_max_steps = 400;    // and the learning-rate schedule's horizon with auto
  // Activation checkpointing in the estimate stage only (training.gradient_checkpointing turns it
  // on everywhere): the stage trains LoRA on every linear plus the masks, so without it its peak is
  // the run's peak.
  bool estimate_gradient_checkpointing = false;
  // bf16: the estimate stage stores the frozen base weights in bf16 (base_dtype: bf16 does in every
  // stage). The stage only ranks units and warms up LoRA; the pruned model is built from the
  // checkpoint's own weights, so the finetune keeps base_dtype's precision.
  BaseDtype estimate_base_dtype = BaseDtype::fp32;
  double l1_lambda = 1e-4;         // weight of sum |mask| in the loss
  double head_mask_lr_multiplier = 1.0;
  double ffn_mask_lr_multiplier = 1.0;
  double head_pruning_ratio = 0.333333333;
  PruningScope head_pruning_scope = PruningScope::layerwise;
  double ffn_pruning_ratio = 0.333333333;
  PruningScope ffn_pruning_scope = PruningScope::global;
  double module_pruning_ratio = 0.75;
  double rank_pruning_ratio = 0.5;
  FoundationImportance importance = FoundationImportance::mask;  // mask: the official rule
};

// A user task from CSV/TSV/JSONL files (task: user).
struct UserTaskSection {
  UserFileFormat format = UserFileFormat::csv;
  std::filesystem::path train_file, dev_file, test_file;
  std::string text_column = "text";
  std::string text_pair_column;  // empty: single sentences
  std::string label_column = "label";
  std::vector<std::string> labels;  // class names in id order; empty with regression
  bool regression = false;
  std::string metric;  // empty: accuracy (pearson_spearman for regression)
};

// SQuAD v1.1 / v2.0 JSON files (task: squad or squad_v2) and HF run_qa's windowing and answer
// options.
struct SquadSection {
  std::filesystem::path train_file, dev_file, test_file;
  bool version_2_with_negative = false;  // task squad_v2 sets it
  int64_t doc_stride = 128;
  int64_t max_answer_length = 30;
  int64_t n_best_size = 20;
  double null_score_diff_threshold = 0.0;
};

// Instruction tuning of a decoder (task: instruction).
struct InstructionSection {
  std::filesystem::path train_file, dev_file, test_file;  // test_file: for `lightpeft predict`
  PromptStyle format = PromptStyle::alpaca;
  std::string template_text;      // key `template` (format custom): with {instruction}, {input}, {output}
  std::string template_no_input;  // format custom: for rows with an empty input (empty: `template`)
  bool packing = false;           // pack short training rows into max_seq_length sequences
  bool all_assistant_turns = false;  // format chat: train on every assistant turn, not the last only
  std::string system_prompt;      // format chat: the system message Alpaca rows get (empty: none)
  int64_t max_new_tokens = 128;   // `lightpeft predict`: tokens generated per row
};

// LLM-Adapters' commonsense suite: the lists of task: commonsense, and how every commonsense task
// evaluates a decoder.
struct CommonsenseSection {
  std::vector<std::string> train;  // sets or files (task: commonsense)
  std::vector<std::string> eval;   // sets (task: commonsense)
  int64_t max_new_tokens = 32;     // LLM-Adapters' generation length
  bool generation_eval = true;     // evaluate by generation besides log-likelihood
};

struct TrainConfig {
  std::filesystem::path source;  // the YAML file (for messages)
  std::string task;              // a GLUE/SuperGLUE task, "squad", "squad_v2", "user", "instruction", a commonsense set or "commonsense"
  std::filesystem::path data_dir;
  std::filesystem::path model;       // HF-layout model directory
  std::filesystem::path output_dir;
  Method method = Method::light_peft;
  int64_t seed = 42;
  int64_t max_seq_length = 128;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  Dtype dtype = Dtype::fp32;    // bf16 | fp16: autocast
  BaseDtype base_dtype = BaseDtype::fp32;  // bf16: frozen base weights stored in bf16 (PEFT methods)
  int64_t threads = 0;          // 0: LibTorch's default
  OptimConfig training;
  LoraSection lora;
  AdapterSection adapter;
  LightPeftSection light_peft;
  std::optional<UserTaskSection> user_task;
  std::optional<SquadSection> squad;
  std::optional<InstructionSection> instruction;
  std::optional<CommonsenseSection> commonsense;
};

// Command-line overrides (`--set key=value`, repeated): `key` is a dotted path (`learning_rate`
// is not top-level: `training.learning_rate`; `light_peft.estimate_steps`, `method`), `value` is
// read as YAML (`1e-3`, `true`, `[query, value]`). They are applied in order to the YAML tree
// before validation, so every check applies to them too; an error caused by one names it
// ("--set training.lerning_rate: unknown key ...").
using ConfigOverrides = std::vector<std::string>;

// Reads and validates a YAML config. Relative paths stay relative to the working directory (as a
// user typing them expects); a leading "~/" is the home directory. An unknown key is an error that
// suggests the closest known key of its section (edit distance) or lists the allowed ones.
TrainConfig load_train_config(const std::filesystem::path& file, const ConfigOverrides& overrides = {});
TrainConfig parse_train_config(const std::string& yaml_text, const std::string& origin,
                               const ConfigOverrides& overrides = {});

// The Levenshtein distance between two strings (for did-you-mean suggestions).
size_t edit_distance(const std::string& a, const std::string& b);
// The config as YAML (written to output_dir/config.yaml so every run records what it did).
std::string train_config_to_yaml(const TrainConfig& config);

}  // namespace lightpeft
