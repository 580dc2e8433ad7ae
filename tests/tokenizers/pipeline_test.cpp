// Unit checks of the pipeline parts decoder LLM tokenizers use (split regexes, alignments, decoders,
// byte fallback), with expectations taken from HF tokenizers' own tests and behaviour.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/bpe_model.h"
#include "lightpeft/tokenizers/decoders.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"
#include "lightpeft/tokenizers/normalized_text.h"
#include "lightpeft/tokenizers/pre_tokenizers.h"
#include "lightpeft/tokenizers/split_regex.h"
#include "lightpeft/tokenizers/wordpiece.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace lt = lightpeft::testing;
using V = std::vector<std::string>;

constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

V pieces(const SplitRegex& regex, const std::string& text) {
  V out;
  for (auto [b, e] : regex.find_all(std::string_view(text))) out.push_back(text.substr(b, e - b));
  return out;
}

V texts(const std::vector<NormalizedText>& parts) {
  V out;
  for (const auto& p : parts) out.push_back(p.text());
  return out;
}

TEST(SplitRegex, Llama3PatternLikeOniguruma) {
  auto regex = SplitRegex::recognise(kLlama3);
  ASSERT_TRUE(regex.has_value());
  EXPECT_EQ(pieces(*regex, "Hello world, it's 12345!"),
            (V{"Hello", " world", ",", " it", "'s", " ", "123", "45", "!"}));
  EXPECT_EQ(pieces(*regex, "I'M \u017f'S 'LL"), (V{"I", "'M", " \u017f", "'S", " '", "LL"}));
  EXPECT_EQ(pieces(*regex, "a\n\n  b  \n"), (V{"a", "\n\n", " ", " b", "  \n"}));
  EXPECT_EQ(pieces(*regex, "?Hello !!\r\nx   "), (V{"?Hello", " !!\r\n", "x", "   "}));
  EXPECT_EQ(pieces(*regex, "\u00e9t\u00e9 \u4e2d\u6587 \U0001F600\U0001F600"),
            (V{"\u00e9t\u00e9", " \u4e2d\u6587", " \U0001F600\U0001F600"}));
  // Qwen2's pattern differs only in single digits.
  auto qwen = SplitRegex::recognise(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  ASSERT_TRUE(qwen.has_value());
  EXPECT_EQ(pieces(*qwen, "x 2024"), (V{"x", " ", "2", "0", "2", "4"}));
  EXPECT_FALSE(SplitRegex::recognise(R"(\w+|[^\w\s]+)").has_value());
}

TEST(NormalizedText, KeepsTheInputSpanOfEveryByte) {
  NormalizedText text("a b\u00e9");
  text.replace(" ", "\u2581");  // "a▁bé": the ▁ stands for the space
  text.prepend("\u2581");       // "▁a▁bé": the new ▁ stands for the first character
  EXPECT_EQ(text.text(), "\u2581a\u2581b\u00e9");
  auto span = [&](size_t b, size_t e) {
    const Span s = text.original_span(b, e);
    return std::make_pair(s.begin, s.end);
  };
  EXPECT_EQ(span(0, 3), std::make_pair(0u, 1u));    // prepended ▁
  EXPECT_EQ(span(3, 4), std::make_pair(0u, 1u));    // a
  EXPECT_EQ(span(4, 7), std::make_pair(1u, 2u));    // ▁ for ' '
  EXPECT_EQ(span(8, 9), std::make_pair(3u, 5u));    // first byte of é: the whole character
  const NormalizedText tail = text.slice(4, text.size());
  EXPECT_EQ(tail.original_begin(), 1u);
  NormalizedText lower("\u0130X");
  lower.lowercase();  // İ -> i + U+0307, both standing for İ
  EXPECT_EQ(lower.text(), "i\u0307x");
  EXPECT_EQ(lower.original_span(0, 3).end, 2u);
  EXPECT_EQ(lower.original_span(3, 4).begin, 2u);
}

TEST(SplitPiece, BehavioursLikeHf) {
  const NormalizedText text("the-final--countdown");
  std::vector<std::pair<size_t, size_t>> dashes;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.text()[i] == '-') dashes.emplace_back(i, i + 1);
  }
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::removed)), (V{"the", "final", "countdown"}));
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::isolated)),
            (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::merged_with_previous)),
            (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::merged_with_next)),
            (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::contiguous)),
            (V{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(texts(split_piece(text, dashes, SplitBehavior::removed, /*invert=*/true)), (V{"-", "-", "-"}));
}

TEST(PreTokenizers, MetaspaceAndDigits) {
  std::vector<NormalizedText> parts{NormalizedText("Hey friend!  42")};
  MetaspacePreTokenizer("\u2581", PrependScheme::always, true).pre_tokenize(parts);
  EXPECT_EQ(texts(parts), (V{"\u2581Hey", "\u2581friend!", "\u2581", "\u258142"}));
  DigitsPreTokenizer(true).pre_tokenize(parts);
  EXPECT_EQ(texts(parts), (V{"\u2581Hey", "\u2581friend!", "\u2581", "\u2581", "4", "2"}));
  std::vector<NormalizedText> never{NormalizedText("a b")};
  MetaspacePreTokenizer("\u2581", PrependScheme::never, false).pre_tokenize(never);
  EXPECT_EQ(texts(never), (V{"a\u2581b"}));
}

TEST(Decoders, ByteFallbackFuseStripMetaspace) {
  SequenceDecoder llama([] {
    std::vector<std::unique_ptr<Decoder>> d;
    d.push_back(std::make_unique<ReplaceDecoder>("\u2581", " "));
    d.push_back(std::make_unique<ByteFallbackDecoder>());
    d.push_back(std::make_unique<FuseDecoder>());
    d.push_back(std::make_unique<StripDecoder>(U' ', 1, 0));
    return d;
  }());
  EXPECT_EQ(llama.decode({"\u2581Hey", "\u2581", "<0xE2>", "<0x98>", "<0x80>", "!"}), "Hey \u2600!");
  // Bytes that are not UTF-8 become one U+FFFD each.
  EXPECT_EQ(llama.decode({"\u2581a", "<0xE2>", "<0x98>", "b"}), "a\uFFFD\uFFFDb");
  EXPECT_EQ(MetaspaceDecoder("\u2581", PrependScheme::always).decode({"\u2581Hey", "\u2581friend"}),
            "Hey friend");
  EXPECT_EQ(MetaspaceDecoder("\u2581", PrependScheme::never).decode({"\u2581Hey"}), " Hey");
  EXPECT_EQ(WordPieceDecoder("##", true).decode({"un", "##aff", "##able", "!", "do", "n't"}),
            "unaffable! don't");
  EXPECT_EQ(BpeDecoder("</w>").decode({"hel", "lo</w>", "world</w>"}), "hello world");
  EXPECT_EQ(ByteLevelDecoder().decode({"Hello", "\u0120w\u00c3\u00b6rld", "<|im_end|>"}),
            "Hello w\u00f6rld<|im_end|>");
}

TEST(Decoders, Utf8LossyReplacesMaximalInvalidParts) {
  EXPECT_EQ(utf8_lossy("ab"), "ab");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\uFFFD");             // cut short: one replacement
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98x"), "\uFFFDx");
  EXPECT_EQ(utf8_lossy("\xC0\x80"), "\uFFFD\uFFFD");        // overlong: every byte
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(utf8_lossy("\xE2\x82\xAC"), "\u20AC");
}

TEST(BpeModel, ByteFallbackAndFusedUnknowns) {
  Vocab vocab;
  vocab.set("<unk>", 0);
  vocab.set("<0x61>", 1);
  vocab.set("b", 2);
  BpeOptions options;
  options.unk_token = "<unk>";
  options.byte_fallback = true;
  options.fuse_unk = true;
  BpeModel model(vocab, {}, "test", options);
  std::vector<ModelToken> tokens;
  model.tokenize("a", tokens);  // HF's test_bpe_byte_fallback
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].id, 1);
  tokens.clear();
  model.tokenize("ccb", tokens);  // no <0x63>: one fused unk for "cc"
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].id, 0);
  EXPECT_EQ(tokens[0].end, 2u);
  EXPECT_EQ(tokens[1].id, 2);
}

