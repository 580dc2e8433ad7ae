#pragma once
// Reads HF tokenizers' tokenizer.json for the two model kinds lightpeft implements:
//   model.type "WordPiece" with a BertNormalizer (or none) and BertPreTokenizer, and
//   model.type "BPE" with a ByteLevel pre-tokenizer and no normalizer,
// post_processor TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, a Sequence of
// these, or null. Vocab, merges ("a b" strings or [a, b] lists) and added_tokens are read; the file's
// truncation and padding sections are ignored (EncodeOptions decides). Anything else is rejected
// with a lightpeft::Error naming the file and the JSON key.
#include <filesystem>
#include <memory>

#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path);

}  // namespace lightpeft
