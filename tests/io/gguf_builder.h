#pragma once
// Writes small GGUF images by hand for the tests (valid ones, and broken ones through the overrides:
// a count, an offset or a type that lies). Little-endian, as the format.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace lightpeft::testing {

class GgufBuilder {
 public:
  // Raw pieces, appended as the file has them.
  static void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
  static void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
  static void put_str(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
  }

  // Metadata: the key, then `value` (type + payload, as built by the helpers below).
  GgufBuilder& kv(const std::string& key, const std::string& typed_value) {
    std::string e;
    put_str(e, key);
    e += typed_value;
    kvs_.push_back(e);
    return *this;
  }
  GgufBuilder& u32(const std::string& key, uint32_t v) { return kv(key, typed(4, pod(v))); }
  GgufBuilder& i32(const std::string& key, int32_t v) { return kv(key, typed(5, pod(v))); }
  GgufBuilder& f32(const std::string& key, float v) { return kv(key, typed(6, pod(v))); }
  GgufBuilder& boolean(const std::string& key, bool v) { return kv(key, typed(7, std::string(1, v ? 1 : 0))); }
  GgufBuilder& str(const std::string& key, const std::string& v) {
    std::string s;
    put_str(s, v);
    return kv(key, typed(8, s));
  }
  GgufBuilder& str_array(const std::string& key, const std::vector<std::string>& v) {
    std::string s;
    put_u32(s, 8);
    put_u64(s, v.size());
    for (const auto& x : v) put_str(s, x);
    return kv(key, typed(9, s));
  }
  GgufBuilder& i32_array(const std::string& key, const std::vector<int32_t>& v) {
    std::string s;
    put_u32(s, 5);
    put_u64(s, v.size());
    for (int32_t x : v) s += pod(x);
    return kv(key, typed(9, s));
  }
  GgufBuilder& f32_array(const std::string& key, const std::vector<float>& v) {
    std::string s;
    put_u32(s, 6);
    put_u64(s, v.size());
    for (float x : v) s += pod(x);
    return kv(key, typed(9, s));
  }

  // A tensor: dims in GGUF order, `type` a ggml type id, `data` its bytes.
  GgufBuilder& tensor(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                      const std::string& data) {
    tensors_.push_back({name, dims, type, data, std::nullopt});
    return *this;
  }
  GgufBuilder& tensor_f32(const std::string& name, const std::vector<uint64_t>& dims, const std::vector<float>& v) {
    std::string data;
    for (float x : v) data += pod(x);
    return tensor(name, dims, 0, data);
  }
  // Lies: a tensor's stated offset, the header's counts, the version.
  GgufBuilder& offset_of(const std::string& name, uint64_t offset) {
    for (auto& t : tensors_)
      if (t.name == name) t.offset = offset;
    return *this;
  }
  GgufBuilder& count_kv(uint64_t n) {
    n_kv_ = n;
    return *this;
  }
  GgufBuilder& count_tensors(uint64_t n) {
    n_tensors_ = n;
    return *this;
  }
  GgufBuilder& version(uint32_t v) {
    version_ = v;
    return *this;
  }

  std::string bytes(uint64_t alignment = 32) const {
    std::string out = "GGUF";
    put_u32(out, version_);
    put_u64(out, n_tensors_.value_or(tensors_.size()));
    put_u64(out, n_kv_.value_or(kvs_.size()));
    for (const auto& e : kvs_) out += e;
    std::string data;
    for (const auto& t : tensors_) {
      put_str(out, t.name);
      put_u32(out, static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) put_u64(out, d);
      put_u32(out, t.type);
      data.append((alignment - data.size() % alignment) % alignment, '\0');
      put_u64(out, t.offset.value_or(data.size()));
      data += t.data;
    }
    out.append((alignment - out.size() % alignment) % alignment, '\0');
    return out + data;
  }

  template <typename T>
  static std::string pod(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  static std::string typed(uint32_t type, const std::string& payload) {
    std::string s;
    put_u32(s, type);
    return s + payload;
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string data;
    std::optional<uint64_t> offset;
  };
  uint32_t version_ = 3;
  std::vector<std::string> kvs_;
  std::vector<Tensor> tensors_;
  std::optional<uint64_t> n_kv_, n_tensors_;
};

}  // namespace lightpeft::testing
