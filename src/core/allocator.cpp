#include "lightpeft/core/allocator.h"

#include <dlfcn.h>

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
    if (jemalloc_mallctl()) {
      const char* version = nullptr;
      size_t size = sizeof(version);
      if (jemalloc_mallctl()("version", &version, &size, nullptr, 0) == 0 && version)
        return std::string("jemalloc ") + std::string(version).substr(0, std::string(version).find('-'));
      return std::string("jemalloc");
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

}  // namespace lightpeft
