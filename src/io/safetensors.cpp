#include "lightpeft/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/io/atomic_file.h"
#include "mapped_file.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host (the format is little-endian)"
#endif

namespace lightpeft {

namespace {

using json = nlohmann::json;

// The reference library refuses headers above this size; so do we (it also bounds our allocation).
constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct DtypeInfo {
  const char* name;
  c10::ScalarType type;
  size_t size;
  // Position in the reference library's Dtype enum, which is ordered by increasing alignment; the
  // writer sorts by it (descending) so that every tensor starts aligned to its element size.
  int rank;
};

constexpr DtypeInfo kDtypes[] = {
    {"BOOL", c10::ScalarType::Bool, 1, 0},
    {"U8", c10::ScalarType::Byte, 1, 4},
    {"I8", c10::ScalarType::Char, 1, 5},
    {"F8_E5M2", c10::ScalarType::Float8_e5m2, 1, 6},
    {"F8_E4M3", c10::ScalarType::Float8_e4m3fn, 1, 7},
    {"I16", c10::ScalarType::Short, 2, 9},
    {"U16", c10::ScalarType::UInt16, 2, 10},
    {"F16", c10::ScalarType::Half, 2, 11},
    {"BF16", c10::ScalarType::BFloat16, 2, 12},
    {"I32", c10::ScalarType::Int, 4, 13},
    {"U32", c10::ScalarType::UInt32, 4, 14},
    {"F32", c10::ScalarType::Float, 4, 15},
    {"F64", c10::ScalarType::Double, 8, 17},
    {"I64", c10::ScalarType::Long, 8, 18},
    {"U64", c10::ScalarType::UInt64, 8, 19},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* dtype_by_type(c10::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

// ---- reading -------------------------------------------------------------------------------------

struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

struct Header {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data buffer starts in the file: 8 + N
};

// Parses the JSON text, refusing duplicate top-level keys: JSON parsers silently keep the last one,
// which would let two headers disagree about what a file holds.
json parse_header_json(const char* begin, const char* end, const std::string& origin) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(begin, end, on_event);
  } catch (const json::exception& e) {
    throw_error(origin, ": safetensors header is not valid JSON: ", e.what());
  }
  LP_CHECK(duplicate.empty(), origin, ": safetensors header has duplicate key '", duplicate, "'");
  LP_CHECK(j.is_object(), origin, ": safetensors header must be a JSON object, got ", j.type_name());
  return j;
}

uint64_t read_unsigned(const json& v, const std::string& origin, const std::string& key,
                       const char* field) {
  LP_CHECK(v.is_number_unsigned(), origin, ": tensor '", key, "': ", field,
           " must hold non-negative integers, got ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& key, const json& v, const std::string& origin) {
  LP_CHECK(v.is_object(), origin, ": tensor '", key, "': expected an object with dtype, shape and ",
           "data_offsets, got ", v.type_name());
  Entry e;
  e.name = key;
  auto field = [&](const char* name) -> const json& {
    auto it = v.find(name);
    LP_CHECK(it != v.end(), origin, ": tensor '", key, "': missing field '", name, "'");
    return *it;
  };
  const json& dtype = field("dtype");
  LP_CHECK(dtype.is_string(), origin, ": tensor '", key, "': dtype must be a string, got ",
           dtype.dump());
  e.dtype = dtype_by_name(dtype.get<std::string>());
  LP_CHECK(e.dtype, origin, ": tensor '", key, "': unknown or unsupported dtype ", dtype.dump(),
           " (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL U16 U32 U64 F8_E4M3 F8_E5M2)");

  const json& shape = field("shape");
  LP_CHECK(shape.is_array(), origin, ": tensor '", key, "': shape must be an array, got ",
           shape.dump());
  for (const auto& d : shape) {
    uint64_t dim = read_unsigned(d, origin, key, "shape");
    LP_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), origin,
             ": tensor '", key, "': shape dimension ", dim, " is too large");
    e.shape.push_back(static_cast<int64_t>(dim));
  }

