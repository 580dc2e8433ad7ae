// Round trips through our own writer and reader, and malformed files the reader must refuse.
#include "lightpeft/io/safetensors.h"

#include <cstdint>

#include <ATen/Context.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;
using lightpeft::StateDict;

namespace {

at::Tensor random_of(c10::ScalarType type, at::IntArrayRef shape) {
  if (at::isFloatingType(type)) {
    if (type == c10::ScalarType::Float8_e4m3fn || type == c10::ScalarType::Float8_e5m2)
      return at::randn(shape).clamp(-8, 8).to(type);
    return at::randn(shape, at::TensorOptions().dtype(at::kDouble)).to(type);
  }
  if (type == c10::ScalarType::Bool) return at::randint(0, 2, shape).to(type);
  const bool is_unsigned = type == c10::ScalarType::Byte || type == c10::ScalarType::UInt16 ||
                           type == c10::ScalarType::UInt32 || type == c10::ScalarType::UInt64;
  return (is_unsigned ? at::randint(0, 200, shape) : at::randint(-100, 100, shape)).to(type);
}

const c10::ScalarType kAllTypes[] = {
    c10::ScalarType::Double, c10::ScalarType::Float,         c10::ScalarType::Half,
    c10::ScalarType::BFloat16, c10::ScalarType::Long,        c10::ScalarType::Int,
    c10::ScalarType::Short,  c10::ScalarType::Char,          c10::ScalarType::Byte,
    c10::ScalarType::Bool,   c10::ScalarType::UInt16,        c10::ScalarType::UInt32,
    c10::ScalarType::UInt64, c10::ScalarType::Float8_e4m3fn, c10::ScalarType::Float8_e5m2,
};

// The header of a safetensors image, as JSON.
nlohmann::json header_of(const std::string& bytes) {
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return nlohmann::json::parse(bytes.substr(8, n));
}

TEST(Safetensors, RoundTripEveryDtype) {
  at::manual_seed(1);
  StateDict in;
  for (auto type : kAllTypes) {
    const std::string name = c10::toString(type);
    in[name + ".matrix"] = random_of(type, {3, 5});
    in[name + ".scalar"] = random_of(type, {});
    in[name + ".empty"] = at::empty({0, 3}, at::TensorOptions().dtype(type));
  }
  lt::TempDir dir;
  const fs::path path = dir / "all.safetensors";
  lightpeft::save_safetensors(path, in, {{"format", "pt"}, {"note", "round trip ✓"}});

  std::map<std::string, std::string> meta;
  StateDict out = lightpeft::load_safetensors(path, &meta);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [k, v] : in) {
    ASSERT_TRUE(out.count(k)) << k;
    EXPECT_TRUE(lt::same_tensor(out.at(k), v)) << k;
    EXPECT_TRUE(out.at(k).is_contiguous());
  }
  EXPECT_EQ(out.at("Float.scalar").dim(), 0);
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "round trip ✓"}}));

  // The file on disk is what serialize_safetensors produces.
  const std::string bytes = lt::read_file(path);
  EXPECT_EQ(bytes, lightpeft::serialize_safetensors(in, meta));
}

