#include "lightpeft/io/atomic_file.h"

#include <stdexcept>

#include "io_test_util.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;

namespace {

size_t count_entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, WritesAndReplaces) {
  lt::TempDir dir;
  const fs::path target = dir / "config.json";
  lightpeft::write_text_atomic(target, "first");
  EXPECT_EQ(lt::read_file(target), "first");
  lightpeft::write_text_atomic(target, "second, longer content");
  EXPECT_EQ(lt::read_file(target), "second, longer content");
  lightpeft::write_file_atomic(target, [](std::ostream& out) { out << "via stream " << 42; });
  EXPECT_EQ(lt::read_file(target), "via stream 42");
  EXPECT_EQ(count_entries(dir.path()), 1u);  // no temporary files left behind
}

TEST(AtomicFile, TargetUnchangedWhenWriterThrows) {
  lt::TempDir dir;
  const fs::path target = dir / "model.safetensors";
  lt::write_file(target, "old content");
  lt::expect_error(
      [&] {
        lightpeft::write_file_atomic(target, [](std::ostream& out) {
          out << "half written";
          throw std::runtime_error("disk on fire");
        });
      },
      {target.string(), "disk on fire"});
  EXPECT_EQ(lt::read_file(target), "old content");
  EXPECT_EQ(count_entries(dir.path()), 1u);
}

TEST(AtomicFile, LightpeftErrorFromWriterPassesThrough) {
  lt::TempDir dir;
  const fs::path target = dir / "x.txt";
  std::string msg = lt::expect_error(
      [&] {
        lightpeft::write_file_atomic(target,
                                     [](std::ostream&) { lightpeft::throw_error("exact message"); });
      },
      {"exact message"});
  EXPECT_EQ(msg, "exact message");
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(count_entries(dir.path()), 0u);
}

TEST(AtomicFile, MissingDirectoryNamesThePath) {
  lt::TempDir dir;
  const fs::path target = dir / "no" / "such" / "dir" / "file.txt";
  lt::expect_error([&] { lightpeft::write_text_atomic(target, "x"); }, {target.string()});
  EXPECT_FALSE(fs::exists(dir / "no"));
}

TEST(AtomicFile, RelativePathInCurrentDirectory) {
  lt::TempDir dir;
  const fs::path old = fs::current_path();
  fs::current_path(dir.path());
  lightpeft::write_text_atomic("relative.txt", "here");
  fs::current_path(old);
  EXPECT_EQ(lt::read_file(dir / "relative.txt"), "here");
}

}  // namespace
