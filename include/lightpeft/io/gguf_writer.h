#pragma once
// Writer of GGUF v3 files (the layout io/gguf.h reads), laid out as python's gguf.GGUFWriter does:
// header, metadata in the order added, tensor infos, zero padding to the alignment (32), then each
// tensor's data padded to the alignment. Tensors are given as float tensors in PyTorch order and
// stored as F32, F16 (round to nearest even, numpy's astype) or Q8_0 (bit-exact with
// gguf.quants.quantize, itself bit-exact with ggml-quants.c).
//
// Metadata value types are the ones llama.cpp's converter writes for each kind of key (UINT32 for
// sizes and token ids, FLOAT32 for epsilons and RoPE numbers, INT32 arrays for per-layer sizes and
// token types, STRING arrays for tokens and merges); the writer only lays out what it is given.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lightpeft/io/gguf.h"

namespace lightpeft {

class GgufWriter {
 public:
  // Metadata. A key given twice, or an empty array (python's writer refuses both), throws
  // lightpeft::Error naming the key.
  GgufWriter& add_uint32(const std::string& key, uint32_t value);
  GgufWriter& add_int32(const std::string& key, int32_t value);
  GgufWriter& add_float32(const std::string& key, float value);
  GgufWriter& add_bool(const std::string& key, bool value);
  GgufWriter& add_string(const std::string& key, const std::string& value);
  GgufWriter& add_int32_array(const std::string& key, const std::vector<int32_t>& values);
  GgufWriter& add_float32_array(const std::string& key, const std::vector<float>& values);
  GgufWriter& add_string_array(const std::string& key, const std::vector<std::string>& values);

  // A tensor (floating point, any device; PyTorch order: a (out, in) weight is stored with ggml dims
  // [in, out]) to be written as `type`: F32, F16 or Q8_0. Q8_0 needs the last dimension to be a
  // multiple of 32 (ggml_can_quantize_rows tells). Throws naming the tensor for a duplicate name, an
  // unsupported type or a shape the type cannot hold. The tensor is kept (not copied) until write().
  GgufWriter& add_tensor(const std::string& name, const at::Tensor& data, GgmlType type);

  bool has(const std::string& key) const;
  size_t tensor_count() const { return tensors_.size(); }

  // The whole file, atomically (io/atomic_file.h); tensors are converted one at a time.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    at::Tensor data;
    GgmlType type;
    uint64_t nbytes;
  };
  void begin_key(const std::string& key, GgufType type);
  std::vector<std::string> keys_;
  std::string kv_bytes_;
  std::vector<Tensor> tensors_;
};

// The ggml types GgufWriter writes: F32, F16, Q8_0.
bool ggml_can_write(GgmlType type);
// Whether rows of `row_length` elements (a tensor's last PyTorch dimension) fit `type`'s blocks.
bool ggml_can_quantize_rows(GgmlType type, int64_t row_length);
// Parses "F32" / "F16" / "Q8_0" (case-insensitive); throws listing them for anything else.
GgmlType parse_ggml_write_type(const std::string& name, const std::string& origin);

// The bytes of `data` (float32, contiguous, numel a multiple of 32) as Q8_0 blocks: per 32 values,
// d = max|x| / 127 as float16, then round-half-away(x / d) as int8 (gguf.quants' Q8_0, bit-exact).
std::string quantize_q8_0(const at::Tensor& data);

}  // namespace lightpeft
