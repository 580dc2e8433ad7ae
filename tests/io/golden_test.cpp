// Files written by the reference libraries (tests/golden/gen_io.py) read identically, and files we
// write load in python's `safetensors`.
#include <cstdlib>
#include <set>

#include <ATen/ops/arange.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/io/torch_bin.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;
using lightpeft::StateDict;

namespace {

fs::path io_golden() { return lt::golden_dir() / "io"; }

#define LP_REQUIRE_GOLDEN(file)                                                            \
  if (!fs::exists(io_golden() / (file)))                                                   \
  GTEST_SKIP() << "golden file " << (io_golden() / (file)).string()                        \
               << " is absent (run through ctest: fixture golden.make writes it)"

c10::ScalarType torch_dtype(const std::string& name) {
  static const std::map<std::string, c10::ScalarType> types = {
      {"float64", at::kDouble}, {"float32", at::kFloat}, {"float16", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"int64", at::kLong}, {"int32", at::kInt},
      {"int16", at::kShort}, {"int8", at::kChar}, {"uint8", at::kByte}, {"bool", at::kBool}};
  return types.at(name);
}

TEST(GoldenSafetensors, ReadsReferenceFileExactly) {
  LP_REQUIRE_GOLDEN("ref.json");
  const auto expected = nlohmann::json::parse(lt::read_file(io_golden() / "ref.json"));
  std::map<std::string, std::string> meta;
  StateDict sd = lightpeft::load_safetensors(io_golden() / "ref.safetensors", &meta);
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "pt"}, {"source", "gen_io.py"}}));
  ASSERT_EQ(sd.size(), expected.size());
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(sd.count(name));
    const at::Tensor& t = sd.at(name);
    EXPECT_EQ(t.scalar_type(), torch_dtype(want["dtype"]));
    EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    const auto& values = want["values"];
    ASSERT_EQ(static_cast<size_t>(t.numel()), values.size());
    if (at::isFloatingType(t.scalar_type())) {
      at::Tensor d = t.to(at::kDouble).contiguous();
      for (size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(d.const_data_ptr<double>()[i], values[i].get<double>()) << "element " << i;
    } else {
      at::Tensor l = t.to(at::kLong).contiguous();
      for (size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(l.const_data_ptr<int64_t>()[i], values[i].get<int64_t>()) << "element " << i;
    }
  }
  EXPECT_EQ(sd.at("scalar").dim(), 0);
  EXPECT_EQ(sd.at("empty").sizes(), (std::vector<int64_t>{0, 4}));
}

TEST(GoldenSafetensors, OurWriterReproducesReferenceBytes) {
  LP_REQUIRE_GOLDEN("single_meta.safetensors");
  const fs::path path = io_golden() / "single_meta.safetensors";
  std::map<std::string, std::string> meta;
  StateDict sd = lightpeft::load_safetensors(path, &meta);
  EXPECT_EQ(sd.size(), 8u);
  // Same tensor order, offsets, header text and padding as the reference writer.
  EXPECT_EQ(lightpeft::serialize_safetensors(sd, meta), lt::read_file(path));
}

TEST(GoldenSafetensors, PythonReadsOurFiles) {
  const std::string python = lt::python_path();
  if (python.empty()) GTEST_SKIP() << "no venv python (LIGHTPEFT_PYTHON): cannot run python safetensors";
  const char* py = python.c_str();
  StateDict in;
  in["f32"] = at::randn({4, 3});
  in["f64.t"] = at::randn({3, 5}, at::kDouble).t();
  in["f16"] = at::randn({5}).to(at::kHalf);
  in["bf16"] = at::randn({2, 2}).to(at::kBFloat16);
  in["i64"] = at::arange(-3, 4, at::kLong);
  in["i32"] = at::arange(7, at::kInt);
  in["i16"] = at::arange(3, at::kShort);
  in["i8"] = at::arange(-5, 5, at::kChar);
  in["u8"] = at::arange(9, at::kByte);
  in["bool"] = at::arange(6, at::kLong).remainder(2).to(at::kBool);
  in["scalar"] = at::randn({});
  in["empty"] = at::zeros({0, 7});
  lt::TempDir dir;
  const fs::path ours = dir / "ours.safetensors", theirs = dir / "theirs.safetensors";
  lightpeft::save_safetensors(ours, in, {{"format", "pt"}});
  // Python loads our file (its validation is the reference) and saves what it read.
  lt::write_file(dir / "roundtrip.py",
                 "import sys\n"
                 "from safetensors import safe_open\n"
                 "from safetensors.torch import load_file, save_file\n"
                 "tensors = load_file(sys.argv[1])\n"
                 "with safe_open(sys.argv[1], 'pt') as f:\n"
                 "    meta = f.metadata()\n"
                 "assert meta == {'format': 'pt'}, meta\n"
                 "save_file(tensors, sys.argv[2], metadata=meta)\n");
  const std::string cmd = std::string("\"") + py + "\" \"" + (dir / "roundtrip.py").string() + "\" \"" +
                          ours.string() + "\" \"" + theirs.string() + "\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  StateDict back = lightpeft::load_safetensors(theirs);
  ASSERT_EQ(back.size(), in.size());
  for (const auto& [k, v] : in) EXPECT_TRUE(lt::same_tensor(back.at(k), v)) << k;
  EXPECT_EQ(lt::read_file(ours), lt::read_file(theirs)) << "python rewrote our file differently";
}

