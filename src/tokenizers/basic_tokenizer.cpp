#include "lightpeft/tokenizers/basic_tokenizer.h"

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

// CJK ideograph blocks, as HF tokenizers' is_chinese_char. Note 0x2B920 (not 0x2B820, which
// Google's BERT and transformers' Python code use): HF's Rust code has it so, and we match HF.
bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Tab, newline and carriage return are control characters that BERT keeps as whitespace.
bool is_bert_control(char32_t cp) {
  return cp != '\t' && cp != '\n' && cp != '\r' && unicode::is_other(cp);
}

std::u32string clean_and_space_cjk(const std::u32string& text, const BertNormalizerOptions& options) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (options.clean_text) {
      if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
      if (unicode::is_whitespace(cp)) cp = U' ';
    }
    if (options.handle_chinese_chars && is_chinese_char(cp)) {
      out.push_back(U' ');
      out.push_back(cp);
      out.push_back(U' ');
    } else {
      out.push_back(cp);
    }
  }
  return out;
}

std::u32string strip_accents(const std::u32string& text) {
  std::u32string out;
  for (char32_t cp : unicode::nfd(text)) {
    if (!unicode::is_nonspacing_mark(cp)) out.push_back(cp);
  }
  return out;
}

}  // namespace

// BERT treats all non-alphanumeric ASCII as punctuation ('$', '^', '`' are symbols in Unicode).
bool is_bert_punctuation(char32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126) || (cp >= 0x80 && unicode::is_punctuation(cp));
}

void bert_normalize(NormalizedText& text, const BertNormalizerOptions& options) {
  // HF's BertNormalizer step by step (filter, map, transform, NFD + filter, lowercase), so that the
  // alignments come out as HF's.
  if (options.clean_text) {
    text.filter([](char32_t cp) { return !(cp == 0 || cp == 0xFFFD || is_bert_control(cp)); });
    text.map([](char32_t cp) { return unicode::is_whitespace(cp) ? U' ' : cp; });
  }
  if (options.handle_chinese_chars) {
    bool any = false;
    text.for_each_char([&](char32_t cp, size_t, size_t) { any = any || is_chinese_char(cp); });
    if (any) {
      std::vector<NormalizedText::Change> changes;
      text.for_each_char([&](char32_t cp, size_t, size_t) {
        if (is_chinese_char(cp)) {
          changes.push_back({U' ', 0});
          changes.push_back({cp, 1});
          changes.push_back({U' ', 1});
        } else {
          changes.push_back({cp, 0});
        }
      });
      text.transform(changes);
    }
  }
  if (options.strip_accents.value_or(options.lowercase)) {
    text.nfd();
    text.filter([](char32_t cp) { return !unicode::is_nonspacing_mark(cp); });
  }
  if (options.lowercase) text.lowercase();
}

std::vector<NormalizedText> bert_pre_tokenize(const NormalizedText& normalized) {
  std::vector<NormalizedText> words;
  size_t word_start = 0;
  auto flush = [&](size_t end) {
    if (end > word_start) words.push_back(normalized.slice(word_start, end));
  };
  normalized.for_each_char([&](char32_t cp, size_t pos, size_t length) {
    if (unicode::is_whitespace(cp)) {
      flush(pos);
      word_start = pos + length;
    } else if (is_bert_punctuation(cp)) {
      flush(pos);
      words.push_back(normalized.slice(pos, pos + length));
      word_start = pos + length;
    }
  });
  flush(normalized.size());
  return words;
}

std::string bert_normalize(const std::string& text, const BertNormalizerOptions& options) {
  // Same order as HF's BertNormalizer: clean, CJK, accents, then lower case.
  std::u32string chars = clean_and_space_cjk(unicode::decode_utf8(text), options);
  if (options.strip_accents.value_or(options.lowercase)) chars = strip_accents(chars);
  if (options.lowercase) {
    std::u32string lower;
    lower.reserve(chars.size());
    for (char32_t cp : chars) unicode::append_lowercase(lower, cp);
    chars.swap(lower);
  }
  return unicode::encode_utf8(chars);
}

std::vector<std::string> bert_pre_tokenize(const std::string& normalized) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char32_t cp : unicode::decode_utf8(normalized)) {
    if (unicode::is_whitespace(cp)) {
      flush();
    } else if (is_bert_punctuation(cp)) {
      flush();
      unicode::append_utf8(word, cp);
      flush();
    } else {
      unicode::append_utf8(word, cp);
    }
  }
  flush();
  return words;
}

}  // namespace lightpeft
