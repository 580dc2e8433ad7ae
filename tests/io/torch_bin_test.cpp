// load_torch_bin on hand-made archives: the unpickler's safety checks, one defect at a time.
#include "lightpeft/io/torch_bin.h"

#include <cstdint>
#include <vector>

#include <caffe2/serialize/inline_container.h>

#include "io_test_util.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;

namespace {

// Builds pickle bytes opcode by opcode (protocol 2, as torch.save writes them).
struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(char c) { b += c; return *this; }
  Pickle& raw(const std::string& s) { b += s; return *this; }
  Pickle& global(const std::string& module, const std::string& name) {
    b += 'c' + module + '\n' + name + '\n';
    return *this;
  }
  Pickle& str(const std::string& s) {
    b += 'X';
    const uint32_t n = static_cast<uint32_t>(s.size());
    b.append(reinterpret_cast<const char*>(&n), 4);
    b += s;
    return *this;
  }
  Pickle& int1(uint8_t v) { b += 'K'; b += static_cast<char>(v); return *this; }
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  // _rebuild_tensor_v2(storage(key, FloatStorage, numel), offset, (size,), (stride,), False, OrderedDict())
  Pickle& tensor_1d(const std::string& key, uint8_t numel, uint8_t offset, uint8_t size, uint8_t stride) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").int1(numel).op('t').op('Q');
    int1(offset).int1(size).op('\x85').int1(stride).op('\x85').op('\x89').ordered_dict();
    return op('t').op('R');
  }
  std::string done() { return b + '.'; }
};

// Writes a zip archive the way torch.save lays it out: <name>/data.pkl and <name>/data/<key>.
fs::path write_archive(const fs::path& path, const std::string& pickle,
                       const std::map<std::string, std::vector<float>>& storages, bool with_pkl = true) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  if (with_pkl) writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [key, values] : storages)
    writer.writeRecord("data/" + key, values.data(), values.size() * sizeof(float));
  writer.writeEndOfFile();
  return path;
}

std::string state_dict_pickle(uint8_t numel, uint8_t offset, uint8_t size, uint8_t stride,
                              const std::string& key = "0") {
  Pickle p;
  p.ordered_dict().op('(').str("w");
  p.tensor_1d(key, numel, offset, size, stride);
  return p.op('u').done();
}

class TorchBin : public ::testing::Test {
 protected:
  lt::TempDir dir;
  const std::vector<float> storage{1.f, 2.f, 3.f, 4.f};

  void expect_refused(const std::string& pickle, std::initializer_list<std::string> parts,
                      std::map<std::string, std::vector<float>> storages = {}) {
    if (storages.empty()) storages["0"] = storage;
    const fs::path path = write_archive(dir / "bad.bin", pickle, storages);
    lt::expect_error([&] { lightpeft::load_torch_bin(path); }, parts);
    lt::expect_error([&] { lightpeft::load_torch_bin(path); }, {path.string()});
  }
};

TEST_F(TorchBin, HandMadeArchiveLoads) {
  // A strided view with an offset: elements 1 and 3 of the storage.
  const fs::path path = write_archive(dir / "ok.bin", state_dict_pickle(4, 1, 2, 2), {{"0", storage}});
  auto sd = lightpeft::load_torch_bin(path);
  ASSERT_EQ(sd.size(), 1u);
  const at::Tensor& w = sd.at("w");
  ASSERT_EQ(w.numel(), 2);
  EXPECT_EQ(w.scalar_type(), at::kFloat);
  EXPECT_EQ(w.const_data_ptr<float>()[0], 2.f);
  EXPECT_EQ(w.const_data_ptr<float>()[1], 4.f);
}

TEST_F(TorchBin, ViewBeyondStorageIsRefused) {
  expect_refused(state_dict_pickle(4, 2, 3, 1), {"'w'", "reaches element 4", "has 4"});
  expect_refused(state_dict_pickle(4, 0, 3, 2), {"'w'", "reaches element"});
}

TEST_F(TorchBin, StorageSizeMismatchIsRefused) {
  expect_refused(state_dict_pickle(8, 0, 2, 1), {"data/0", "16 bytes, expected 32"});
}

TEST_F(TorchBin, MissingStorageRecordIsRefused) {
  expect_refused(state_dict_pickle(4, 0, 2, 1, "7"), {"data/7", "missing"});
}

