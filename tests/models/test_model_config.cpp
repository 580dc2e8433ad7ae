// ModelConfig: parsing HF and TF-style configs, validation errors that name file and key.
#include <string>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/model_config.h"
#include "test_support.h"

namespace lightpeft {
namespace {

const char* kBert = R"({"model_type": "bert", "vocab_size": 100, "hidden_size": 32,
  "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
  "hidden_act": "gelu", "max_position_embeddings": 64, "type_vocab_size": 2})";

std::string error_of(const std::string& json) {
  try {
    parse_model_config(json, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, ParsesHfConfigWithDefaults) {
  ModelConfig c = parse_model_config(kBert, "cfg.json");
  EXPECT_EQ(c.model_type, "bert");
  EXPECT_EQ(c.head_size(), 8);
  EXPECT_EQ(c.attention_units_per_layer, (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(c.intermediate_per_layer, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(c.num_labels, 2);
  EXPECT_EQ(c.pad_token_id, 0);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_FALSE(c.is_pruned());
}

TEST(ModelConfig, RobertaDefaultsPadTokenToOne) {
  std::string j = kBert;
  j.replace(j.find("\"bert\""), 6, "\"roberta\"");
  EXPECT_EQ(parse_model_config(j, "cfg.json").pad_token_id, 1);
}

TEST(ModelConfig, ReadsTfStyleBertConfigFromShared) {
  LP_REQUIRE_SHARED(shared);
  auto dir = shared / "models/google-bert-uncased-L-4_H-256_A-4-config-vocab-only";
  ModelConfig c = load_model_config(dir);  // the folder has only bert_config.json
  EXPECT_EQ(c.model_type, "bert");
  EXPECT_EQ(c.num_hidden_layers, 4);
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.intermediate_size, 1024);
  EXPECT_EQ(c.vocab_size, 30522);
}

TEST(ModelConfig, PerLayerSizesRoundTripThroughJson) {
  ModelConfig c = parse_model_config(kBert, "cfg.json");
  c.attention_units_per_layer = {3, 1};
  c.intermediate_per_layer = {10, 0};
  c.num_labels = 1;
  c.problem_type = ProblemType::regression;
  ModelConfig back = parse_model_config(model_config_to_json(c), "back.json");
  EXPECT_EQ(back.attention_units_per_layer, c.attention_units_per_layer);
  EXPECT_EQ(back.intermediate_per_layer, c.intermediate_per_layer);
  EXPECT_TRUE(back.is_pruned());
  EXPECT_EQ(back.problem_type, ProblemType::regression);
  EXPECT_EQ(back.num_labels, 1);
}

TEST(ModelConfig, KeepsUnknownKeys) {
  std::string j = kBert;
  j.insert(1, R"("my_key": [1, 2], )");
  ModelConfig c = parse_model_config(j, "cfg.json");
  EXPECT_NE(model_config_to_json(c).find("\"my_key\""), std::string::npos);
}

TEST(ModelConfig, Id2LabelDecidesNumLabels) {
  std::string j = kBert;
  j.insert(1, R"("id2label": {"0": "no", "1": "maybe", "2": "yes"}, )");
  ModelConfig c = parse_model_config(j, "cfg.json");
  EXPECT_EQ(c.num_labels, 3);
  EXPECT_EQ(c.id2label[1], "maybe");
}

struct BadConfig {
  const char* name;
  std::string from, to;  // replace `from` in kBert by `to`
  const char* expect;    // substring of the error
};

TEST(ModelConfig, RejectsBadConfigsWithFileAndKey) {
  const BadConfig cases[] = {
      {"unknown type", "\"bert\"", "\"t5\"", "key 'model_type': unsupported model type 't5'"},
      {"indivisible", "\"hidden_size\": 32", "\"hidden_size\": 30", "not divisible by num_attention_heads"},
      {"missing", "\"vocab_size\": 100,", "", "missing key 'vocab_size'"},
      {"wrong type", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": \"two\"",
       "key 'num_hidden_layers': expected an integer"},
      {"negative", "\"intermediate_size\": 64", "\"intermediate_size\": -1",
       "key 'intermediate_size': expected a positive integer"},
      {"activation", "\"gelu\"", "\"tanh\"", "key 'hidden_act': unsupported activation 'tanh'"},
  };
  for (const auto& c : cases) {
    std::string j = kBert;
    j.replace(j.find(c.from), c.from.size(), c.to);
    std::string msg = error_of(j);
    EXPECT_NE(msg.find("cfg.json"), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.name << ": " << msg;
  }
  EXPECT_NE(error_of("{oops").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("expected a JSON object"), std::string::npos);
}

TEST(ModelConfig, RejectsPerLayerListsOfWrongLength) {
  std::string j = kBert;
  j.insert(1, R"("num_attention_heads_per_layer": [4], )");
  EXPECT_NE(error_of(j).find("expected 2 entries"), std::string::npos);
  j = kBert;
  j.insert(1, R"("intermediate_size_per_layer": [64, 65], )");
  EXPECT_NE(error_of(j).find("layer 1 has 65 neurons"), std::string::npos);
}

TEST(ModelConfig, MissingDirectoryFileIsAClearError) {
  testing::TempDir dir;
  try {
    load_model_config(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no config.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lightpeft