  const json& offsets = field("data_offsets");
  LP_CHECK(offsets.is_array() && offsets.size() == 2, origin, ": tensor '", key,
           "': data_offsets must be [begin, end], got ", offsets.dump());
  e.begin = read_unsigned(offsets[0], origin, key, "data_offsets");
  e.end = read_unsigned(offsets[1], origin, key, "data_offsets");
  return e;
}

void parse_metadata(const json& v, const std::string& origin,
                    std::map<std::string, std::string>& out) {
  if (v.is_null()) return;  // the reference writes none, but accepts null
  LP_CHECK(v.is_object(), origin, ": __metadata__ must be an object of strings, got ", v.type_name());
  for (const auto& [k, s] : v.items()) {
    LP_CHECK(s.is_string(), origin, ": __metadata__ key '", k, "' must map to a string, got ",
             s.dump());
    out[k] = s.get<std::string>();
  }
}

Header parse_header(const uint8_t* data, size_t size, const std::string& origin) {
  LP_CHECK(size >= 8, origin, ": not a safetensors file: ", size,
           " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, data, 8);  // little-endian host, checked at compile time
  LP_CHECK(n <= kMaxHeaderSize, origin, ": safetensors header length ", n,
           " exceeds the limit of ", kMaxHeaderSize, " bytes (corrupt or not a safetensors file)");
  LP_CHECK(n <= size - 8, origin, ": safetensors header length ", n,
           " runs beyond the end of the file (", size, " bytes): truncated file?");
  const char* text = reinterpret_cast<const char*>(data + 8);
  LP_CHECK(n > 0 && text[0] == '{', origin,
           ": safetensors header must start with '{' (corrupt or not a safetensors file)");

  Header h;
  h.data_offset = 8 + n;
  json j = parse_header_json(text, text + n, origin);
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") {
      parse_metadata(value, origin, h.metadata);
    } else {
      h.entries.push_back(parse_entry(key, value, origin));
    }
  }
  return h;
}

// Checks what the reference library checks: each tensor's byte range matches its shape and dtype,
// and the ranges, in offset order, tile the data buffer from 0 to its end with no gap or overlap.
void validate_layout(std::vector<Entry>& entries, uint64_t data_size, const std::string& origin) {
  for (const auto& e : entries) {
    LP_CHECK(e.begin <= e.end, origin, ": tensor '", e.name, "': data_offsets begin ", e.begin,
             " is after end ", e.end);
    LP_CHECK(e.end <= data_size, origin, ": tensor '", e.name, "': data_offsets [", e.begin, ", ",
             e.end, "] out of range: the data buffer has ", data_size, " bytes (truncated file?)");
    uint64_t bytes = e.dtype->size;
    for (int64_t d : e.shape) {
      LP_CHECK(!__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes), origin,
               ": tensor '", e.name, "': shape ", shape_str(e.shape), " overflows");
    }
    LP_CHECK(bytes == e.end - e.begin, origin, ": tensor '", e.name, "': shape ",
             shape_str(e.shape), " of ", e.dtype->name, " needs ", bytes,
             " bytes but data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin);
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const auto& e : entries) {
    LP_CHECK(e.begin >= covered, origin, ": tensor '", e.name, "': data_offsets [", e.begin, ", ",
             e.end, "] overlap tensor '", prev ? prev->name : "", "' (which ends at ", covered, ")");
    LP_CHECK(e.begin == covered, origin, ": tensor '", e.name, "': data_offsets begin ", e.begin,
             " leaves a gap: bytes [", covered, ", ", e.begin,
             ") of the data buffer belong to no tensor");
    covered = e.end;
    if (e.end > e.begin) prev = &e;
  }
  LP_CHECK(covered == data_size, origin, ": the data buffer has ", data_size,
           " bytes but the tensors cover only ", covered, " (trailing bytes belong to no tensor)");
}

at::Tensor copy_out(const Entry& e, const uint8_t* buffer) {
  at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype->type));
  if (e.end > e.begin) std::memcpy(t.data_ptr(), buffer + e.begin, e.end - e.begin);
  return t;
}

