#pragma once
// Where a model given by a user lives. A model is an HF-layout folder (config.json, weights,
// tokenizer files) or a GGUF file: `model: path/to/SmolLM2-135M-Instruct.Q4_1.gguf`, or a folder
// that holds exactly one .gguf and no config.json. A GGUF is converted once (io/gguf_hf.h: config,
// float32 weights with llama.cpp's Q/K permutation undone, tokenizer files) into a folder of the
// cache, and every loader reads that folder, so configs, weights, tokenizer and chat template come
// from one place whatever the user gave.
#include <filesystem>

namespace lightpeft {

// The HF folder of a model path: the path itself for an HF folder (or a weights file), the cached
// conversion of a GGUF otherwise. The cache is $LIGHTPEFT_CACHE/gguf (default
// ~/.cache/lightpeft/gguf), one folder per GGUF path, size and modification time; it is written
// atomically (a half-written conversion is never used). Throws lightpeft::Error for a path that
// does not exist.
std::filesystem::path resolve_model_dir(const std::filesystem::path& path);

// True when `path` is a .gguf file or a folder holding one and no config.json.
bool is_gguf_model(const std::filesystem::path& path);

}  // namespace lightpeft
