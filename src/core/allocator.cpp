#include "lightpeft/core/allocator.h"

#include <dlfcn.h>
#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lightpeft {
namespace {

// jemalloc's control interface; found by name so that liblightpeft needs no jemalloc of its own
// and sees the one the executable linked or LD_PRELOADed.
using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);

Mallctl jemalloc_mallctl() {
  static const Mallctl fn = reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

}  // namespace

const std::string& malloc_name() {
  static const std::string name = [] {
    if (Mallctl mallctl = jemalloc_mallctl()) {
      std::string text = "jemalloc";
      const char* version = nullptr;
      size_t size = sizeof(version);
      if (mallctl("version", &version, &size, nullptr, 0) == 0 && version) {
        const std::string full(version);  // "5.3.0-0-g54eaed1d8b..."
        text += " " + full.substr(0, full.find('-'));
      }
      // The two settings that decide a training step's page faults (tools/malloc_conf.cpp).
      size_t oversize = 0;
      ssize_t decay = 0;
      size = sizeof(oversize);
      const bool has_oversize = mallctl("opt.oversize_threshold", &oversize, &size, nullptr, 0) == 0;
      size = sizeof(decay);
      if (has_oversize && mallctl("opt.dirty_decay_ms", &decay, &size, nullptr, 0) == 0)
        text += " (oversize_threshold " + std::to_string(oversize) + ", dirty_decay_ms " + std::to_string(decay) + ")";
      return text;
    }
#if defined(__GLIBC__)
    return std::string("glibc");
#else
    return std::string("other");
#endif
  }();
  return name;
}

bool tune_malloc_for_tensors() {
  if (jemalloc_mallctl()) return false;  // glibc's mallopt would tune an allocator nothing uses
#if defined(__GLIBC__)
  for (const char* user : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(user)) return false;  // the user's own tuning wins
  const char* off = std::getenv("LIGHTPEFT_MALLOC_TUNING");
  if (off && std::strcmp(off, "0") == 0) return false;
  // Setting any of these also switches off glibc's dynamic threshold, so the values stay.
  bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1 && ok;
  ok = mallopt(M_TOP_PAD, 256 << 20) == 1 && ok;
  return ok;
#else
  return false;
#endif
}

void release_free_memory() {
  if (Mallctl mallctl = jemalloc_mallctl()) {
    // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena's unused dirty pages back to the kernel.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

bool limit_free_memory(size_t max_unused_bytes) {
  Mallctl mallctl = jemalloc_mallctl();
  if (!mallctl) return false;
  // Statistics are a snapshot taken at each "epoch" write (a few microseconds for all arenas).
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  if (mallctl("epoch", &epoch, &size, &epoch, size) != 0) return false;
  size_t dirty_pages = 0, page = 0;
  size = sizeof(size_t);
  if (mallctl("stats.arenas.4096.pdirty", &dirty_pages, &size, nullptr, 0) != 0) return false;  // no stats
  size = sizeof(size_t);
  if (mallctl("arenas.page", &page, &size, nullptr, 0) != 0) return false;
  if (dirty_pages * page <= max_unused_bytes) return false;
  release_free_memory();
  return true;
}

}  // namespace lightpeft
