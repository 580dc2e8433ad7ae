// Bad tokenizer files must fail with a lightpeft::Error that names the file (and line or key) and
// says what was expected.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"
#include "lightpeft/tokenizers/wordpiece.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace lt = lightpeft::testing;

// The message of the lightpeft::Error `fn` throws ("" and a test failure if it throws none).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a lightpeft::Error";
  return "";
}

void write_bpe_dir(const lt::TempDir& dir, const std::string& vocab, const std::string& merges) {
  lt::write_file(dir / "vocab.json", vocab);
  lt::write_file(dir / "merges.txt", merges);
}

const char* kSmallVocab = R"({"<s>": 0, "<pad>": 1, "</s>": 2, "a": 3, "b": 4, "ab": 5})";

TEST(TokenizerErrors, MissingVocabFile) {
  lt::TempDir dir;
  const auto missing = dir / "vocab.txt";
  const std::string msg = error_of([&] { WordPieceTokenizer::from_vocab_txt(missing); });
  EXPECT_NE(msg.find(missing.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot open"), std::string::npos) << msg;

  const std::string load_msg = error_of([&] { load_tokenizer(dir / "no-such-model"); });
  EXPECT_NE(load_msg.find("no-such-model"), std::string::npos) << load_msg;
}

TEST(TokenizerErrors, EmptyModelDirectory) {
  lt::TempDir dir;
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("tokenizer.json, vocab.txt, or vocab.json"), std::string::npos) << msg;
}

TEST(TokenizerErrors, VocabJsonNotAnObject) {
  lt::TempDir dir;
  write_bpe_dir(dir, "[\"a\", \"b\"]", "#version: 0.2\na b\n");
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("vocab.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected a JSON object"), std::string::npos) << msg;
}

TEST(TokenizerErrors, VocabJsonNonIntegerId) {
  lt::TempDir dir;
  write_bpe_dir(dir, R"({"a": "zero"})", "");
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("key 'a'"), std::string::npos) << msg;
}

TEST(TokenizerErrors, MergesLineWithOneToken) {
  lt::TempDir dir;
  write_bpe_dir(dir, kSmallVocab, "#version: 0.2\na b\nab\n");
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find((dir / "merges.txt").string() + " line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected two tokens"), std::string::npos) << msg;
}

TEST(TokenizerErrors, MergeWithTokenOutsideVocab) {
  lt::TempDir dir;
  write_bpe_dir(dir, kSmallVocab, "#version: 0.2\na b\nab c\n");
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("merges.txt line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'c'"), std::string::npos) << msg;
}

TEST(TokenizerErrors, TokenizerJsonUnsupportedModelType) {
  lt::TempDir dir;
  lt::write_file(dir / "tokenizer.json",
                 R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}, "added_tokens": []})");
  const std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find((dir / "tokenizer.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.type"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Unigram"), std::string::npos) << msg;
}

TEST(TokenizerErrors, TokenizerJsonUnsupportedNormalizer) {
  lt::TempDir dir;
  lt::write_file(dir / "tokenizer.json", R"({
    "normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}})");
  const std::string msg = error_of([&] { load_hf_tokenizer_json(dir / "tokenizer.json"); });
  EXPECT_NE(msg.find("normalizer.type"), std::string::npos) << msg;
}

TEST(TokenizerErrors, TokenizerJsonMalformedMerge) {
  lt::TempDir dir;
  lt::write_file(dir / "tokenizer.json", R"({
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "ab"]}})");
  const std::string msg = error_of([&] { load_hf_tokenizer_json(dir / "tokenizer.json"); });
  EXPECT_NE(msg.find("model.merges[1]"), std::string::npos) << msg;
}

TEST(TokenizerErrors, ImpossibleTruncation) {
  lt::TempDir dir;
  write_bpe_dir(dir, kSmallVocab, "#version: 0.2\na b\n");
  auto tok = load_tokenizer(dir.path());
  EncodeOptions options;
  options.max_length = 5;
  options.truncation = Truncation::only_first;
  const std::string pair = "abababab";
  // The first text has 1 token and cannot give up the 4 the budget needs.
  EXPECT_NE(error_of([&] { tok->encode("a", &pair, options); }).find("only_first"),
            std::string::npos);
  options.max_length = 1;  // fewer than the 2 special tokens around one text
  EXPECT_NE(error_of([&] { tok->encode("ab", nullptr, options); }).find("special tokens"),
            std::string::npos);
}

TEST(TokenizerErrors, InvalidUtf8) {
  lt::TempDir dir;
  write_bpe_dir(dir, kSmallVocab, "#version: 0.2\na b\n");
  auto tok = load_tokenizer(dir.path());
  const std::string msg = error_of([&] { tok->encode_plain(std::string("ab\xff", 3)); });
  EXPECT_NE(msg.find("byte 2"), std::string::npos) << msg;
}

