#pragma once
// Options shared by every loader (GLUE, SuperGLUE, user files).
#include <cstdint>

namespace lightpeft {

struct LoadOptions {
  // false: the first bad row (wrong column count, unknown label, invalid UTF-8, bad JSON) throws
  // lightpeft::Error "<file>:<line>: <what>". true: bad rows are skipped and one warning with their
  // count (and the first one's message) is logged per file.
  bool skip_bad_rows = false;
  // Stop after this many examples (0: all). For tiny smoke runs; the first rows of the file are kept.
  int64_t max_examples = 0;
};

}  // namespace lightpeft
