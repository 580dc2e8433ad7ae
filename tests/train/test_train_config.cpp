// TrainConfig: the shipped configs parse; defaults are the spec's; bad keys, types and values are
// errors naming file, line and key.
#include <string>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
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
  EXPECT_EQ(c.training.batch_size, 32);
  EXPECT_DOUBLE_EQ(c.training.learning_rate, 3e-4);
  EXPECT_EQ(c.lora.r, 8);
  EXPECT_DOUBLE_EQ(c.lora.alpha, 16.0);
  EXPECT_DOUBLE_EQ(c.lora.dropout, 0.05);
  EXPECT_EQ(c.lora.target_modules.size(), 6u);
  EXPECT_EQ(c.light_peft.estimate_steps, 800);
  EXPECT_DOUBLE_EQ(c.light_peft.l1_lambda, 1e-4);
  EXPECT_DOUBLE_EQ(c.light_peft.head_pruning_ratio, 0.333333333);
  EXPECT_EQ(c.light_peft.head_pruning_scope, "layerwise");
  EXPECT_EQ(c.light_peft.ffn_pruning_scope, "global");
  EXPECT_DOUBLE_EQ(c.light_peft.module_pruning_ratio, 0.75);
  EXPECT_DOUBLE_EQ(c.light_peft.rank_pruning_ratio, 0.5);
}

TEST(TrainConfig, ShippedConfigsParse) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(testing::source_dir() / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    TrainConfig c = load_train_config(e.path());
    EXPECT_FALSE(c.task.empty()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 1);
}

TEST(TrainConfig, RoundTripsThroughYaml) {
  std::string y = std::string(kMinimal) +
                  "method: lora\nlora:\n  r: 4\n  target_modules: [query, value]\ntraining:\n  epochs: 2.5\n";
  TrainConfig a = parse_train_config(y, "a.yaml");
  TrainConfig b = parse_train_config(train_config_to_yaml(a), "b.yaml");
  EXPECT_EQ(train_config_to_yaml(a), train_config_to_yaml(b));
  EXPECT_EQ(b.method, Method::lora);
  EXPECT_EQ(b.lora.r, 4);
  EXPECT_EQ(b.lora.target_modules, (std::vector<std::string>{"query", "value"}));
  EXPECT_DOUBLE_EQ(b.training.epochs, 2.5);
}

TEST(TrainConfig, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string yaml;
    std::string expect;
  };
  const std::string base = kMinimal;
  const Case cases[] = {
      {base + "training:\n  lerning_rate: 0.1\n", "cfg.yaml:6: unknown key 'training.lerning_rate'"},
      {base + "training:\n  batch_size: many\n", "cfg.yaml:6: key 'training.batch_size': expected a integer"},
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

TEST(TrainConfig, UserTaskNeedsFilesAndLabels) {
  std::string y = "task: user\nmodel: m\noutput_dir: o\nuser_task:\n  train_file: t.csv\n  dev_file: d.csv\n";
  EXPECT_NE(error_of(y).find("key 'user_task.labels'"), std::string::npos) << error_of(y);
  y += "  labels: [neg, pos]\n";
  TrainConfig c = parse_train_config(y, "cfg.yaml");
  ASSERT_TRUE(c.user_task.has_value());
  EXPECT_EQ(c.user_task->labels.size(), 2u);
}

TEST(TrainConfig, HomeIsExpanded) {
  std::string y = "task: rte\ndata_dir: ~/data\nmodel: ~/m\noutput_dir: out\n";
  TrainConfig c = parse_train_config(y, "cfg.yaml");
  EXPECT_EQ(c.model.string().find('~'), std::string::npos);
}

}  // namespace
}  // namespace lightpeft