// A small byte-level BPE tokenizer.json with `pre_tokenizer` / `decoder` / `normalizer` swapped in.
std::string bpe_json(const std::string& normalizer, const std::string& pre_tokenizer,
                     const std::string& decoder = "null") {
  return R"({"normalizer": )" + normalizer + R"(, "pre_tokenizer": )" + pre_tokenizer +
         R"(, "decoder": )" + decoder +
         R"(, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
}

// Unsupported pipeline parts are refused naming the file and the JSON key of the offending value.
TEST(TokenizerErrors, TokenizerJsonUnsupportedPipelineParts) {
  lt::TempDir dir;
  const auto path = dir / "tokenizer.json";
  struct Case {
    std::string json, key, value;
  };
  const std::vector<Case> cases = {
      {bpe_json("null", R"({"type": "UnicodeScripts"})"), "'pre_tokenizer.type'", "UnicodeScripts"},
      {bpe_json("null", R"({"type": "Sequence", "pretokenizers": [{"type": "Split",
          "pattern": {"Regex": "\\w+|[^\\w\\s]+"}, "behavior": "Isolated", "invert": false}]})"),
       "'pre_tokenizer.pretokenizers[0].pattern.Regex'", "\\w+|[^\\w\\s]+"},
      {bpe_json("null", R"({"type": "Split", "pattern": {"String": "x"}, "behavior": "Sideways",
          "invert": false})"), "'pre_tokenizer.behavior'", "Sideways"},
      {bpe_json("null", R"({"type": "Metaspace", "replacement": "__", "prepend_scheme": "always"})"),
       "'pre_tokenizer.replacement'", "exactly one character"},
      {bpe_json("null", R"({"type": "Metaspace", "replacement": "_", "prepend_scheme": "sometimes"})"),
       "'pre_tokenizer.prepend_scheme'", "sometimes"},
      {bpe_json("null", "null", R"({"type": "CTC", "pad_token": "<pad>"})"), "'decoder.type'", "CTC"},
      {bpe_json("null", "null", R"({"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Nope"}]})"),
       "'decoder.decoders[1].type'", "Nope"},
      {bpe_json(R"({"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "_"},
          {"type": "Replace", "pattern": {"Regex": " +"}, "content": "_"}]})", "null"),
       "'normalizer.normalizers[1].pattern.Regex'", " +"},
      {bpe_json(R"({"type": "Precompiled", "precompiled_charsmap": "AAAA"})", "null"), "'normalizer.type'",
       "Precompiled"},
      {bpe_json(R"({"type": "Replace", "pattern": {"String": ""}, "content": "_"})", "null"),
       "'normalizer.pattern.String'", "non-empty"},
  };
  for (const Case& c : cases) {
    lt::write_file(path, c.json);
    const std::string msg = error_of([&] { load_hf_tokenizer_json(path); });
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.key), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.value), std::string::npos) << msg;
  }
}

TEST(TokenizerErrors, TokenizerConfigNamesAMissingToken) {
  lt::TempDir dir;
  lt::write_file(dir / "tokenizer.json", bpe_json("null", R"({"type": "ByteLevel"})"));
  lt::write_file(dir / "tokenizer_config.json", R"({"eos_token": "<|eot|>"})");
  std::string msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("tokenizer_config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'eos_token'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("<|eot|>"), std::string::npos) << msg;
  lt::write_file(dir / "tokenizer_config.json", R"({"bos_token": 7})");
  msg = error_of([&] { load_tokenizer(dir.path()); });
  EXPECT_NE(msg.find("'bos_token'"), std::string::npos) << msg;
}

TEST(TokenizerErrors, DecodeAndPadWithoutTheTokens) {
  lt::TempDir dir;
  lt::write_file(dir / "tokenizer.json", bpe_json("null", R"({"type": "ByteLevel"})", R"({"type": "ByteLevel"})"));
  auto tok = load_tokenizer(dir.path());
  EXPECT_EQ(tok->decode({2, 0}), "aba");
  std::string msg = error_of([&] { tok->decode({2, 3}); });
  EXPECT_NE(msg.find("token id 3"), std::string::npos) << msg;
  EXPECT_FALSE(tok->has_pad_id());
  EncodeOptions options;
  options.padding = Padding::longest;
  msg = error_of([&] { tok->encode_batch({"ab", "a"}, nullptr, options); });
  EXPECT_NE(msg.find("no padding token"), std::string::npos) << msg;
}

}  // namespace
}  // namespace lightpeft
