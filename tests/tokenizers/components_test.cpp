// Unit checks of the pieces, with expectations taken from HF tokenizers' own tests and behaviour.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/basic_tokenizer.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/byte_level.h"
#include "lightpeft/tokenizers/post_processor.h"
#include "lightpeft/tokenizers/truncation.h"
#include "lightpeft/tokenizers/unicode.h"
#include "lightpeft/tokenizers/wordpiece.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace lt = lightpeft::testing;

std::vector<std::string> gpt2_pieces(const std::string& text) {
  const std::u32string chars = unicode::decode_utf8(text);
  std::vector<std::string> out;
  for (auto [b, e] : byte_level::split_gpt2(chars)) {
    out.push_back(unicode::encode_utf8(std::u32string_view(chars).substr(b, e - b)));
  }
  return out;
}

TEST(ByteLevel, SplitsLikeGpt2Regex) {
  using V = std::vector<std::string>;
  EXPECT_EQ(gpt2_pieces("Hello my friend, how is your day going?"),
            (V{"Hello", " my", " friend", ",", " how", " is", " your", " day", " going", "?"}));
  EXPECT_EQ(gpt2_pieces("Hello there\nHello there"), (V{"Hello", " there", "\n", "Hello", " there"}));
  EXPECT_EQ(gpt2_pieces("Hello there       dear"), (V{"Hello", " there", "      ", " dear"}));
  EXPECT_EQ(gpt2_pieces("a  \n b"), (V{"a", "  \n", " b"}));
  EXPECT_EQ(gpt2_pieces("it's  "), (V{"it", "'s", "  "}));
  EXPECT_EQ(gpt2_pieces("'S 1 2  "), (V{"'", "S", " 1", " 2", "  "}));
  EXPECT_EQ(gpt2_pieces("x\u00a0\u00a0y"), (V{"x", "\u00a0", "\u00a0", "y"}));
}

TEST(ByteLevel, MapsBytesToPrintableCharacters) {
  EXPECT_EQ(byte_level::bytes_to_unicode("Hello world"), "Hello\u0120world");
  EXPECT_EQ(byte_level::bytes_to_unicode("\n"), "\u010a");
  EXPECT_EQ(byte_level::bytes_to_unicode("\u2b62"), "\u00e2\u0143\u00a2");  // HF's "i⭢j" test
}

TEST(BasicTokenizer, NormalizesLikeBertNormalizer) {
  BertNormalizerOptions uncased;
  EXPECT_EQ(bert_normalize("H\u00e9llo\tW\u00d6RLD\u00a0\u4e2d", uncased), "hello world  \u4e2d ");
  EXPECT_EQ(bert_normalize("a\x01" "b\u200bc\ufffd\u0378", uncased), "abc\u0378");
  BertNormalizerOptions lower_keep_accents;
  lower_keep_accents.strip_accents = false;
  EXPECT_EQ(bert_normalize("\u0130", lower_keep_accents), "i\u0307");
  BertNormalizerOptions cased;
  cased.lowercase = false;
  EXPECT_EQ(bert_normalize("Caf\u00e9", cased), "Caf\u00e9");
  // HF's CJK ranges start the last extension block at U+2B920, not U+2B820.
  EXPECT_EQ(bert_normalize("a\U0002B820b\U0002B920c", cased), "a\U0002B820b \U0002B920 c");
}

TEST(BasicTokenizer, SplitsWhitespaceAndPunctuation) {
  using V = std::vector<std::string>;
  EXPECT_EQ(bert_pre_tokenize("a\u2028b\u00abc d\u20ace^f$g"),
            (V{"a", "b", "\u00ab", "c", "d\u20ace", "^", "f", "$", "g"}));
  EXPECT_EQ(bert_pre_tokenize("   "), V{});
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  Vocab vocab;
  int64_t id = 0;
  for (const char* t : {"[UNK]", "un", "##aff", "##able", "runn", "##ing", "a"}) vocab.set(t, id++);
  WordPieceModel model(vocab, "[UNK]", "##", 10);
  std::vector<int64_t> ids;
  model.tokenize_word("unaffable", ids);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3}));
  ids.clear();
  model.tokenize_word("unaffablex", ids);  // one unmatchable part: the whole word is [UNK]
  EXPECT_EQ(ids, (std::vector<int64_t>{0}));
  ids.clear();
  model.tokenize_word("aaaaaaaaaaa", ids);  // 11 characters > max_input_chars_per_word
  EXPECT_EQ(ids, (std::vector<int64_t>{0}));
}

