// tune_malloc_for_tensors and release_free_memory under glibc (the test binaries' malloc): after
// tuning, a multi-MiB block (the size of an activation) comes from the heap instead of a fresh mmap,
// the user's own glibc settings or LIGHTPEFT_MALLOC_TUNING=0 keep it from changing anything, and
// release_free_memory gives freed heap back to the kernel.
//
// mallopt cannot be undone and glibc raises its mmap threshold by itself once a large block is
// freed, so each case runs in a fresh process: gtest's "threadsafe" death-test style re-executes
// this binary for just that case. That holds under ctest (a process per case) and when all cases
// run in one `test_core` process alike.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <malloc.h>

#include <gtest/gtest.h>

#include "lightpeft/core/allocator.h"

namespace lightpeft {
namespace {

constexpr size_t kBlock = 30u << 20;  // below the 32 MiB threshold, above what glibc starts with

void clear_environment() {
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                        "LIGHTPEFT_MALLOC_TUNING"})
    unsetenv(v);
}

// How many mmapped blocks a live 30 MiB allocation adds.
void* volatile g_block = nullptr;  // volatile: the compiler may not elide the malloc/free pair

size_t mmapped_blocks_for_a_large_block() {
  const size_t before = mallinfo2().hblks;
  g_block = std::malloc(kBlock);
  if (g_block == nullptr) return SIZE_MAX;
  std::memset(g_block, 1, kBlock);
  const size_t during = mallinfo2().hblks;
  std::free(g_block);
  g_block = nullptr;
  return during - before;
}

// Runs `body` in a fresh process; it returns "" when its checks hold, else what went wrong, which
// the child writes to stderr (gtest prints it with the failure).
template <class Body>
void in_fresh_process(Body body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::string failure = body();
        if (!failure.empty()) {
          std::fputs(failure.c_str(), stderr);
          std::_Exit(1);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

std::string expect_mmapped(size_t expected, const char* when) {
  const size_t got = mmapped_blocks_for_a_large_block();
  if (got == expected) return "";
  return std::string(when) + ": a 30 MiB block added " + std::to_string(got) + " mmapped blocks, expected " +
         std::to_string(expected);
}

// limit_free_memory bounds jemalloc's never-decaying pages (tests/jemalloc); glibc returns freed
// heap by itself above its trim threshold, so there it does nothing.
TEST(LimitFreeMemory, DoesNothingUnderGlibc) {
  ASSERT_EQ(malloc_name(), "glibc");
  EXPECT_FALSE(limit_free_memory(0));
}

TEST(MallocTuning, WithoutItALargeBlockIsMmapped) {
  // The control: glibc's default threshold (128 KiB, raised only after such blocks are freed).
  in_fresh_process([] {
    clear_environment();
    return expect_mmapped(1, "glibc defaults");
  });
}

TEST(MallocTuning, LargeBlocksComeFromTheHeapAfterTuning) {
  in_fresh_process([] {
    clear_environment();
    if (!tune_malloc_for_tensors()) return std::string("tune_malloc_for_tensors() returned false");
    const std::string first = expect_mmapped(0, "after tuning, first block");
    return first.empty() ? expect_mmapped(0, "after tuning, second block") : first;
  });
}

// With `variable=value` in the environment the tuning must leave glibc's defaults alone.
void expect_tuning_declined_with(const char* variable, const char* value) {
  in_fresh_process([variable, value] {
    clear_environment();
    if (setenv(variable, value, 1) != 0) return std::string("setenv(") + variable + ") failed";
    if (tune_malloc_for_tensors())
      return std::string("tune_malloc_for_tensors() changed the settings despite ") + variable + "=" + value;
    clear_environment();
    return expect_mmapped(1, variable);
  });
}

// VmRSS of /proc/self/status, MiB.
long resident_mib() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (!status) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, status))
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  std::fclose(status);
  return kib < 0 ? -1 : kib / 1024;
}

TEST(MallocTuning, ReleaseFreeMemoryGivesTheFreedHeapBack) {
  // After tuning glibc keeps freed tensors' memory resident (it never trims); between stages
  // release_free_memory must hand it back, also from the middle of the heap (a live block above it).
  in_fresh_process([] {
    clear_environment();
    if (malloc_name() != "glibc") return "malloc_name() is '" + malloc_name() + "' in a glibc test binary";
    if (!tune_malloc_for_tensors()) return std::string("tune_malloc_for_tensors() returned false");
    std::vector<void*> blocks;
    for (int i = 0; i < 8; ++i) {
      blocks.push_back(std::malloc(kBlock));
      if (!blocks.back()) return std::string("malloc failed");
      std::memset(blocks.back(), 1, kBlock);
    }
    void* volatile live_above = std::malloc(1 << 20);
    std::memset(live_above, 1, 1 << 20);
    for (void* b : blocks) std::free(b);
    const long freed_but_resident = resident_mib();
    release_free_memory();
    const long after = resident_mib();
    std::free(live_above);
    if (freed_but_resident - after < 200)
      return "resident " + std::to_string(freed_but_resident) + " MiB after freeing 240 MiB, " + std::to_string(after) +
             " MiB after release_free_memory (expected at least 200 MiB less)";
    return std::string();
  });
}

TEST(MallocTuning, TheUsersGlibcSettingsWin) { expect_tuning_declined_with("MALLOC_TOP_PAD_", "0"); }

TEST(MallocTuning, SwitchedOffByTheVariable) { expect_tuning_declined_with("LIGHTPEFT_MALLOC_TUNING", "0"); }

}  // namespace
}  // namespace lightpeft