// ---- torch.save files --------------------------------------------------------------------------

void expect_same_dicts(const StateDict& got, const StateDict& want) {
  std::set<std::string> got_keys, want_keys;
  for (const auto& kv : got) got_keys.insert(kv.first);
  for (const auto& kv : want) want_keys.insert(kv.first);
  ASSERT_EQ(got_keys, want_keys);
  for (const auto& [k, v] : want) {
    EXPECT_TRUE(lt::same_tensor(got.at(k), v)) << k;
    EXPECT_TRUE(got.at(k).is_contiguous()) << k;
  }
}

TEST(GoldenTorchBin, StateDictMatchesPython) {
  LP_REQUIRE_GOLDEN("model.bin");
  const StateDict want = lightpeft::load_safetensors(io_golden() / "model_expected.safetensors");
  const StateDict got = lightpeft::load_torch_bin(io_golden() / "model.bin");
  expect_same_dicts(got, want);
  EXPECT_EQ(got.at("proj.weight_t").sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(got.at("scalar").dim(), 0);
  // Views of one storage come back as independent copies.
  std::set<const void*> ptrs;
  for (const char* k : {"shared.whole", "shared.slice", "shared.matrix", "shared.strided",
                        "proj.weight", "proj.weight_t"})
    EXPECT_TRUE(ptrs.insert(got.at(k).const_data_ptr()).second) << k;
}

TEST(GoldenTorchBin, PickleProtocol4) {
  LP_REQUIRE_GOLDEN("model_proto4.bin");
  expect_same_dicts(lightpeft::load_torch_bin(io_golden() / "model_proto4.bin"),
                    lightpeft::load_safetensors(io_golden() / "model_expected.safetensors"));
}

TEST(GoldenTorchBin, ArbitraryArchivePrefix) {
  LP_REQUIRE_GOLDEN("prefix.bin");
  expect_same_dicts(lightpeft::load_torch_bin(io_golden() / "prefix.bin"),
                    lightpeft::load_safetensors(io_golden() / "model_expected.safetensors"));
}

TEST(GoldenTorchBin, ParametersKeepVars) {
  LP_REQUIRE_GOLDEN("params.bin");
  const StateDict params = lightpeft::load_torch_bin(io_golden() / "params.bin");
  const StateDict model = lightpeft::load_torch_bin(io_golden() / "model.bin");
  ASSERT_EQ(params.size(), 5u);
  for (const auto& [k, v] : params) EXPECT_TRUE(lt::same_tensor(v, model.at(k))) << k;
}

TEST(GoldenTorchBin, LegacyFormatIsRefusedClearly) {
  LP_REQUIRE_GOLDEN("legacy.bin");
  lt::expect_error([] { lightpeft::load_torch_bin(io_golden() / "legacy.bin"); },
                   {"legacy.bin", "zip", "torch >= 1.6"});
}

TEST(GoldenTorchBin, MaliciousPickleIsNotExecuted) {
  LP_REQUIRE_GOLDEN("evil.bin");
  const fs::path marker = io_golden() / "pwned";
  fs::remove(marker);
  lt::expect_error([] { lightpeft::load_torch_bin(io_golden() / "evil.bin"); },
                   {"evil.bin", "refusing", "os.system"});
  EXPECT_FALSE(fs::exists(marker)) << "the pickle's command ran";
}

}  // namespace
