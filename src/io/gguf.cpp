#include "lightpeft/io/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

#include "gguf_dequantize.h"
#include "lightpeft/core/error.h"
#include "mapped_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF reading assumes a little-endian host (the files we read are little-endian)"
#endif

namespace lightpeft {

// ---- type tables ---------------------------------------------------------------------------------

namespace {

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;
  int64_t block_size;  // elements per block
  int64_t type_size;   // bytes per block
  bool dequantizable;
};

// Every type ggml defines (ggml.h), so that any valid file parses and sizes can be checked.
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {GgmlType::F32, "F32", 1, 4, true},          {GgmlType::F16, "F16", 1, 2, true},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true},      {GgmlType::Q4_1, "Q4_1", 32, 20, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, true},      {GgmlType::Q5_1, "Q5_1", 32, 24, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true},      {GgmlType::Q8_1, "Q8_1", 32, 40, false},
    {GgmlType::Q2_K, "Q2_K", 256, 84, true},     {GgmlType::Q3_K, "Q3_K", 256, 110, true},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true},    {GgmlType::Q5_K, "Q5_K", 256, 176, true},
    {GgmlType::Q6_K, "Q6_K", 256, 210, true},    {GgmlType::Q8_K, "Q8_K", 256, 292, false},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, false}, {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, false}, {GgmlType::IQ1_S, "IQ1_S", 256, 50, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, false}, {GgmlType::IQ3_S, "IQ3_S", 256, 110, false},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, false},  {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, false},
    {GgmlType::I8, "I8", 1, 1, false},           {GgmlType::I16, "I16", 1, 2, false},
    {GgmlType::I32, "I32", 1, 4, false},         {GgmlType::I64, "I64", 1, 8, false},
    {GgmlType::F64, "F64", 1, 8, false},         {GgmlType::IQ1_M, "IQ1_M", 256, 56, false},
    {GgmlType::BF16, "BF16", 1, 2, true},        {GgmlType::TQ1_0, "TQ1_0", 256, 54, false},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, false},  {GgmlType::MXFP4, "MXFP4", 32, 17, false},
};

const GgmlTypeInfo* ggml_info(uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (static_cast<uint32_t>(t.type) == id) return &t;
  return nullptr;
}

const GgmlTypeInfo& ggml_info(GgmlType type) {
  const GgmlTypeInfo* info = ggml_info(static_cast<uint32_t>(type));
  LP_CHECK(info, "unknown ggml tensor type ", static_cast<uint32_t>(type));
  return *info;
}

constexpr const char* kValueTypeNames[] = {"UINT8", "INT8",   "UINT16", "INT16", "UINT32",
                                           "INT32", "FLOAT32", "BOOL",  "STRING", "ARRAY",
                                           "UINT64", "INT64",  "FLOAT64"};

bool is_signed_type(GgufType t) {
  return t == GgufType::Int8 || t == GgufType::Int16 || t == GgufType::Int32 || t == GgufType::Int64;
}

// The smallest number of bytes a value of this type takes in the file: bounds array counts by
// the bytes left before anything is allocated.
uint64_t min_value_size(GgufType t) {
  switch (t) {
    case GgufType::UInt8: case GgufType::Int8: case GgufType::Bool: return 1;
    case GgufType::UInt16: case GgufType::Int16: return 2;
    case GgufType::UInt32: case GgufType::Int32: case GgufType::Float32: return 4;
    case GgufType::UInt64: case GgufType::Int64: case GgufType::Float64: return 8;
    case GgufType::String: return 8;   // the length
    case GgufType::Array: return 12;   // element type + count
  }
  return 1;
}

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;        // nested arrays: real files use none; bounds recursion
// Strings and arrays inside metadata arrays, all arrays together. Real vocabularies hold a few
// hundred thousand tokens and as many merges; 2^24 is far above that and bounds the memory a hostile
// file can make us allocate.
constexpr uint64_t kMaxBoxedValues = uint64_t{1} << 24;

}  // namespace

const char* gguf_type_name(GgufType type) {
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kValueTypeNames) ? kValueTypeNames[i] : "UNKNOWN";
}