// ---- writing -------------------------------------------------------------------------------------

struct Prepared {
  std::string header;  // JSON, space-padded to a multiple of 8
  std::vector<at::Tensor> tensors;  // as given (any device, any strides), in file order
};

Prepared prepare(const StateDict& tensors, const std::map<std::string, std::string>& metadata,
                 const std::string& origin) {
  struct Item {
    const std::string* name;
    const DtypeInfo* dtype;
    at::Tensor tensor;
  };
  std::vector<Item> items;
  for (const auto& [name, t] : tensors) {
    LP_CHECK(name != "__metadata__", origin, ": '__metadata__' is reserved and cannot name a tensor");
    LP_CHECK(t.defined(), origin, ": tensor '", name, "' is undefined");
    const DtypeInfo* d = dtype_by_type(t.scalar_type());
    LP_CHECK(d, origin, ": tensor '", name, "': dtype ", c10::toString(t.scalar_type()),
             " cannot be stored in safetensors");
    LP_CHECK(!t.is_sparse() && !t.is_quantized(), origin, ": tensor '", name,
             "': only dense tensors can be stored");
    items.push_back({&name, d, t});
  }
  // Same order as the reference writer: descending alignment, then name.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.dtype->rank != b.dtype->rank) return a.dtype->rank > b.dtype->rank;
    return *a.name < *b.name;
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  Prepared p;
  uint64_t offset = 0;
  for (auto& item : items) {
    const uint64_t nbytes = static_cast<uint64_t>(item.tensor.numel()) * item.dtype->size;
    nlohmann::ordered_json info = nlohmann::ordered_json::object();
    info["dtype"] = item.dtype->name;
    info["shape"] = item.tensor.sizes().vec();
    info["data_offsets"] = {offset, offset + nbytes};
    header[*item.name] = std::move(info);
    offset += nbytes;
    p.tensors.push_back(std::move(item.tensor));
  }
  try {
    p.header = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw_error(origin, ": cannot encode the safetensors header (keys and metadata must be UTF-8): ",
                e.what());
  }
  p.header.append((8 - p.header.size() % 8) % 8, ' ');
  return p;
}

void write_prepared(std::ostream& out, const Prepared& p) {
  const uint64_t n = p.header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(p.header.data(), static_cast<std::streamsize>(p.header.size()));
  for (const auto& given : p.tensors) {
    // One tensor at a time, so that saving GPU tensors needs one tensor's worth of host memory.
    const at::Tensor t = given.cpu().contiguous();
    const size_t nbytes = t.nbytes();
    if (nbytes) out.write(static_cast<const char*>(t.const_data_ptr()), static_cast<std::streamsize>(nbytes));
  }
}

}  // namespace

StateDict parse_safetensors(const uint8_t* data, size_t size, const std::string& origin,
                            std::map<std::string, std::string>* metadata) {
  Header h = parse_header(data, size, origin);
  validate_layout(h.entries, size - h.data_offset, origin);
  StateDict out;
  const uint8_t* buffer = data + h.data_offset;
  for (const auto& e : h.entries) out.emplace(e.name, copy_out(e, buffer));
  if (metadata) *metadata = std::move(h.metadata);
  return out;
}

StateDict load_safetensors(const std::filesystem::path& path,
                           std::map<std::string, std::string>* metadata) {
  io_detail::MappedFile file(path);
  if (file.size() > 0) ::madvise(const_cast<uint8_t*>(file.data()), file.size(), MADV_SEQUENTIAL);
  return parse_safetensors(file.data(), file.size(), path.string(), metadata);
}

std::string serialize_safetensors(const StateDict& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  Prepared p = prepare(tensors, metadata, "<memory>");
  std::ostringstream os;
  write_prepared(os, p);
  return os.str();
}

void save_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Prepared p = prepare(tensors, metadata, path.string());
  write_file_atomic(path, [&](std::ostream& out) { write_prepared(out, p); });
}

}  // namespace lightpeft
