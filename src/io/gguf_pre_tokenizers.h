#pragma once
// tokenizer.ggml.pre names and the split regexes they stand for (private to src/io): read by
// gguf_hf_tokenizer.cpp (GGUF -> tokenizer.json, as transformers) and written by
// hf_gguf_tokenizer.cpp (tokenizer.json -> GGUF), so the two directions agree.
#include <string>

namespace lightpeft {

// The split regex transformers puts before ByteLevel for tokenizer.ggml.pre `pre`
// (GGUF_PRE_TOKENIZER_SPLITS), or nullptr: the tokenizer class keeps its own pre-tokenizer.
const char* gguf_pre_split(const std::string& pre);
// The tokenizer.ggml.pre name llama.cpp uses for a split regex (the canonical one of the names that
// share it: "llama-bpe" for LLaMA 3's), or "" when no name stands for it.
std::string gguf_pre_name_of_split(const std::string& regex);

}  // namespace lightpeft
