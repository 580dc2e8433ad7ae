#include "lightpeft/io/gguf_writer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include <c10/util/Half.h>

#include "lightpeft/core/error.h"
#include "lightpeft/io/atomic_file.h"

namespace lightpeft {
namespace {

constexpr uint32_t kVersion = 3;
constexpr uint64_t kAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT: no general.alignment key needed

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}
uint64_t padded(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

// Writes `data` (float32 contiguous CPU) as `type`.
void write_tensor_data(std::ostream& os, const at::Tensor& data, GgmlType type) {
  if (type == GgmlType::F32) {
    os.write(static_cast<const char*>(data.const_data_ptr()), static_cast<std::streamsize>(data.numel() * 4));
  } else if (type == GgmlType::F16) {
    const at::Tensor h = data.to(at::kHalf).contiguous();  // c10::Half: round to nearest even, as numpy
    os.write(static_cast<const char*>(h.const_data_ptr()), static_cast<std::streamsize>(h.numel() * 2));
  } else {
    const std::string q = quantize_q8_0(data);
    os.write(q.data(), static_cast<std::streamsize>(q.size()));
  }
}

}  // namespace

bool ggml_can_write(GgmlType type) {
  return type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::Q8_0;
}

bool ggml_can_quantize_rows(GgmlType type, int64_t row_length) {
  return row_length % ggml_block_size(type) == 0;
}

GgmlType parse_ggml_write_type(const std::string& name, const std::string& origin) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == "F32") return GgmlType::F32;
  if (upper == "F16") return GgmlType::F16;
  if (upper == "Q8_0") return GgmlType::Q8_0;
  throw_error(origin, ": GGUF tensor type '", name, "' is not supported (supported: F32, F16, Q8_0)");
}

std::string quantize_q8_0(const at::Tensor& data) {
  LP_CHECK(data.scalar_type() == at::kFloat && data.is_contiguous() && data.device().is_cpu(),
           "quantize_q8_0: expected a contiguous float32 CPU tensor");
  constexpr int64_t kBlock = 32;
  LP_CHECK(data.numel() % kBlock == 0, "quantize_q8_0: ", data.numel(), " values are not whole blocks of 32");
  const float* x = data.const_data_ptr<float>();
  std::string out;
  out.reserve(static_cast<size_t>(data.numel() / kBlock * 34));
  for (int64_t b = 0; b < data.numel(); b += kBlock) {
    // gguf.quants.Q8_0.quantize_blocks, in float32 as numpy computes it:
    //   d = max|x| / 127; id = 0 if d == 0 else 1 / d; q = np_roundf(x * id); d stored as float16.
    float amax = 0.0f;
    for (int64_t i = 0; i < kBlock; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float d = amax / 127.0f;
    const float id = d == 0.0f ? 0.0f : 1.0f / d;
    const c10::Half dh(d);
    put<uint16_t>(out, dh.x);
    for (int64_t i = 0; i < kBlock; ++i) {
      // np_roundf: round half away from zero, as floor(|v|) + floor(2 (|v| - floor(|v|))).
      const float v = x[b + i] * id;
      const float a = std::fabs(v), fl = std::floor(a);
      const float r = fl + std::floor(2.0f * (a - fl));
      const float q = v > 0.0f ? r : (v < 0.0f ? -r : 0.0f);
      put<int8_t>(out, static_cast<int8_t>(q));
    }
  }
  return out;
}

void GgufWriter::begin_key(const std::string& key, GgufType type) {
  LP_CHECK(!has(key), "GGUF writer: metadata key '", key, "' is given twice");
  keys_.push_back(key);
  put_string(kv_bytes_, key);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(type));
}

bool GgufWriter::has(const std::string& key) const {
  return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
}

GgufWriter& GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  begin_key(key, GgufType::UInt32);
  put(kv_bytes_, value);
  return *this;
}

GgufWriter& GgufWriter::add_int32(const std::string& key, int32_t value) {
  begin_key(key, GgufType::Int32);
  put(kv_bytes_, value);
  return *this;
}

