#pragma once
// A tiny decoder for the tasks' tests: a byte-level BPE tokenizer with no merges (every byte is a
// token: any text encodes, ids are predictable), special tokens <s> 256, </s> 257, <pad> 258, with
// or without a post-processor that puts <s> first; and a random-init 2-layer llama over that
// vocabulary in HF layout.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/tokenizers/byte_level.h"
#include "test_support.h"

namespace lightpeft::testing {

inline constexpr int64_t kBos = 256, kEos = 257, kPad = 258, kTinyVocab = 259;

inline void write_byte_tokenizer(const std::filesystem::path& dir, bool add_bos) {
  using json = nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::byte_to_unicode(static_cast<unsigned char>(b)))] = b;
  json added = json::array();
  const char* specials[] = {"<s>", "</s>", "<pad>"};
  for (int i = 0; i < 3; ++i) {
    vocab[specials[i]] = 256 + i;
    added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  json post = nullptr;
  if (add_bos) {
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"pair", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {256}}, {"tokens", {"<s>"}}}}}}};
  }
  const json tok = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
                    {"post_processor", post},
                    {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
                    {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                               {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                               {"vocab", vocab}, {"merges", json::array()}}}};
  write_file(dir / "tokenizer.json", tok.dump());
  // A chat template whose generation prompt is a prefix of the full rendering.
  const std::string chat = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>\n{% endfor %}"
                           "{% if add_generation_prompt %}<s>assistant: {% endif %}";
  write_file(dir / "tokenizer_config.json", json{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"pad_token", "<pad>"},
                                                 {"add_bos_token", add_bos}, {"chat_template", chat}}
                                                .dump());
}

inline ModelConfig tiny_llama_config() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = kTinyVocab;
  c.hidden_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.intermediate_size = 32;
  c.attention_units_per_layer.assign(2, 2);
  c.intermediate_per_layer.assign(2, 32);
  c.max_position_embeddings = 512;
  c.hidden_act = "silu";
  c.attention_probs_dropout_prob = 0.0;  // LLaMA's attention_dropout default: train-mode forwards repeat
  c.hidden_dropout_prob = 0.0;
  c.pad_token_id = kPad;
  c.eos_token_ids = {kEos};
  c.extra_json = R"({"lightpeft_random_init": true})";
  return c;
}

// model/ in HF layout (random init, seeded) with the byte tokenizer.
inline std::filesystem::path make_tiny_llama(const std::filesystem::path& dir, bool add_bos = false) {
  torch::manual_seed(11);
  save_pretrained(*make_task_model(tiny_llama_config(), HeadKind::causal_lm), dir);
  write_byte_tokenizer(dir, add_bos);
  return dir;
}

}  // namespace lightpeft::testing
