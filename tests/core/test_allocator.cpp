// tune_malloc_for_tensors: after it, a multi-MiB block (the size of an activation) comes from the
// heap instead of a fresh mmap, and the user's own glibc settings or LIGHTPEFT_MALLOC_TUNING=0 keep
// it from changing anything. Each case runs in its own process (ctest), so the settings start as
// glibc's defaults.
#include <cstdlib>
#include <initializer_list>
#include <cstring>

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
  EXPECT_NE(g_block, nullptr);
  std::memset(g_block, 1, kBlock);
  const size_t during = mallinfo2().hblks;
  std::free(g_block);
  g_block = nullptr;
  return during - before;
}

TEST(MallocTuning, WithoutItALargeBlockIsMmapped) {
  // The control: glibc's default threshold (128 KiB, raised only after such blocks are freed).
  EXPECT_EQ(mmapped_blocks_for_a_large_block(), 1u);
}

TEST(MallocTuning, LargeBlocksComeFromTheHeapAfterTuning) {
  clear_environment();
  ASSERT_TRUE(tune_malloc_for_tensors());
  EXPECT_EQ(mmapped_blocks_for_a_large_block(), 0u);
  EXPECT_EQ(mmapped_blocks_for_a_large_block(), 0u);
}

TEST(MallocTuning, TheUsersGlibcSettingsWin) {
  clear_environment();
  ASSERT_EQ(setenv("MALLOC_TOP_PAD_", "0", 1), 0);
  EXPECT_FALSE(tune_malloc_for_tensors());
  clear_environment();
  EXPECT_EQ(mmapped_blocks_for_a_large_block(), 1u);
}

TEST(MallocTuning, SwitchedOffByTheVariable) {
  clear_environment();
  ASSERT_EQ(setenv("LIGHTPEFT_MALLOC_TUNING", "0", 1), 0);
  EXPECT_FALSE(tune_malloc_for_tensors());
  clear_environment();
  EXPECT_EQ(mmapped_blocks_for_a_large_block(), 1u);
}

}  // namespace
}  // namespace lightpeft