TEST(Safetensors, LayoutAlignedLikeTheReference) {
  StateDict in;
  in["a_byte"] = at::zeros({3}, at::kByte);       // 3 bytes: would misalign what follows
  in["b_double"] = at::zeros({2}, at::kDouble);
  in["c_half"] = at::zeros({1}, at::kHalf);
  in["d_float"] = at::zeros({3}, at::kFloat);
  in["e_long"] = at::zeros({1}, at::kLong);
  const std::string bytes = lightpeft::serialize_safetensors(in, {{"k", "v"}});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "header is padded to a multiple of 8";
  auto h = header_of(bytes);
  EXPECT_EQ(h["__metadata__"]["k"], "v");
  // Descending alignment (the reference's dtype order), then name.
  EXPECT_EQ(h["e_long"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(h["b_double"]["data_offsets"], nlohmann::json::array({8, 24}));
  EXPECT_EQ(h["d_float"]["data_offsets"], nlohmann::json::array({24, 36}));
  EXPECT_EQ(h["c_half"]["data_offsets"], nlohmann::json::array({36, 38}));
  EXPECT_EQ(h["a_byte"]["data_offsets"], nlohmann::json::array({38, 41}));
  EXPECT_EQ(bytes.size(), 8 + n + 41);
  for (const auto& [k, v] : h.items()) {
    if (k == "__metadata__") continue;
    const auto& dtype = v["dtype"].get<std::string>();
    const uint64_t size = dtype == "I64" || dtype == "F64" ? 8 : dtype == "F32" ? 4 : dtype == "F16" ? 2 : 1;
    EXPECT_EQ(v["data_offsets"][0].get<uint64_t>() % size, 0u) << k;
  }
}

TEST(Safetensors, EmptyStateDictMatchesReferenceBytes) {
  // The reference library writes exactly these bytes for an empty dict (its own unit test).
  const std::string expected("\x08\0\0\0\0\0\0\0{}      ", 16);
  EXPECT_EQ(lightpeft::serialize_safetensors({}), expected);
  EXPECT_TRUE(lightpeft::parse_safetensors(reinterpret_cast<const uint8_t*>(expected.data()),
                                           expected.size(), "<mem>")
                  .empty());
}

TEST(Safetensors, NonContiguousInputIsWrittenLogically) {
  at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  StateDict in;
  in["t"] = base.t();                                 // transposed
  in["s"] = base.slice(1, 1, 6, 2);                   // strided columns
  in["o"] = base.select(0, 2);                        // storage offset
  lt::TempDir dir;
  lightpeft::save_safetensors(dir / "v.safetensors", in);
  StateDict out = lightpeft::load_safetensors(dir / "v.safetensors");
  for (const auto& [k, v] : in) EXPECT_TRUE(lt::same_tensor(out.at(k), v)) << k;
  EXPECT_EQ(out.at("t").sizes(), (std::vector<int64_t>{6, 4}));
}

TEST(Safetensors, LoadedTensorsOwnTheirMemory) {
  StateDict in{{"x", at::arange(10, at::kFloat)}};
  std::string bytes = lightpeft::serialize_safetensors(in);
  StateDict out = lightpeft::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               bytes.size(), "<mem>");
  std::fill(bytes.begin(), bytes.end(), '\0');  // clobber the source buffer
  EXPECT_TRUE(lt::same_tensor(out.at("x"), in.at("x")));
}

TEST(Safetensors, OverwritesAtomically) {
  lt::TempDir dir;
  const fs::path path = dir / "m.safetensors";
  lightpeft::save_safetensors(path, {{"a", at::zeros({2})}});
  const std::string before = lt::read_file(path);
  // An unsupported dtype fails before anything is written: the old file stays.
  lt::expect_error(
      [&] {
        lightpeft::save_safetensors(path, {{"a", at::zeros({2})},
                                           {"c", at::zeros({2}, at::TensorOptions().dtype(c10::ScalarType::ComplexFloat))}});
      },
      {path.string(), "'c'", "ComplexFloat"});
  EXPECT_EQ(lt::read_file(path), before);
  lt::expect_error([&] { lightpeft::save_safetensors(path, {{"__metadata__", at::zeros({1})}}); },
                   {"__metadata__", "reserved"});
  lightpeft::save_safetensors(path, {{"b", at::ones({3})}});
  StateDict out = lightpeft::load_safetensors(path);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(lt::same_tensor(out.at("b"), at::ones({3})));
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);
}

// ---- malformed input ------------------------------------------------------------------------------

std::string image(const std::string& header, const std::string& data, uint64_t n = UINT64_MAX) {
  if (n == UINT64_MAX) n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string parse_error(const std::string& bytes, std::initializer_list<std::string> parts) {
  return lt::expect_error(
      [&] {
        lightpeft::parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                     "bad.safetensors");
      },
      parts);
}

#define EXPECT_REJECTED(bytes, ...)                                                         \
  do {                                                                                      \
    std::string msg_ = parse_error(bytes, {__VA_ARGS__});                                   \
    EXPECT_NE(msg_.find("bad.safetensors"), std::string::npos) << msg_;                     \
  } while (0)

const std::string kF32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

TEST(SafetensorsMalformed, Sanity) {
  // The helper's well-formed baseline parses, so each rejection below is due to its one defect.
  std::string ok = image(R"({"a":)" + kF32x2 + "}", std::string(8, '\0'));
  EXPECT_EQ(lightpeft::parse_safetensors(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), "x")
                .at("a").numel(), 2);
}

TEST(SafetensorsMalformed, TooShortForLength) { EXPECT_REJECTED(std::string("abc"), "8-byte"); }