GgufWriter& GgufWriter::add_float32(const std::string& key, float value) {
  begin_key(key, GgufType::Float32);
  put(kv_bytes_, value);
  return *this;
}

GgufWriter& GgufWriter::add_bool(const std::string& key, bool value) {
  begin_key(key, GgufType::Bool);
  put<uint8_t>(kv_bytes_, value ? 1 : 0);
  return *this;
}

GgufWriter& GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_key(key, GgufType::String);
  put_string(kv_bytes_, value);
  return *this;
}

GgufWriter& GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  LP_CHECK(!values.empty(), "GGUF writer: metadata key '", key, "': an array may not be empty");
  begin_key(key, GgufType::Array);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::Int32));
  put<uint64_t>(kv_bytes_, values.size());
  for (int32_t v : values) put(kv_bytes_, v);
  return *this;
}

GgufWriter& GgufWriter::add_float32_array(const std::string& key, const std::vector<float>& values) {
  LP_CHECK(!values.empty(), "GGUF writer: metadata key '", key, "': an array may not be empty");
  begin_key(key, GgufType::Array);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::Float32));
  put<uint64_t>(kv_bytes_, values.size());
  for (float v : values) put(kv_bytes_, v);
  return *this;
}

GgufWriter& GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  LP_CHECK(!values.empty(), "GGUF writer: metadata key '", key, "': an array may not be empty");
  begin_key(key, GgufType::Array);
  put<uint32_t>(kv_bytes_, static_cast<uint32_t>(GgufType::String));
  put<uint64_t>(kv_bytes_, values.size());
  for (const auto& v : values) put_string(kv_bytes_, v);
  return *this;
}

GgufWriter& GgufWriter::add_tensor(const std::string& name, const at::Tensor& data, GgmlType type) {
  for (const Tensor& t : tensors_)
    LP_CHECK(t.name != name, "GGUF writer: tensor '", name, "' is given twice");
  LP_CHECK(ggml_can_write(type), "GGUF writer: tensor '", name, "': cannot write type ", ggml_type_name(type),
           " (supported: F32, F16, Q8_0)");
  LP_CHECK(data.defined() && c10::isFloatingType(data.scalar_type()), "GGUF writer: tensor '", name,
           "': expected a floating-point tensor");
  LP_CHECK(data.dim() >= 1 && data.dim() <= 4, "GGUF writer: tensor '", name, "': ggml holds 1 to 4 dimensions, got ",
           data.dim());
  for (int64_t s : data.sizes()) LP_CHECK(s > 0, "GGUF writer: tensor '", name, "' has an empty dimension: ", data.sizes());
  LP_CHECK(ggml_can_quantize_rows(type, data.size(-1)), "GGUF writer: tensor '", name, "': rows of ", data.size(-1),
           " values are not whole ", ggml_type_name(type), " blocks of ", ggml_block_size(type));
  const uint64_t nbytes = static_cast<uint64_t>(data.numel() / ggml_block_size(type) * ggml_type_size(type));
  tensors_.push_back({name, data, type, nbytes});
  return *this;
}

void GgufWriter::write(const std::filesystem::path& path) const {
  std::string head = "GGUF";
  put<uint32_t>(head, kVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, keys_.size());
  head += kv_bytes_;
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.data.dim()));
    for (int64_t d = t.data.dim() - 1; d >= 0; --d) put<uint64_t>(head, static_cast<uint64_t>(t.data.size(d)));
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, offset);
    offset += padded(t.nbytes);
  }
  head.append(padded(head.size()) - head.size(), '\0');
  write_file_atomic(path, [&](std::ostream& os) {
    os.write(head.data(), static_cast<std::streamsize>(head.size()));
    const std::string zeros(kAlignment, '\0');
    for (const Tensor& t : tensors_) {
      const at::Tensor f = t.data.detach().to(at::kCPU, at::kFloat).contiguous();
      write_tensor_data(os, f, t.type);
      os.write(zeros.data(), static_cast<std::streamsize>(padded(t.nbytes) - t.nbytes));
    }
  });
}

}  // namespace lightpeft