TEST_F(TorchBin, DisallowedGlobalsAreRefused) {
  // GLOBAL opcode
  expect_refused(Pickle().global("os", "system").str("echo hi").op('\x85').op('R').done(),
                 {"refusing", "os.system"});
  // STACK_GLOBAL (protocol 4) with SHORT_BINUNICODE names
  expect_refused(Pickle().raw("\x8c\x08" "builtins" "\x8c\x04" "eval").op('\x93').done(),
                 {"refusing", "builtins.eval"});
  // A hostile global hidden after a legitimate tensor entry
  Pickle p;
  p.ordered_dict().op('(').str("w").tensor_1d("0", 4, 0, 4, 1).str("x");
  p.global("subprocess", "Popen").str("ls").op('\x85').op('R').op('u');
  expect_refused(p.done(), {"subprocess.Popen"});
  // An allowed storage class cannot be called
  expect_refused(Pickle().global("torch", "FloatStorage").op(')').op('R').done(),
                 {"torch.FloatStorage", "cannot be called"});
}

TEST_F(TorchBin, NonStateDictsAreRefused) {
  expect_refused(Pickle().op(']').done(), {"expected a state dict", "list"});
  expect_refused(Pickle().op('}').str("step").int1(5).op('s').done(), {"'step'", "int", "expected a tensor"});
  expect_refused(Pickle().op('}').int1(1).tensor_1d("0", 4, 0, 4, 1).op('s').done(),
                 {"key is a int"});
}

TEST_F(TorchBin, MalformedPicklesAreRefused) {
  expect_refused(Pickle().op('X').raw(std::string("\x64\0\0\0ab", 6)).done(), {"runs past the pickle"});
  expect_refused(Pickle().ordered_dict().b, {"truncated"});                      // no STOP
  expect_refused(Pickle().op('I').raw("1\n").done(), {"unsupported pickle opcode 0x49"});
  expect_refused(Pickle().op('R').done(), {"stack underflow"});
  expect_refused(Pickle().op('h').raw("\x05").done(), {"memo key 5"});
  expect_refused(Pickle().op('}').op('}').done(), {"2 values on the stack"});
  expect_refused(Pickle().op('t').done(), {"MARK expected"});
  expect_refused(Pickle().op('(').op('(').str("storage").global("torch", "FloatStorage").str("0")
                     .str("cpu").op('t').op('Q').done(),
                 {"persistent id"});
}

TEST_F(TorchBin, HugeStorageSizeIsCheckedBeforeAllocating) {
  // numel 2^40 (LONG1) for a 16-byte record: must fail on the size, not try to allocate 4 TiB.
  Pickle p;
  p.ordered_dict().op('(').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
  p.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu");
  p.op('\x8a').raw(std::string("\x06\0\0\0\0\0\x01", 7)).op('t').op('Q');
  p.int1(0).int1(1).op('\x85').int1(1).op('\x85').op('\x89').ordered_dict().op('t').op('R').op('u');
  expect_refused(p.done(), {"data/0", "16 bytes, expected 4398046511104"});
}

TEST_F(TorchBin, DeepNestingAndCyclesDoNotCrash) {
  // A million nested 1-tuples: one byte each, but recursive teardown would overflow the stack.
  expect_refused(Pickle().op(')').raw(std::string(1'000'000, '\x85')).done(), {"got a tuple"});
  // A list that contains itself (memo + APPEND).
  expect_refused(Pickle().op(']').raw(std::string("q\x00h\x00" "a", 5)).done(), {"got a list"});
}

TEST_F(TorchBin, ArchiveWithoutPickle) {
  const fs::path path = write_archive(dir / "nopkl.bin", "", {{"0", storage}}, false);
  lt::expect_error([&] { lightpeft::load_torch_bin(path); }, {path.string(), "no data.pkl"});
}

TEST_F(TorchBin, NotAZipFile) {
  lt::write_file(dir / "text.bin", "hello, I am not a checkpoint");
  lt::expect_error([&] { lightpeft::load_torch_bin(dir / "text.bin"); },
                   {"text.bin", "not a PyTorch checkpoint", "zip"});
  lt::write_file(dir / "legacy.bin", std::string("\x80\x02\x8a\x0a", 4));
  lt::expect_error([&] { lightpeft::load_torch_bin(dir / "legacy.bin"); }, {"legacy", "torch >= 1.6"});
  lt::expect_error([&] { lightpeft::load_torch_bin(dir / "missing.bin"); }, {"missing.bin", "cannot open"});
  // A zip header followed by garbage: the zip reader's failure becomes a lightpeft::Error.
  lt::write_file(dir / "broken.bin", std::string("PK\x03\x04garbage garbage garbage", 27));
  lt::expect_error([&] { lightpeft::load_torch_bin(dir / "broken.bin"); }, {"broken.bin"});
}

}  // namespace