TEST(SafetensorsMalformed, TruncatedHeader) {
  std::string full = image(R"({"a":)" + kF32x2 + "}", std::string(8, '\0'));
  EXPECT_REJECTED(full.substr(0, 30), "header length", "beyond the end");
}

TEST(SafetensorsMalformed, HugeHeaderLength) {
  EXPECT_REJECTED(image("{}", "", uint64_t{1} << 40), "exceeds the limit");
  EXPECT_REJECTED(image("{}", "", UINT64_MAX - 1), "exceeds the limit");
}

TEST(SafetensorsMalformed, BadJson) {
  EXPECT_REJECTED(image(R"({"a": {"dtype": )", ""), "not valid JSON");
  EXPECT_REJECTED(image("[1, 2]", ""), "start with '{'");
  EXPECT_REJECTED(image("{}  x", ""), "not valid JSON");
  EXPECT_REJECTED(image("{\"\xff\": 1}", ""), "not valid JSON");  // invalid UTF-8
}

TEST(SafetensorsMalformed, NonObjectEntry) { EXPECT_REJECTED(image(R"({"a": 5})", ""), "'a'", "object"); }

TEST(SafetensorsMalformed, MissingField) {
  EXPECT_REJECTED(image(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'a'", "missing field 'shape'");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'w'", "unknown or unsupported dtype", "F7");
  EXPECT_REJECTED(image(R"({"w":{"dtype":3,"shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'w'", "dtype must be a string");
}

TEST(SafetensorsMalformed, BadShape) {
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'w'", "non-negative");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'w'", "non-negative integers");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "'w'", "needs 24 bytes", "span 8");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})",
                        std::string(8, '\0')),
                  "'w'", "overflows");
}

TEST(SafetensorsMalformed, BadOffsets) {
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", std::string(8, '\0')),
                  "'w'", "out of range");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", std::string(8, '\0')),
                  "'w'", "after end");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", std::string(8, '\0')),
                  "'w'", "[begin, end]");
  EXPECT_REJECTED(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-4,4]}})", std::string(8, '\0')),
                  "'w'", "non-negative");
}

TEST(SafetensorsMalformed, OverlappingRanges) {
  EXPECT_REJECTED(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        std::string(12, '\0')),
                  "'b'", "overlap tensor 'a'");
  // Two tensors claiming the very same bytes (aliasing) are refused too.
  EXPECT_REJECTED(image(R"({"a":)" + kF32x2 + R"(,"b":)" + kF32x2 + "}", std::string(8, '\0')), "overlap");
}

TEST(SafetensorsMalformed, GapsAndTrailingBytes) {
  EXPECT_REJECTED(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                        std::string(12, '\0')),
                  "'b'", "gap");
  EXPECT_REJECTED(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(8, '\0')),
                  "trailing");
}

TEST(SafetensorsMalformed, DuplicateKeys) {
  EXPECT_REJECTED(image(R"({"a":)" + kF32x2 + R"(,"a":)" + kF32x2 + "}", std::string(8, '\0')),
                  "duplicate key 'a'");
}

TEST(SafetensorsMalformed, NonStringMetadata) {
  EXPECT_REJECTED(image(R"({"__metadata__":{"epoch":3}})", ""), "__metadata__", "'epoch'");
  EXPECT_REJECTED(image(R"({"__metadata__":[1]})", ""), "__metadata__");
}

TEST(SafetensorsMalformed, TruncatedDataOnDisk) {
  lt::TempDir dir;
  const fs::path path = dir / "t.safetensors";
  lightpeft::save_safetensors(path, {{"a", at::zeros({4})}, {"b", at::zeros({4})}});
  std::string bytes = lt::read_file(path);
  lt::write_file(path, bytes.substr(0, bytes.size() - 3));
  lt::expect_error([&] { lightpeft::load_safetensors(path); }, {path.string(), "'b'", "out of range"});
  lt::write_file(path, bytes.substr(0, 5));
  lt::expect_error([&] { lightpeft::load_safetensors(path); }, {path.string(), "8-byte"});
  lt::write_file(path, "");
  lt::expect_error([&] { lightpeft::load_safetensors(path); }, {path.string()});
  lt::expect_error([&] { lightpeft::load_safetensors(dir / "missing.safetensors"); },
                   {"missing.safetensors", "cannot open"});
  lt::expect_error([&] { lightpeft::load_safetensors(dir.path()); }, {"not a regular file"});
}

}  // namespace
