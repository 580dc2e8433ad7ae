#include "lightpeft/core/allocator.h"

#include <cstdlib>
#include <initializer_list>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lightpeft {

bool tune_malloc_for_tensors() {
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

}  // namespace lightpeft