// A LLaMA-2 style tokenizer.json written by hand: the whole pipeline, bos/eos and decode.
TEST(TokenizerJson, SentencePieceStylePipeline) {
  lt::TempDir dir;
  std::string vocab = R"({"<unk>": 0, "<s>": 1, "</s>": 2)";
  for (int b = 0; b < 256; ++b) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02X", b);
    vocab += ", \"<0x" + std::string(hex) + ">\": " + std::to_string(3 + b);
  }
  vocab += R"(, "▁": 259, "H": 260, "i": 261, "▁H": 262, "▁Hi": 263, "!": 264})";
  lt::write_file(dir / "tokenizer.json", R"({
    "added_tokens": [
      {"id": 0, "content": "<unk>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
      {"id": 1, "content": "<s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false},
      {"id": 2, "content": "</s>", "special": true, "normalized": false, "lstrip": false, "rstrip": false, "single_word": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                   {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "pre_tokenizer": null,
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
              "vocab": )" + vocab + R"(, "merges": ["▁ H", "▁H i"]}})");
  auto tok = load_hf_tokenizer_json(dir / "tokenizer.json");
  const Encoding e = tok->encode("Hi \u00e9!");
  // <s> ▁Hi ▁ <0xC3> <0xA9> !
  EXPECT_EQ(e.input_ids, (std::vector<int64_t>{1, 263, 259, 3 + 0xC3, 3 + 0xA9, 264}));
  EXPECT_EQ(e.offsets, (std::vector<TokenOffsets>{{0, 0}, {0, 2}, {2, 3}, {3, 5}, {3, 5}, {5, 6}}));
  EXPECT_EQ(tok->decode(e.input_ids), "<s> Hi \u00e9!");
  EXPECT_EQ(tok->decode(e.input_ids, /*skip_special_tokens=*/true), "Hi \u00e9!");
  EXPECT_EQ(tok->bos_id(), 1);  // from the template
  EXPECT_FALSE(tok->eos_id().has_value());
  EXPECT_FALSE(tok->has_pad_id());
  EXPECT_THROW(tok->pad_id(), Error);

  // tokenizer_config.json beside it names eos and pad.
  lt::write_file(dir / "tokenizer_config.json", R"({"bos_token": {"content": "<s>"}, "eos_token": "</s>",
                                                   "pad_token": "</s>"})");
  tok = load_hf_tokenizer_json(dir / "tokenizer.json");
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->pad_id(), 2);
}

TEST(WordPieceTokenizer, OffsetsAndDecode) {
  lt::TempDir dir;
  lt::write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\n!\nhello\n");
  auto tok = WordPieceTokenizer::from_vocab_txt(dir / "vocab.txt");
  const Encoding e = tok->encode("Unaffable! H\u00e9llo");
  EXPECT_EQ(e.input_ids, (std::vector<int64_t>{2, 4, 5, 6, 7, 8, 3}));
  EXPECT_EQ(e.offsets, (std::vector<TokenOffsets>{{0, 0}, {0, 2}, {2, 5}, {5, 9}, {9, 10}, {11, 17}, {0, 0}}));
  EXPECT_EQ(tok->decode(e.input_ids, true), "unaffable! hello");
  EXPECT_EQ(tok->decode(e.input_ids, false), "[CLS] unaffable! hello [SEP]");
  EXPECT_THROW(tok->decode({99}), Error);
}

}  // namespace
}  // namespace lightpeft
