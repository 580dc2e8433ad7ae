// limit_free_memory under jemalloc with the settings the lightpeft executable links
// (tools/malloc_conf.cpp: freed pages never decay, so only a purge gives them back): freed pages
// below the bound stay for reuse, above it every arena is purged. This binary links the CLI's
// malloc; built with LIGHTPEFT_ALLOCATOR=glibc it has nothing to test and says so.
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "lightpeft/core/allocator.h"

namespace lightpeft {
namespace {

volatile char g_sink = 0;  // reads of the blocks, so that the allocations cannot be elided

// Writes and frees `count` blocks of distinct sizes from `first` bytes up (the varying sizes of a
// decoder's steps); returns their total size.
size_t allocate_and_free(size_t first, size_t count) {
  std::vector<char*> blocks;
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const size_t size = first + i * (340u << 10);
    auto* p = static_cast<char*>(std::malloc(size));
    if (p == nullptr) return 0;
    std::memset(p, static_cast<int>(i + 1), size);
    blocks.push_back(p);
    total += size;
  }
  for (char* p : blocks) {
    g_sink = static_cast<char>(g_sink + p[0]);
    std::free(p);
  }
  return total;
}

TEST(LimitFreeMemory, PurgesFreedPagesAboveTheBoundOnly) {
  if (malloc_name().rfind("jemalloc", 0) != 0)
    GTEST_SKIP() << "this binary's malloc is " << malloc_name() << " (LIGHTPEFT_ALLOCATOR=glibc)";
  release_free_memory();
  EXPECT_FALSE(limit_free_memory(size_t{64} << 20)) << "nothing freed yet";
  const size_t freed = allocate_and_free(size_t{8} << 20, 24);
  ASSERT_GT(freed, size_t{256} << 20);
  EXPECT_FALSE(limit_free_memory(size_t{1} << 30)) << "below the bound the freed pages stay";
  EXPECT_TRUE(limit_free_memory(size_t{64} << 20)) << "above it they are purged";
  EXPECT_FALSE(limit_free_memory(size_t{64} << 20)) << "and gone after the purge";
}

}  // namespace
}  // namespace lightpeft
