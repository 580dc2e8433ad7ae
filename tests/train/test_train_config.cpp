// TrainConfig: the shipped configs parse; defaults are the spec's; bad keys, types and values are
// errors naming file, line and key.
#include <string>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/train/config_doc.h"
#include "lightpeft/train/train_config.h"
#include "test_support.h"

namespace lightpeft {
namespace {

const char* kMinimal = "task: rte\ndata_dir: data\nmodel: m\noutput_dir: out\n";

std::string error_of(const std::string& yaml) {
  try {
    parse_train_config(yaml, "cfg.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, DefaultsAreTheSpecs) {
  TrainConfig c = parse_train_config(kMinimal, "cfg.yaml");
  EXPECT_EQ(c.method, Method::light_peft);
  EXPECT_EQ(c.training.per_device_train_batch_size, 32);
  EXPECT_EQ(c.training.per_device_eval_batch_size, 64);
  EXPECT_DOUBLE_EQ(c.training.num_train_epochs, 3.0);
  EXPECT_EQ(c.training.lr_scheduler_type, LrScheduler::linear);
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 3e-4);
  EXPECT_EQ(c.lora.r, 8);
  EXPECT_DOUBLE_EQ(c.lora.alpha, 16.0);
  EXPECT_DOUBLE_EQ(c.lora.dropout, 0.05);
  EXPECT_EQ(c.lora.target_modules, std::vector<std::string>{"all-linear"});
  EXPECT_EQ(c.light_peft.estimate_steps.steps, 800);
  EXPECT_FALSE(c.light_peft.estimate_steps.automatic);
  EXPECT_DOUBLE_EQ(c.light_peft.l1_lambda, 1e-4);
  EXPECT_DOUBLE_EQ(c.light_peft.head_pruning_ratio, 0.333333333);
  EXPECT_EQ(c.light_peft.head_pruning_scope, PruningScope::layerwise);
  EXPECT_EQ(c.light_peft.ffn_pruning_scope, PruningScope::global);
  EXPECT_DOUBLE_EQ(c.light_peft.module_pruning_ratio, 0.75);
  EXPECT_DOUBLE_EQ(c.light_peft.rank_pruning_ratio, 0.5);
}

TEST(TrainConfig, ShippedConfigsParse) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(testing::source_dir() / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    TrainConfig c = load_train_config(e.path());
    EXPECT_FALSE(c.task.empty()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 8);  // the CPU main job and one per GLUE/SuperGLUE task with data in ../shared
}

TEST(TrainConfig, RoundTripsThroughYaml) {
  std::string y = std::string(kMinimal) +
                  "method: lora\nlora:\n  r: 4\n  target_modules: [query, value]\ntraining:\n  num_train_epochs: 2.5\n";
  TrainConfig a = parse_train_config(y, "a.yaml");
  TrainConfig b = parse_train_config(train_config_to_yaml(a), "b.yaml");
  EXPECT_EQ(train_config_to_yaml(a), train_config_to_yaml(b));
  EXPECT_EQ(b.method, Method::lora);
  EXPECT_EQ(b.lora.r, 4);
  EXPECT_EQ(b.lora.target_modules, (std::vector<std::string>{"query", "value"}));
  EXPECT_DOUBLE_EQ(b.training.num_train_epochs, 2.5);
}

// config.yaml must not change for a config that did not change: a resume compares it byte for byte
// (key order, number format, and keys written only when set such as training.nonfinite_loss).
TEST(TrainConfig, ResolvedYamlOfTheDefaultsIsStable) {
  EXPECT_EQ(train_config_to_yaml(parse_train_config(kMinimal, "cfg.yaml")), R"(task: rte
data_dir: data
model: m
output_dir: out
method: light-peft
seed: 42
max_seq_length: 128
device: auto
dtype: fp32
threads: 0
training:
  per_device_train_batch_size: 32
  per_device_eval_batch_size: 64
  learning_rate: 0.00029999999999999997
  weight_decay: 0
  adam_beta1: 0.90000000000000002
  adam_beta2: 0.999
  adam_epsilon: 1e-08
  num_train_epochs: 3
  max_steps: -1
  warmup_ratio: 0
  warmup_steps: 0
  lr_scheduler_type: linear
  max_grad_norm: 1
  gradient_accumulation_steps: 1
  group_by_length: false
  logging_steps: 10
  eval_steps: 0
  save_steps: 0
  save_total_limit: 2
  max_train_samples: 0
  max_eval_samples: 0
  skip_bad_rows: false
lora:
  r: 8
  alpha: 16
  dropout: 0.050000000000000003
  target_modules: [all-linear]
  use_rslora: false
adapter:
  bottleneck_size: 8
  non_linearity: relu
  dropout: 0.10000000000000001
  scaling: 1
  placement: houlsby
  init: bert
light_peft:
  peft: lora
  estimate_steps: 800
  l1_lambda: 0.0001
  head_mask_lr_multiplier: 1
  ffn_mask_lr_multiplier: 1
  head_pruning_ratio: 0.33333333300000001
  head_pruning_scope: layerwise
  ffn_pruning_ratio: 0.33333333300000001
  ffn_pruning_scope: global
  module_pruning_ratio: 0.75
  rank_pruning_ratio: 0.5
  importance: mask
)");
}

TEST(TrainConfig, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const std::string base = kMinimal;
  const Case cases[] = {
      {base + "training:\n  lerning_rate: 0.1\n", "cfg.yaml:6: unknown key 'training.lerning_rate'"},
      {base + "training:\n  per_device_train_batch_size: many\n",
       "cfg.yaml:6: key 'training.per_device_train_batch_size': expected a integer"},
      {base + "method: magic\n", "key 'method': 'magic' is not one of"},
      {base + "light_peft:\n  head_pruning_ratio: 1.5\n", "key 'light_peft.head_pruning_ratio': expected a ratio"},
      {base + "light_peft:\n  ffn_pruning_scope: local\n", "'local' is not one of: layerwise, global"},
      {base + "lora:\n  r: 0\n", "key 'lora.r': expected a positive rank"},
      {base + "dtype: fp8\n", "key 'dtype': 'fp8' is not one of"},
      {base + "bogus: 1\n", "cfg.yaml:5: unknown key 'bogus'"},
      {"task: rte\nmodel: m\noutput_dir: o\n", "key 'data_dir': required"},
      {"task: [rte\n", "not valid YAML"},
      {"- a\n- b\n", "expected a YAML mapping"},
      {base + "task: user\n", ""},  // duplicate key: yaml-cpp keeps one; must not crash
  };
  for (const auto& c : cases) {
    std::string msg = error_of(c.yaml);
    if (c.expect.empty()) continue;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "yaml:\n" << c.yaml << "\nmessage: " << msg;
  }
}

std::string error_of(const std::string& yaml, const ConfigOverrides& sets) {
  try {
    parse_train_config(yaml, "cfg.yaml", sets);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("lerning_rate", "learning_rate"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("flaw", "lawn"), 2u);
}

TEST(TrainConfig, UnknownKeysSuggestTheNearestKnownOne) {
  const std::string base = kMinimal;
  struct Case {
    std::string yaml, expect;
  };
  const Case cases[] = {
      {base + "training:\n  lerning_rate: 0.1\n",
       "cfg.yaml:6: unknown key 'training.lerning_rate' (did you mean 'learning_rate'?)"},
      {base + "training:\n  warmup_ration: 0.1\n", "(did you mean 'warmup_ratio'?)"},
      {base + "lora:\n  rr: 4\n", "unknown key 'lora.rr' (did you mean 'r'?)"},
      {base + "light_peft:\n  estimate_step: 4\n", "(did you mean 'estimate_steps'?)"},
      {base + "trainig:\n  learning_rate: 0.1\n", "cfg.yaml:5: unknown key 'trainig' (did you mean 'training'?)"},
      {base + "mehtod: lora\n", "(did you mean 'method'?)"},
      // Keys renamed to HF TrainingArguments' names point at the new name.
      {base + "training:\n  batch_size: 8\n", "(did you mean 'per_device_train_batch_size'?)"},
      {base + "training:\n  eval_batch_size: 8\n", "(did you mean 'per_device_eval_batch_size'?)"},
      {base + "training:\n  epochs: 8\n", "(did you mean 'num_train_epochs'?)"},
      {base + "training:\n  scheduler: cosine\n", "(did you mean 'lr_scheduler_type'?)"},
      // A section's key at the top level: the section is named.
      {base + "learning_rate: 0.1\n", "unknown key 'learning_rate' (did you mean 'training.learning_rate'?)"},
      {base + "labels: [a, b]\n", "unknown key 'labels' (did you mean 'user_task.labels'?)"},  // user_task absent
      // Nothing close: the allowed keys are listed.
      {base + "lora:\n  zzzzzzzz: 1\n", "unknown key 'lora.zzzzzzzz' (expected one of: alpha, dropout, r, target_modules, use_rslora)"},
  };
  for (const auto& c : cases) {
    std::string msg = error_of(c.yaml);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "yaml:\n" << c.yaml << "\nmessage: " << msg;
  }
}

TEST(TrainConfig, SetOverridesApplyBeforeValidation) {
  const std::string base = std::string(kMinimal) + "training:\n  learning_rate: 0.1\n";
  TrainConfig c = parse_train_config(
      base, "cfg.yaml",
      {"training.learning_rate=1e-3", "light_peft.estimate_steps=20", "method=lora",
       "lora.target_modules=[query, value]", "adapter.placement=pfeiffer", "training.group_by_length=true",
       "seed = 7"});
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 1e-3);
  EXPECT_EQ(c.light_peft.estimate_steps.steps, 20);
  EXPECT_EQ(c.method, Method::lora);
  EXPECT_EQ(c.lora.target_modules, (std::vector<std::string>{"query", "value"}));
  EXPECT_EQ(c.adapter.placement, AdapterPlacement::pfeiffer);
  EXPECT_TRUE(c.training.group_by_length);
  EXPECT_EQ(c.seed, 7);
  // Later overrides win; an empty value restores the default.
  c = parse_train_config(base, "cfg.yaml", {"training.learning_rate=0.5", "training.learning_rate=0.25"});
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 0.25);
  c = parse_train_config(base, "cfg.yaml", {"training.learning_rate="});
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 3e-4);
  // A whole config from --set alone.
  c = parse_train_config("", "cfg.yaml", {"task=rte", "data_dir=d", "model=m", "output_dir=o"});
  EXPECT_EQ(c.task, "rte");
  // Round trip: the overridden config is what config.yaml records.
  c = parse_train_config(base, "cfg.yaml", {"training.num_train_epochs=1.5"});
  EXPECT_DOUBLE_EQ(parse_train_config(train_config_to_yaml(c), "b.yaml").training.num_train_epochs, 1.5);
}

TEST(TrainConfig, BadOverridesNameTheOverride) {
  const std::string base = std::string(kMinimal) + "training:\n  learning_rate: 0.1\n";
  struct Case {
    std::vector<std::string> sets;
    std::string expect;
  };
  const Case cases[] = {
      {{"training.lerning_rate=1e-3"},
       "--set training.lerning_rate: unknown key 'training.lerning_rate' (did you mean 'learning_rate'?)"},
      {{"trainig.learning_rate=1e-3"}, "--set trainig.learning_rate: unknown key 'trainig' (did you mean 'training'?)"},
      {{"learning_rate=1e-3"}, "--set learning_rate: unknown key 'learning_rate' (did you mean 'training.learning_rate'?)"},
      {{"training.learning_rate=fast"}, "--set training.learning_rate: key 'training.learning_rate': expected a number, got 'fast'"},
      {{"training.learning_rate=-1"}, "--set training.learning_rate: key 'training.learning_rate': expected > 0"},
      {{"light_peft.head_pruning_ratio=1.5"}, "--set light_peft.head_pruning_ratio: key 'light_peft.head_pruning_ratio': expected a ratio"},
      {{"method=magic"}, "--set method: key 'method': 'magic' is not one of"},
      {{"training.learning_rate"}, "--set training.learning_rate: expected key=value"},
      {{"=3"}, "expected key=value"},
      {{"training..learning_rate=1"}, "--set training..learning_rate: an empty name in the dotted key"},
      {{"task.name=rte"}, "--set task.name: 'task' is not a section"},
      {{"training=5"}, "--set training: key 'training': expected a mapping"},
      {{"lora.r=[1"}, "--set lora.r: value '[1' is not valid YAML"},
  };
  for (const auto& c : cases) {
    std::string msg = error_of(base, c.sets);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "--set " << c.sets[0] << "\nmessage: " << msg;
  }
  // An error in the file itself still names the file and line, overrides or not.
  EXPECT_NE(error_of(base + "lora:\n  r: 0\n", {"seed=1"}).find("cfg.yaml:8: key 'lora.r'"), std::string::npos)
      << error_of(base + "lora:\n  r: 0\n", {"seed=1"});
}

TEST(TrainConfig, UserTaskNeedsFilesAndLabels) {
  std::string y = "task: user\nmodel: m\noutput_dir: o\nuser_task:\n  train_file: t.csv\n  dev_file: d.csv\n";
  EXPECT_NE(error_of(y).find("key 'user_task.labels'"), std::string::npos) << error_of(y);
  y += "  labels: [neg, pos]\n";
  TrainConfig c = parse_train_config(y, "cfg.yaml");
  ASSERT_TRUE(c.user_task.has_value());
  EXPECT_EQ(c.user_task->labels.size(), 2u);
}

// docs/configuration.md is generated from the schema; a key added or changed without regenerating
// it fails here.
TEST(TrainConfig, DocsAreTheSchemasReference) {
  const std::string committed = testing::read_file(testing::source_dir() / "docs/configuration.md");
  const std::string generated = config_reference_markdown();
  if (committed == generated) return;
  size_t line = 1, at = 0;
  while (at < committed.size() && at < generated.size() && committed[at] == generated[at]) line += committed[at++] == '\n';
  FAIL() << "docs/configuration.md is not what the config schema (src/train/train_config.cpp) generates; it first "
            "differs at line " << line << ". Regenerate it:\n  ./build/bin/lightpeft config-doc > docs/configuration.md";
}

// The generated tables show each key's type, default (as the struct's initialiser has it) and
// allowed values (the rule's, or the enum's name table), with '|' escaped inside cells.
TEST(TrainConfig, DocsShowTypesDefaultsAndAllowedValues) {
  const std::string doc = config_reference_markdown();
  for (const char* k : {"`per_device_train_batch_size` | integer | 32 | a positive integer |",
                        "`lr_scheduler_type` | string | `linear` | `linear`, `cosine`, `constant` |",
                        "`method` | string | `light-peft` | `lora`, `adapter`, `light-peft`, `full` |",
                        "`learning_rate` | number | 3e-4 | > 0 |", "## `user_task:` (with `task: user`)",
                        "sum of \\|mask\\|"})
    EXPECT_NE(doc.find(k), std::string::npos) << k;
}

TEST(TrainConfig, EnumsReadAndWriteTheirNames) {
  TrainConfig c = parse_train_config(
      std::string(kMinimal) + "method: light_peft\ndtype: bf16\ntraining:\n  nonfinite_loss: skip\n"
                              "  lr_scheduler_type: cosine\nadapter:\n  init: zero_up\n  non_linearity: gelu\n"
                              "light_peft:\n  peft: adapter\n  importance: taylor\n  head_pruning_scope: global\n",
      "cfg.yaml");
  EXPECT_EQ(c.method, Method::light_peft);
  EXPECT_EQ(c.dtype, Dtype::bf16);
  EXPECT_EQ(c.training.nonfinite_loss, NonfiniteLoss::skip);
  EXPECT_EQ(c.training.lr_scheduler_type, LrScheduler::cosine);
  EXPECT_EQ(c.adapter.init, AdapterInit::zero_up);
  EXPECT_EQ(c.adapter.non_linearity, AdapterActivation::gelu);
  EXPECT_EQ(c.light_peft.peft, PeftKind::adapter);
  EXPECT_EQ(c.light_peft.importance, FoundationImportance::taylor);
  EXPECT_EQ(c.light_peft.head_pruning_scope, PruningScope::global);
  const std::string y = train_config_to_yaml(c);
  EXPECT_NE(y.find("method: light-peft\n"), std::string::npos) << y;  // the canonical name
  EXPECT_NE(y.find("  nonfinite_loss: skip\n"), std::string::npos) << y;
  EXPECT_NE(y.find("  importance: taylor\n"), std::string::npos) << y;
  // nonfinite_loss is written only when not the default (config.yaml of earlier runs still match).
  EXPECT_EQ(train_config_to_yaml(parse_train_config(kMinimal, "cfg.yaml")).find("nonfinite_loss"), std::string::npos);
  EXPECT_EQ(train_config_to_yaml(parse_train_config(y, "b.yaml")), y);
  EXPECT_NE(error_of(std::string(kMinimal) + "adapter:\n  init: xavier\n")
                .find("cfg.yaml:6: key 'adapter.init': 'xavier' is not one of: bert, zero_up"),
            std::string::npos);
}

TEST(TrainConfig, HomeIsExpanded) {
  std::string y = "task: rte\ndata_dir: ~/data\nmodel: ~/m\noutput_dir: out\n";
  TrainConfig c = parse_train_config(y, "cfg.yaml");
  EXPECT_EQ(c.model.string().find('~'), std::string::npos);
}

}  // namespace
}  // namespace lightpeft
