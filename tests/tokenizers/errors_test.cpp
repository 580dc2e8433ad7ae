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

}  // namespace
}  // namespace lightpeft
