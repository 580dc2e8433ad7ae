#pragma once
// Reader of GGUF files (llama.cpp's checkpoint format, versions 2 and 3, little-endian):
//   "GGUF" | u32 version | u64 tensor_count | u64 kv_count
//   kv_count   x (string key | u32 value type | value)
//   tensor_count x (string name | u32 n_dims | u64 dims[n_dims] | u32 ggml type | u64 offset)
//   padding to `general.alignment` (default 32) | data section (each tensor at data start + offset)
// where a string is u64 length + bytes (no terminator) and an array value is u32 element type +
// u64 count + elements (arrays may nest). Dimensions are ggml's: dims[0] is the fastest-varying one,
// so a weight stored as [576, 1536] is the PyTorch tensor (1536, 576).
//
// Files are untrusted input: every count, length, dimension and offset is checked against the file
// before anything is read or allocated (counts bounded by the bytes left, dims by int64 overflow,
// tensors aligned, inside the data section and not overlapping, names and keys unique, value and
// tensor types known), and every violation throws lightpeft::Error naming the file and the key or
// tensor. Quantized tensors are dequantized to float32 exactly as python's `gguf.quants.dequantize`
// (same values, bit for bit).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lightpeft {

// GGUF metadata value types (the numbers are the file's).
enum class GgufType : uint32_t {
  UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
  String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
};
const char* gguf_type_name(GgufType type);  // "UINT32", "ARRAY", ...

// ggml tensor types (the numbers are the file's). Every type ggml defines is recognised, so that
// files with any of them parse; load_tensor dequantizes F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
// Q2_K Q3_K Q4_K Q5_K Q6_K and refuses the others clearly.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10,
  Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18,
  IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26,
  I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};
const char* ggml_type_name(GgmlType type);  // "Q4_K", ...
// Elements per block and bytes per block (1 and the element size for unquantized types).
int64_t ggml_block_size(GgmlType type);
int64_t ggml_type_size(GgmlType type);
// Whether load_tensor can dequantize this type.
bool ggml_can_dequantize(GgmlType type);

// One metadata value: a number, a bool, a string or an array of values (arrays may nest; all
// elements of one array have the file's element type). Arrays of numbers and bools keep the file's
// bytes (one byte of memory per byte of file, whatever a hostile file claims).
class GgufValue {
 public:
  GgufType type() const { return type_; }
  bool is_integer() const;  // UINT8..INT64
  bool is_float() const;    // FLOAT32, FLOAT64
  // Arrays: the element type, the number of elements and one element (0 / throws otherwise).
  GgufType element_type() const { return element_type_; }
  size_t size() const { return static_cast<size_t>(count_); }
  GgufValue element(size_t i) const;

  // Typed access; `what` names the value in errors (e.g. "model.gguf: key 'llama.block_count'").
  // Supported T: bool; int8_t..int64_t and uint8_t..uint64_t (from any integer type whose value
  // fits T); float and double (from FLOAT32/FLOAT64, or from an integer); std::string (from
  // STRING); std::vector<T> of those (from an ARRAY). Anything else throws lightpeft::Error saying
  // what was expected and what the file holds.
  template <typename T>
  T as(const std::string& what) const;

  // Short human-readable form for messages: 3 (UINT32), "text" (STRING), [4 x STRING] (ARRAY)...
  std::string describe() const;

 private:
  friend class GgufParser;
  // as<T>, for element `index` of the value named `what` (index < 0: the value itself); the name is
  // put together only for an error.
  template <typename T>
  T convert(const std::string& what, int64_t index) const;

  GgufType type_ = GgufType::UInt8;
  GgufType element_type_ = GgufType::UInt8;  // arrays only
  uint64_t u_ = 0;   // unsigned integers and bools
  int64_t i_ = 0;    // signed integers
  double f_ = 0.0;   // FLOAT32 (widened exactly) and FLOAT64
  std::string s_;    // STRING; for arrays of numbers or bools, the elements' bytes
  uint64_t count_ = 0;
  std::vector<GgufValue> elements_;  // arrays of strings or arrays
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] varies fastest
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;        // from the start of the data section
  uint64_t nbytes = 0;        // bytes of tensor data (checked to lie inside the file)

  // PyTorch order (dims reversed): GGUF dims [576, 1536] -> {1536, 576}.
  std::vector<int64_t> shape() const;
  int64_t numel() const;
};

class GgufFile {
 public:
  // Memory-maps and parses the file (header, metadata, tensor infos; tensor data is read by
  // load_tensor). Throws lightpeft::Error naming the path.
  static GgufFile open(const std::filesystem::path& path);
  // Parses an in-memory GGUF image (copied); `origin` names it in errors ("<fuzz>", a path).
  static GgufFile parse(const uint8_t* data, size_t size, const std::string& origin);

  const std::string& origin() const { return origin_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // where the data section starts

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufValue& value(const std::string& key) const;  // throws when absent
  // get<int64_t>("llama.block_count"): throws lightpeft::Error naming the file and key when the key
  // is missing or its value cannot be read as T (see GgufValue::as).
  template <typename T>
  T get(const std::string& key) const {
    return value(key).as<T>(what(key));
  }
  template <typename T>
  T get_or(const std::string& key, T fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as<T>(what(key)) : fallback;
  }

  // Tensor infos in file order.
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // nullptr when absent
  const GgufTensorInfo& tensor(const std::string& name) const;       // throws when absent

  // The tensor's data as a float32 CPU tensor of shape info.shape(), dequantized exactly as
  // gguf.quants.dequantize does. Throws for unknown names and for types that cannot be dequantized
  // ("unsupported tensor type IQ2_XS for tensor 'blk.0.attn_q.weight'").
  at::Tensor load_tensor(const std::string& name) const;
  at::Tensor load_tensor(const GgufTensorInfo& info) const;
  // The tensor's raw bytes inside the file (valid while this GgufFile lives).
  const uint8_t* tensor_data(const GgufTensorInfo& info) const;

  // "<origin>: key '<key>'" (how errors name a key).
  std::string what(const std::string& key) const;

 private:
  friend class GgufParser;
  GgufFile() = default;
  std::shared_ptr<const void> storage_;  // keeps the mapping or the copied bytes alive
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string origin_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t> key_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace lightpeft