const char* ggml_type_name(GgmlType type) {
  const GgmlTypeInfo* info = ggml_info(static_cast<uint32_t>(type));
  return info ? info->name : "UNKNOWN";
}
int64_t ggml_block_size(GgmlType type) { return ggml_info(type).block_size; }
int64_t ggml_type_size(GgmlType type) { return ggml_info(type).type_size; }
bool ggml_can_dequantize(GgmlType type) {
  const GgmlTypeInfo* info = ggml_info(static_cast<uint32_t>(type));
  return info && info->dequantizable;
}

// ---- values --------------------------------------------------------------------------------------

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufType::UInt8: case GgufType::Int8: case GgufType::UInt16: case GgufType::Int16:
    case GgufType::UInt32: case GgufType::Int32: case GgufType::UInt64: case GgufType::Int64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_float() const { return type_ == GgufType::Float32 || type_ == GgufType::Float64; }

GgufValue GgufValue::element(size_t i) const {
  LP_CHECK(type_ == GgufType::Array, "GgufValue::element: not an array but ", describe());
  LP_CHECK(i < count_, "GgufValue::element: index ", i, " out of range for ", describe());
  if (element_type_ == GgufType::String || element_type_ == GgufType::Array) return elements_[i];
  // Numbers and bools: decode the element's bytes.
  GgufValue v;
  v.type_ = element_type_;
  const char* p = s_.data() + i * min_value_size(element_type_);
  auto load = [p](auto x) {
    std::memcpy(&x, p, sizeof(x));
    return x;
  };
  switch (element_type_) {
    case GgufType::UInt8: case GgufType::Bool: v.u_ = load(uint8_t{}); break;
    case GgufType::Int8: v.i_ = load(int8_t{}); break;
    case GgufType::UInt16: v.u_ = load(uint16_t{}); break;
    case GgufType::Int16: v.i_ = load(int16_t{}); break;
    case GgufType::UInt32: v.u_ = load(uint32_t{}); break;
    case GgufType::Int32: v.i_ = load(int32_t{}); break;
    case GgufType::UInt64: v.u_ = load(uint64_t{}); break;
    case GgufType::Int64: v.i_ = load(int64_t{}); break;
    case GgufType::Float32: v.f_ = load(float{}); break;
    case GgufType::Float64: v.f_ = load(double{}); break;
    default: break;
  }
  return v;
}

std::string GgufValue::describe() const {
  std::ostringstream os;
  if (type_ == GgufType::Array) {
    os << "[" << count_ << " x " << gguf_type_name(element_type_) << "]";
  } else if (type_ == GgufType::String) {
    os << '"' << (s_.size() > 40 ? s_.substr(0, 40) + "..." : s_) << '"';
  } else if (type_ == GgufType::Bool) {
    os << (u_ ? "true" : "false");
  } else if (is_float()) {
    os.precision(9);
    os << f_;
  } else if (is_signed_type(type_)) {
    os << i_;
  } else {
    os << u_;
  }
  os << " (" << gguf_type_name(type_) << ")";
  return os.str();
}

namespace {

template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};

template <typename T>
const char* wanted_name() {
  if constexpr (std::is_same_v<T, bool>) return "a bool";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_signed_v<T>) return "a signed integer";
  else return "an unsigned integer";
}

}  // namespace

