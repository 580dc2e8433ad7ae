// Instruction rows as causal-LM sequences (tasks/causal_lm_encoding.h) with a byte tokenizer (one
// token per byte, so lengths are the texts' lengths): labels, the leading BOS, EOS, truncation.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tasks/causal_lm_encoding.h"
#include "tasks_test_util.h"

namespace lightpeft {
namespace {

using testing::kBos;
using testing::kEos;

std::unique_ptr<Tokenizer> byte_tokenizer(bool add_bos) {
  static testing::TempDir dir;  // one folder per flavour
  const auto sub = dir / (add_bos ? "bos" : "plain");
  std::filesystem::create_directories(sub);
  testing::write_byte_tokenizer(sub, add_bos);
  return load_tokenizer(sub);
}

std::vector<int64_t> bytes(const std::string& s) {
  std::vector<int64_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

std::vector<int64_t> cat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(CausalLmEncoding, LabelsOnTheResponseAndItsEos) {
  auto tok = byte_tokenizer(false);
  EXPECT_TRUE(leading_special_tokens(*tok).empty());
  const LmSequence s = encode_turns(*tok, {{"Q: hi\nA:", " yo"}}, 64);
  EXPECT_EQ(s.ids, cat(cat(bytes("Q: hi\nA:"), bytes(" yo")), {kEos}));
  std::vector<int64_t> labels(8, -100);
  labels = cat(labels, cat(bytes(" yo"), {kEos}));
  EXPECT_EQ(s.labels, labels);
  EXPECT_EQ(s.prompt, bytes("Q: hi\nA:"));
  EXPECT_FALSE(s.truncated);
}

TEST(CausalLmEncoding, LeadingBosOnceAndNoEosWhereTheTemplateWroteIt) {
  auto tok = byte_tokenizer(true);
  EXPECT_EQ(leading_special_tokens(*tok), std::vector<int64_t>{kBos});
  // The tokenizer's BOS goes first...
  LmSequence s = encode_turns(*tok, {{"p", "r"}}, 64);
  EXPECT_EQ(s.ids, (std::vector<int64_t>{kBos, 'p', 'r', kEos}));
  EXPECT_EQ(s.labels, (std::vector<int64_t>{-100, -100, 'r', kEos}));
  // ...unless the (chat-template) prompt already starts with it; a response that ends with the EOS
  // token (whitespace after it aside) gets no second one.
  s = encode_turns(*tok, {{"<s>user: p\n", "r</s>\n"}}, 64);
  EXPECT_EQ(s.ids.front(), kBos);
  EXPECT_NE(s.ids[1], kBos);
  EXPECT_EQ(std::count(s.ids.begin(), s.ids.end(), kBos), 1);
  EXPECT_EQ(std::count(s.ids.begin(), s.ids.end(), kEos), 1);
  EXPECT_EQ(s.ids.back(), '\n');
  EXPECT_EQ(s.labels.back(), '\n');
}

TEST(CausalLmEncoding, EveryAssistantTurnIsTrainedOn) {
  auto tok = byte_tokenizer(false);
  const LmSequence s = encode_turns(*tok, {{"u1 ", "a1"}, {" u2 ", "a2"}}, 64);
  const std::vector<int64_t> ids = cat(cat(cat(cat(bytes("u1 "), bytes("a1")), {kEos}), cat(bytes(" u2 "), bytes("a2"))), {kEos});
  EXPECT_EQ(s.ids, ids);
  int64_t labelled = 0;
  for (auto l : s.labels) labelled += l != -100;
  EXPECT_EQ(labelled, 6);  // a1 </s> a2 </s>
  EXPECT_EQ(s.prompt.size(), ids.size() - 3);  // everything before the last response
}

TEST(CausalLmEncoding, TruncationKeepsTheResponse) {
  auto tok = byte_tokenizer(true);
  // 1 BOS + 10 prompt + 3 response + EOS = 15 > 10: the prompt loses its first 5 bytes.
  LmSequence s = encode_turns(*tok, {{"0123456789", "abc"}}, 10);
  EXPECT_TRUE(s.truncated);
  EXPECT_FALSE(s.response_cut);
  EXPECT_EQ(s.ids, (std::vector<int64_t>{kBos, '5', '6', '7', '8', '9', 'a', 'b', 'c', kEos}));
  EXPECT_EQ(s.labels, (std::vector<int64_t>{-100, -100, -100, -100, -100, -100, 'a', 'b', 'c', kEos}));
  EXPECT_EQ(s.prompt, (std::vector<int64_t>{kBos, '1', '2', '3', '4', '5', '6', '7', '8', '9'}));
  // A response longer than the room beside the BOS keeps its beginning, nothing before it.
  s = encode_turns(*tok, {{"prompt", "abcdefghijkl"}}, 5);
  EXPECT_TRUE(s.response_cut);
  EXPECT_EQ(s.ids, (std::vector<int64_t>{kBos, 'a', 'b', 'c', 'd'}));
  EXPECT_EQ(s.labels, (std::vector<int64_t>{-100, 'a', 'b', 'c', 'd'}));
}

TEST(CausalLmEncoding, Errors) {
  auto tok = byte_tokenizer(true);
  EXPECT_THROW(encode_turns(*tok, {}, 16), Error);
  EXPECT_THROW(encode_turns(*tok, {{"a", "b"}}, 1), Error);
}

}  // namespace
}  // namespace lightpeft