TEST(Truncation, SplitsTheBudgetLikeHf) {
  auto run = [](size_t a, size_t b, int64_t max, Truncation s = Truncation::longest_first) {
    std::vector<int64_t> first(a, 1), second(b, 2);
    truncate_sequences(first, &second, max, s);
    return std::make_pair(first.size(), second.size());
  };
  EXPECT_EQ(run(10, 10, 15), std::make_pair(size_t{7}, size_t{8}));  // tie: the odd one to the second
  EXPECT_EQ(run(11, 10, 15), std::make_pair(size_t{8}, size_t{7}));
  EXPECT_EQ(run(3, 20, 15), std::make_pair(size_t{3}, size_t{12}));
  EXPECT_EQ(run(20, 3, 15), std::make_pair(size_t{12}, size_t{3}));
  EXPECT_EQ(run(4, 4, 15), std::make_pair(size_t{4}, size_t{4}));
  EXPECT_EQ(run(10, 6, 8, Truncation::only_first), std::make_pair(size_t{2}, size_t{6}));
  EXPECT_EQ(run(6, 10, 8, Truncation::only_second), std::make_pair(size_t{6}, size_t{2}));
  EXPECT_THROW(run(10, 6, 8, Truncation::only_second), Error);  // the second is too short
}

TEST(SpecialTokensTemplate, TypeIdsWithAndWithoutSpecialsLikeHf) {
  using V = std::vector<int64_t>;
  const V a{10, 11}, b{20};
  auto bert = SpecialTokensTemplate::bert(0, 2);
  EXPECT_EQ(bert.apply(a, &b, true).input_ids, (V{0, 10, 11, 2, 20, 2}));
  EXPECT_EQ(bert.apply(a, &b, true).token_type_ids, (V{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(bert.apply(a, &b, false).token_type_ids, (V{0, 0, 1}));
  auto roberta = SpecialTokensTemplate::roberta(0, 2);
  EXPECT_EQ(roberta.apply(a, &b, true).input_ids, (V{0, 10, 11, 2, 2, 20, 2}));
  EXPECT_EQ(roberta.apply(a, &b, true).token_type_ids, (V(7, 0)));
  EXPECT_EQ(roberta.apply(a, &b, false).token_type_ids, (V{0, 0, 0}));
  EXPECT_EQ(SpecialTokensTemplate::none().apply(a, &b, true).token_type_ids, (V{0, 0, 1}));
  EXPECT_EQ(roberta.num_special_tokens(false), 2);
  EXPECT_EQ(roberta.num_special_tokens(true), 4);
}

TEST(ByteBpe, MergesByRankAndPadsBatches) {
  lt::TempDir dir;
  lt::write_file(dir / "vocab.json", R"({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4,
      "a": 5, "b": 6, "c": 7, "ab": 8, "bc": 9, "abc": 10, "\u0120": 11, "\u0120a": 12})");
  lt::write_file(dir / "merges.txt", "#version: 0.2\nb c\na b\na bc\n\u0120 a\n");
  auto tok = ByteBpeTokenizer::from_files(dir / "vocab.json", dir / "merges.txt");
  // "b c" ranks first, then "a bc".
  EXPECT_EQ(tok->encode_plain("abc"), (std::vector<int64_t>{10}));
  EXPECT_EQ(tok->encode_plain("ab a<mask>"), (std::vector<int64_t>{8, 12, 4}));
  EncodeOptions options;
  options.padding = Padding::longest;
  const std::vector<std::string> texts{"abc", "ab ab"};
  const auto batch = tok->encode_batch(texts, nullptr, options);
  EXPECT_EQ(batch[0].input_ids, (std::vector<int64_t>{0, 10, 2, 1, 1}));
  EXPECT_EQ(batch[0].attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(batch[1].input_ids, (std::vector<int64_t>{0, 8, 11, 8, 2}));
  EXPECT_EQ(tok->pad_id(), 1);
  EXPECT_EQ(tok->vocab_size(), 13);
  EXPECT_EQ(tok->token_to_id("<mask>"), 4);
  EXPECT_EQ(tok->id_to_token(10), "abc");
  EXPECT_EQ(tok->num_special_tokens(true), 4);
}

}  // namespace
}  // namespace lightpeft