template <typename T>
T GgufValue::convert(const std::string& what_, int64_t index) const {
  // Only built for a message: element names cost a string each, and arrays hold 100K elements.
  auto what = [&] { return index < 0 ? what_ : what_ + "[" + std::to_string(index) + "]"; };
  if constexpr (is_vector<T>::value) {
    using E = typename T::value_type;
    LP_CHECK(type_ == GgufType::Array, what(), ": expected an array, got ", describe());
    T out;
    out.reserve(count_);
    const bool boxed = element_type_ == GgufType::String || element_type_ == GgufType::Array;
    const std::string name = what();
    for (size_t i = 0; i < count_; ++i) {
      const auto at = static_cast<int64_t>(i);
      out.push_back(boxed ? elements_[i].convert<E>(name, at) : element(i).convert<E>(name, at));
    }
    return out;
  } else if constexpr (std::is_same_v<T, std::string>) {
    LP_CHECK(type_ == GgufType::String, what(), ": expected a string, got ", describe());
    return s_;
  } else if constexpr (std::is_same_v<T, bool>) {
    LP_CHECK(type_ == GgufType::Bool, what(), ": expected a bool, got ", describe());
    return u_ != 0;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (is_float()) return static_cast<T>(f_);
    LP_CHECK(is_integer(), what(), ": expected a number, got ", describe());
    return is_signed_type(type_) ? static_cast<T>(i_) : static_cast<T>(u_);
  } else {
    static_assert(std::is_integral_v<T>, "GgufValue::as: unsupported type");
    LP_CHECK(is_integer(), what(), ": expected ", wanted_name<T>(), ", got ", describe());
    using L = std::numeric_limits<T>;
    if (is_signed_type(type_)) {
      const bool fits = std::is_signed_v<T> ? (i_ >= static_cast<int64_t>(L::min()) && i_ <= static_cast<int64_t>(L::max()))
                                            : (i_ >= 0 && static_cast<uint64_t>(i_) <= static_cast<uint64_t>(L::max()));
      LP_CHECK(fits, what(), ": value ", i_, " is out of range for ", wanted_name<T>(), " of ", sizeof(T) * 8, " bits");
      return static_cast<T>(i_);
    }
    LP_CHECK(u_ <= static_cast<uint64_t>(L::max()), what(), ": value ", u_, " is out of range for ",
             wanted_name<T>(), " of ", sizeof(T) * 8, " bits");
    return static_cast<T>(u_);
  }
}

template <typename T>
T GgufValue::as(const std::string& what) const {
  return convert<T>(what, -1);
}

#define LP_GGUF_AS(T)                                                    \
  template T GgufValue::as<T>(const std::string&) const;                \
  template std::vector<T> GgufValue::as<std::vector<T>>(const std::string&) const;
LP_GGUF_AS(bool)
LP_GGUF_AS(int8_t)
LP_GGUF_AS(int16_t)
LP_GGUF_AS(int32_t)
LP_GGUF_AS(int64_t)
LP_GGUF_AS(uint8_t)
LP_GGUF_AS(uint16_t)
LP_GGUF_AS(uint32_t)
LP_GGUF_AS(uint64_t)
LP_GGUF_AS(float)
LP_GGUF_AS(double)
LP_GGUF_AS(std::string)
#undef LP_GGUF_AS

// ---- tensor infos --------------------------------------------------------------------------------

std::vector<int64_t> GgufTensorInfo::shape() const { return {dims.rbegin(), dims.rend()}; }

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // checked not to overflow when the file was parsed
  return n;
}

// ---- parsing -------------------------------------------------------------------------------------

// Reads the header, metadata and tensor infos of a GGUF image, checking each count and length
// against the bytes left before using it.
class GgufParser {
 public:
  GgufParser(GgufFile& file) : f_(file), data_(file.data_), size_(file.size_), origin_(file.origin_) {}

  void run() {
    LP_CHECK(size_ >= 4 && read_raw<uint32_t>() == kMagic, origin_,
             ": not a GGUF file (it does not start with the magic bytes \"GGUF\")");
    need(4 + 8 + 8, "the header (version, tensor count, metadata count)");
    const uint32_t version = read_raw<uint32_t>();
    if (version == 1)
      throw_error(origin_, ": GGUF version 1 is not supported (only versions 2 and 3); re-convert the model with a "
                  "recent llama.cpp");
    if (version > 0xFFFF && (version & 0xFFFF) == 0)
      throw_error(origin_, ": big-endian GGUF files are not supported (version field reads ", version, ")");
    LP_CHECK(version == 2 || version == 3, origin_, ": unsupported GGUF version ", version,
             " (supported: 2 and 3)");
    f_.version_ = version;
    const uint64_t n_tensors = read_raw<uint64_t>();
    const uint64_t n_kv = read_raw<uint64_t>();
    // Each metadata entry takes at least 13 bytes (key length, value type, a 1-byte value), each
    // tensor info at least 24 (name length, n_dims, type, offset).
    LP_CHECK(n_kv <= left() / 13, origin_, ": header claims ", n_kv, " metadata entries but only ", left(),
             " bytes follow (corrupt or truncated file)");
    LP_CHECK(n_tensors <= left() / 24, origin_, ": header claims ", n_tensors, " tensors but only ", left(),
             " bytes follow (corrupt or truncated file)");

    for (uint64_t i = 0; i < n_kv; ++i) read_kv(i);
    read_alignment();
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(i);

    // The data section starts at the next multiple of the alignment (the file may end there when
    // it holds no tensor data).
    uint64_t start = 0;
    const uint64_t a = f_.alignment_;
    LP_CHECK(!__builtin_add_overflow(pos_, a - 1, &start), origin_, ": data section offset overflows");
    start = start / a * a;
    f_.data_offset_ = start;
    check_tensor_layout();
  }

