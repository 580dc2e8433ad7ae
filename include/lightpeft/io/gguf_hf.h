#pragma once
// GGUF -> the files of a Hugging Face model folder, as transformers' GGUF loader builds them
// (`from_pretrained(folder, gguf_file=...)`, transformers 5.24): config.json, the weights under HF
// names (float32), tokenizer.json and tokenizer_config.json. Architectures: "llama" (LLaMA 1-3,
// SmolLM, Mistral-style files that say llama).
//
// Where transformers' conversion would give a model that does not match the file, we follow the
// file instead, and say so here:
//   - attention_bias / mlp_bias are true when the file has those bias tensors (transformers leaves
//     them false and drops the biases);
//   - rope_scaling is written from llama.rope.scaling.* (type linear or yarn) when present;
//   - Q/K are un-permuted even when llama.attention.head_count_kv is absent (taken equal to
//     head_count, as llama.cpp does; transformers then skips the un-permutation);
//   - tensors with no HF counterpart are refused (transformers drops them silently), except
//     rope_freqs.weight (llama-3 RoPE factors; HF derives them from the config) and
//     attn_rot_embd, which are skipped.
#include <filesystem>
#include <string>
#include <vector>

#include "lightpeft/io/gguf.h"
#include "lightpeft/io/state_dict.h"

namespace lightpeft {

// What an HF model folder holds.
struct HfFolderContents {
  std::string config_json;            // config.json
  std::string tokenizer_json;         // tokenizer.json
  std::string tokenizer_config_json;  // tokenizer_config.json
  StateDict weights;                  // model.safetensors: float32, HF names (no lm_head when tied)
};

// The `general.architecture` values gguf_to_hf converts.
const std::vector<std::string>& gguf_hf_architectures();

// All of the below. Throws lightpeft::Error naming the file (and key or tensor) for unsupported
// architectures or tokenizers, missing or ill-typed metadata, and tensors whose names or shapes do
// not fit the configuration.
HfFolderContents gguf_to_hf(const GgufFile& file);

// config.json: model_type, the llama.* hyper-parameters under transformers' names, rope_theta and
// rope_parameters, rope_scaling when present, tie_word_embeddings (no `output.weight` tensor),
// bos/eos/pad/unk token ids, attention_bias/mlp_bias.
std::string gguf_hf_config_json(const GgufFile& file);

// The weights under HF names, dequantized to float32, with llama.cpp's Q/K row permutation undone
// (q with head_count heads, k with head_count_kv heads).
StateDict gguf_hf_state_dict(const GgufFile& file);

// tokenizer.json as transformers builds it for tokenizer.ggml.model "gpt2" (byte-level BPE) and
// "llama" (SentencePiece BPE with byte fallback; merges recovered from the scores when the file has
// none): vocabulary, merges, added tokens (control tokens special, user-defined tokens not),
// pre-tokenizer (by tokenizer.ggml.pre), decoder and the BOS/EOS post-processor.
std::string gguf_hf_tokenizer_json(const GgufFile& file);

// tokenizer_config.json: bos/eos/unk/pad tokens (the strings of the tokenizer.ggml.*_token_id ids),
// add_bos_token/add_eos_token, chat_template (tokenizer.chat_template), model_max_length.
std::string gguf_hf_tokenizer_config_json(const GgufFile& file);

// Converts the GGUF at `gguf_path` and writes config.json, model.safetensors, tokenizer.json and
// tokenizer_config.json into `out_dir` (created if needed), each atomically (io/atomic_file.h).
// Nothing is written when the conversion fails.
void write_hf_folder(const std::filesystem::path& gguf_path, const std::filesystem::path& out_dir);

}  // namespace lightpeft
