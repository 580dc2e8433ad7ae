#pragma once
// Reads HF tokenizers' tokenizer.json into a Tokenizer with the same pipeline:
//   model        WordPiece, or BPE (unk_token, fuse_unk, byte_fallback, ignore_merges);
//   normalizer   BertNormalizer, Sequence, Prepend, Replace (String pattern), Lowercase, NFC, NFD,
//                StripAccents, Strip, or null;
//   pre_tokenizer (the key must be there) BertPreTokenizer, WhitespaceSplit, ByteLevel, Split (the
//                GPT-2, LLaMA-3 and Qwen2 regexes, recognised by their exact text, or a String
//                pattern), Digits, Metaspace, Sequence, or null;
//   post_processor TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, a Sequence of
//                these, or null (trim_offsets applied to offsets);
//   decoder      ByteLevel, WordPiece, Metaspace, Replace (String), ByteFallback, Fuse, Strip,
//                BPEDecoder, Sequence, or null;
//   added_tokens with special, normalized, lstrip, rstrip and single_word.
// The file's truncation and padding sections are ignored (EncodeOptions decides), except
// padding.pad_id as the pad id. A tokenizer_config.json beside the file gives bos/eos/pad tokens and
// clean_up_tokenization_spaces, as transformers reads them. Anything else is rejected with a
// lightpeft::Error naming the file and the JSON key.
#include <filesystem>
#include <memory>

#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path);

}  // namespace lightpeft