 private:
  uint64_t left() const { return size_ - pos_; }

  // `what` names the value, `part` the field within it (", string length"): joined only for a message.
  void need(uint64_t n, const std::string& what, const char* part = "") {
    LP_CHECK(n <= left(), origin_, ": ", what, part, " at offset ", pos_, " needs ", n,
             " bytes but the file has ", left(), " left (truncated file?)");
  }

  template <typename T>
  T read_raw() {
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  template <typename T>
  T read(const std::string& what, const char* part = "") {
    need(sizeof(T), what, part);
    return read_raw<T>();
  }

  std::string read_string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what, ": string length");
    LP_CHECK(n <= left(), origin_, ": ", what, ": string length ", n, " at offset ", pos_ - 8,
             " runs past the end of the file (", left(), " bytes left)");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

  GgufType read_type(const std::string& what) {
    const uint32_t t = read<uint32_t>(what, ": value type");
    LP_CHECK(t <= static_cast<uint32_t>(GgufType::Float64), origin_, ": ", what, ": unknown value type ", t,
             " at offset ", pos_ - 4, " (GGUF defines 0..12)");
    return static_cast<GgufType>(t);
  }

  GgufValue read_value(GgufType type, const std::string& what, int depth) {
    GgufValue v;
    v.type_ = type;
    switch (type) {
      case GgufType::UInt8: v.u_ = read<uint8_t>(what); break;
      case GgufType::Int8: v.i_ = read<int8_t>(what); break;
      case GgufType::UInt16: v.u_ = read<uint16_t>(what); break;
      case GgufType::Int16: v.i_ = read<int16_t>(what); break;
      case GgufType::UInt32: v.u_ = read<uint32_t>(what); break;
      case GgufType::Int32: v.i_ = read<int32_t>(what); break;
      case GgufType::UInt64: v.u_ = read<uint64_t>(what); break;
      case GgufType::Int64: v.i_ = read<int64_t>(what); break;
      case GgufType::Float32: v.f_ = read<float>(what); break;
      case GgufType::Float64: v.f_ = read<double>(what); break;
      case GgufType::Bool: {
        const uint8_t b = read<uint8_t>(what);
        LP_CHECK(b <= 1, origin_, ": ", what, ": bool value ", int(b), " at offset ", pos_ - 1, " is neither 0 nor 1");
        v.u_ = b;
        break;
      }
      case GgufType::String: v.s_ = read_string(what); break;
      case GgufType::Array: {
        LP_CHECK(depth < kMaxArrayDepth, origin_, ": ", what, ": arrays nested more than ", kMaxArrayDepth,
                 " deep");
        v.element_type_ = read_type(what);
        const uint64_t n = read<uint64_t>(what, ": array length");
        LP_CHECK(n <= left() / min_value_size(v.element_type_), origin_, ": ", what, ": array of ", n, " ",
                 gguf_type_name(v.element_type_), " at offset ", pos_ - 8, " cannot fit in the ", left(),
                 " bytes left (corrupt or truncated file)");
        v.count_ = n;
        if (v.element_type_ == GgufType::String || v.element_type_ == GgufType::Array) {
          // Each of these becomes an object of its own: cap their total, which the file size alone
          // would not bound tightly enough (an 8-byte empty string costs a hundred bytes here).
          LP_CHECK(n <= kMaxBoxedValues - boxed_, origin_, ": ", what, ": array of ", n, " ",
                   gguf_type_name(v.element_type_), " exceeds the limit of ", kMaxBoxedValues,
                   " strings and arrays in the metadata (corrupt file?)");
          boxed_ += n;
          v.elements_.reserve(n);
          for (uint64_t i = 0; i < n; ++i) v.elements_.push_back(read_value(v.element_type_, what, depth + 1));
        } else {
          const uint64_t bytes = n * min_value_size(v.element_type_);  // fits: checked above
          v.s_.assign(reinterpret_cast<const char*>(data_ + pos_), bytes);
          if (v.element_type_ == GgufType::Bool) {
            for (uint64_t i = 0; i < n; ++i)
              LP_CHECK(data_[pos_ + i] <= 1, origin_, ": ", what, ": bool value ", int(data_[pos_ + i]),
                       " at offset ", pos_ + i, " is neither 0 nor 1");
          }
          pos_ += bytes;
        }
        break;
      }
    }
    return v;
  }

