#pragma once
// The files of an HF llama-family model folder -> GGUF, as llama.cpp's convert_hf_to_gguf.py writes
// LlamaForCausalLM / MistralForCausalLM (general.architecture "llama"): the inverse of gguf_hf.h.
//   weights   llama.cpp's tensor names (token_embd, blk.N.attn_q, ..., output_norm, output; no
//             output when the embeddings are tied), q_proj/k_proj rows permuted per head from HF's
//             rotate_half layout to llama.cpp's interleaved pairs (what gguf_hf.cpp undoes);
//             1-D tensors F32, the others in the asked type (F32, F16 or Q8_0; a Q8_0 tensor whose
//             rows are not whole 32-value blocks falls back to F16, as the converter does).
//   metadata  llama.block_count, context_length, embedding_length, feed_forward_length,
//             attention.head_count / head_count_kv, attention.key_length / value_length,
//             rope.dimension_count, rope.freq_base, rope.scaling.* (linear; llama3 as the
//             rope_freqs.weight factors the converter computes), layer_norm_rms_epsilon,
//             vocab_size, general.file_type, general.quantization_version.
//   tokenizer byte-level BPE (tokenizer.json) as tokenizer.ggml.model "gpt2": tokens in id order
//             (padded to vocab_size with "[PAD<id>]" tokens, type UNUSED), token_type (added special
//             tokens, and added tokens that look special, CONTROL; other added tokens
//             USER_DEFINED), merges, pre (tokenizer.ggml.pre from the pre-tokenizer: "gpt-2" for
//             plain ByteLevel, the name of a known split regex, "smollm" for digits + ByteLevel),
//             bos/eos/unknown/padding ids, add_bos/add_eos, chat_template (gguf.SpecialVocab's
//             rules: tokenizer_config.json first, the TemplateProcessing post-processor, then the
//             config's *_token_id).
//
// Pruned models: lightpeft's per-layer keys in config.json (num_key_value_heads_per_layer,
// intermediate_size_per_layer) become per-layer arrays of head_count, head_count_kv and
// feed_forward_length where the layers differ, with the matching per-layer tensor shapes (llama.cpp
// reads the arrays; its llama graph sizes every layer by layer 0's values, so a file for llama.cpp
// has layers of one shape: the export pads them, pruning/unit_padding.h). gguf_hf.h reads such
// files back.
//
// Errors (lightpeft::Error naming the key or tensor): another model_type, hidden_act other than
// silu, a RoPE scaling llama.cpp's llama graph does not have, a tokenizer that is not byte-level BPE
// or whose pre-tokenizer has no tokenizer.ggml.pre name, a tensor with no llama.cpp counterpart or
// the wrong shape, a missing tensor.
#include <filesystem>
#include <string>

#include "lightpeft/io/gguf.h"
#include "lightpeft/io/gguf_hf.h"
#include "lightpeft/io/gguf_writer.h"

namespace lightpeft {

struct GgufExportOptions {
  GgmlType type = GgmlType::F16;  // of the 2-D tensors
  std::string name;               // general.name; omitted when empty
};

// The model_type values hf_to_gguf converts ("llama", "mistral").
const std::vector<std::string>& hf_gguf_model_types();

// Metadata and tensors of the GGUF for `hf` (config.json, tokenizer.json, tokenizer_config.json and
// the weights under HF names). The writer refers to hf.weights' tensors: keep `hf` alive until it
// has written.
GgufWriter hf_to_gguf(const HfFolderContents& hf, const GgufExportOptions& options = {});
// hf_to_gguf, written atomically to `file`.
void write_gguf(const HfFolderContents& hf, const std::filesystem::path& file,
                const GgufExportOptions& options = {});

// The tokenizer part alone: tokenizer.ggml.* and tokenizer.chat_template for a vocabulary of
// `vocab_size` rows (the embedding's). `config_json` (may be empty) supplies *_token_id fallbacks.
void add_gguf_tokenizer(GgufWriter& writer, const std::string& tokenizer_json,
                        const std::string& tokenizer_config_json, const std::string& config_json,
                        int64_t vocab_size);

}  // namespace lightpeft
