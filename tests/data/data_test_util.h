#pragma once
// Helpers for the data tests: write a tiny file into a temp folder and load it.
#include <string>

#include "lightpeft/core/error.h"
#include "test_support.h"

namespace lightpeft::testing {

// Writes `content` to dir/relative (creating folders) and returns the path.
inline fs::path put(const TempDir& dir, const std::string& relative, const std::string& content) {
  const fs::path p = dir.path() / relative;
  fs::create_directories(p.parent_path());
  write_file(p, content);
  return p;
}

// The message of the lightpeft::Error `fn` throws ("" when it does not throw).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lightpeft::testing