  void read_kv(uint64_t index) {
    const std::string key = read_string("metadata entry #" + std::to_string(index) + " key");
    const std::string what = "key '" + key + "'";
    LP_CHECK(!f_.key_index_.count(key), origin_, ": duplicate metadata ", what);
    const GgufType type = read_type(what);
    GgufValue value = read_value(type, what, 0);
    f_.key_index_.emplace(key, f_.metadata_.size());
    f_.metadata_.emplace_back(key, std::move(value));
  }

  void read_alignment() {
    const GgufValue* v = f_.find("general.alignment");
    if (!v) return;
    // llama.cpp and gguf-py accept only UINT32 here.
    LP_CHECK(v->type() == GgufType::UInt32, f_.what("general.alignment"), ": expected UINT32, got ",
             v->describe());
    const uint64_t a = v->as<uint64_t>(f_.what("general.alignment"));
    LP_CHECK(a != 0 && (a & (a - 1)) == 0, f_.what("general.alignment"), ": must be a power of two, got ", a);
    f_.alignment_ = a;
  }

  void read_tensor_info(uint64_t index) {
    GgufTensorInfo t;
    t.name = read_string("tensor info #" + std::to_string(index) + " name");
    const std::string what = "tensor '" + t.name + "'";
    LP_CHECK(!f_.tensor_index_.count(t.name), origin_, ": duplicate ", what);
    const uint32_t n_dims = read<uint32_t>(what, ": n_dims");
    LP_CHECK(n_dims <= kMaxDims, origin_, ": ", what, ": ", n_dims, " dimensions (ggml supports at most ", kMaxDims,
             ")");
    // `span`, the product of the non-zero dimensions, bounds every partial product a tensor library
    // forms (LibTorch multiplies the sizes in order, and by the element size, before it sees a zero).
    uint64_t span = 1;
    constexpr uint64_t kMaxSpan = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 8;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = read<uint64_t>(what, ": dimension");
      const bool fits = dim == 0 || (!__builtin_mul_overflow(span, dim, &span) && span <= kMaxSpan);
      t.dims.push_back(static_cast<int64_t>(dim));
      if (!fits) {
        std::string dims;
        for (uint32_t k = 0; k < d; ++k) dims += std::to_string(t.dims[k]) + ", ";
        throw_error(origin_, ": ", what, ": dimensions [", dims, dim, (d + 1 < n_dims ? ", ..." : ""),
                    "] overflow a 64-bit element count");
      }
    }
    const uint32_t type_id = read<uint32_t>(what, ": type");
    const GgmlTypeInfo* info = ggml_info(type_id);
    LP_CHECK(info, origin_, ": ", what, ": unknown tensor type ", type_id);
    t.type = info->type;
    t.offset = read<uint64_t>(what, ": offset");

    // Blocks run along dims[0] (a row), so a row must hold whole blocks.
    const uint64_t row = t.dims.empty() ? 1 : static_cast<uint64_t>(t.dims[0]);
    LP_CHECK(row % info->block_size == 0, origin_, ": ", what, ": row of ", row, " elements is not a multiple of ",
             info->name, "'s block size ", info->block_size);
    uint64_t numel = 1;
    for (int64_t dim : t.dims) numel *= static_cast<uint64_t>(dim);  // 0, or span: no overflow
    const uint64_t blocks = numel / info->block_size;
    LP_CHECK(!__builtin_mul_overflow(blocks, static_cast<uint64_t>(info->type_size), &t.nbytes), origin_, ": ",
             what, ": byte size overflows");
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
  }

  // Every tensor lies aligned inside the data section, and no two share bytes.
  void check_tensor_layout() {
    const uint64_t data_size = size_ >= f_.data_offset_ ? size_ - f_.data_offset_ : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& t : f_.tensors_) {
      LP_CHECK(t.offset % f_.alignment_ == 0, origin_, ": tensor '", t.name, "': data offset ", t.offset,
               " is not a multiple of the alignment ", f_.alignment_);
      LP_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset, origin_, ": tensor '", t.name,
               "': data [", t.offset, ", ", t.offset + t.nbytes, ") of ", ggml_type_name(t.type), " ",
               shape_str(t.dims), " runs past the end of the data section (", data_size,
               " bytes from file offset ", f_.data_offset_, "): truncated file or bad offset");
      if (t.nbytes > 0) by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensorInfo& prev = *by_offset[i - 1];
      const GgufTensorInfo& cur = *by_offset[i];
      LP_CHECK(cur.offset >= prev.offset + prev.nbytes, origin_, ": tensor '", cur.name, "': data at offset ",
               cur.offset, " overlaps tensor '", prev.name, "' (bytes [", prev.offset, ", ",
               prev.offset + prev.nbytes, "))");
    }
  }

  static std::string shape_str(const std::vector<int64_t>& dims) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
    os << ']';
    return os.str();
  }

  GgufFile& f_;
  const uint8_t* data_;
  uint64_t size_;
  const std::string& origin_;
  uint64_t pos_ = 0;
  uint64_t boxed_ = 0;  // strings and arrays inside arrays read so far
};

// ---- GgufFile ------------------------------------------------------------------------------------

GgufFile GgufFile::open(const std::filesystem::path& path) {
  auto mapped = std::make_shared<io_detail::MappedFile>(path);
  GgufFile f;
  f.data_ = mapped->data();
  f.size_ = mapped->size();
  f.storage_ = std::move(mapped);
  f.origin_ = path.string();
  GgufParser(f).run();
  return f;
}

GgufFile GgufFile::parse(const uint8_t* data, size_t size, const std::string& origin) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(data, data + size);
  GgufFile f;
  f.data_ = bytes->data();
  f.size_ = bytes->size();
  f.storage_ = std::move(bytes);
  f.origin_ = origin;
  GgufParser(f).run();
  return f;
}

std::string GgufFile::what(const std::string& key) const { return origin_ + ": key '" + key + "'"; }

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufFile::value(const std::string& key) const {
  const GgufValue* v = find(key);
  LP_CHECK(v, what(key), ": missing from the GGUF metadata");
  return *v;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  LP_CHECK(t, origin_, ": no tensor named '", name, "'");
  return *t;
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& info) const {
  return data_ + data_offset_ + info.offset;
}

at::Tensor GgufFile::load_tensor(const std::string& name) const { return load_tensor(tensor(name)); }

at::Tensor GgufFile::load_tensor(const GgufTensorInfo& info) const {
  LP_CHECK(ggml_can_dequantize(info.type), origin_, ": unsupported tensor type ", ggml_type_name(info.type),
           " for tensor '", info.name, "' (supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K)");
  at::Tensor out = at::empty(info.shape(), at::TensorOptions().dtype(at::kFloat));
  const int64_t block = ggml_block_size(info.type), bytes = ggml_type_size(info.type);
  const int64_t n_blocks = info.numel() / block;
  const uint8_t* src = tensor_data(info);
  float* dst = out.data_ptr<float>();
  // Blocks are independent: split big tensors across threads, 256K output floats (1 MB) per task at
  // least (below that, waking the thread pool costs more than it saves).
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / block);
  at::parallel_for(0, n_blocks, grain, [&](int64_t begin, int64_t end) {
    io_detail::dequantize_blocks(info.type, src + begin * bytes, dst + begin * block, end - begin);
  });
  return out;
}

}  // namespace lightpeft
