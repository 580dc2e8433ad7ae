#pragma once
// Shared by the fuzz targets. A target feeds the fuzzer's bytes to one parser; the parser may refuse
// them only with lightpeft::Error (caught here). Any other exception escapes and aborts, which
// libFuzzer reports as a finding, as it does a crash, a sanitizer report, a leak or a timeout.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft::fuzz {

// A directory of this process's own for parsers that read files, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    namespace fs = std::filesystem;
    fs::path d = fs::temp_directory_path() / ("lightpeft-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    // Parsers warn about odd but accepted input; thousands of warnings per second help nobody.
    log::set_level(log::Level::off);
    return d;
  }();
  return dir;
}

// Writes `size` bytes at `data` to scratch_dir()/name and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  std::filesystem::path p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) std::abort();  // the harness itself failed, not the parser
  return p;
}

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs f; a lightpeft::Error is the parser refusing bad input, which is what it should do.
template <typename F>
void refuse_only_with_lightpeft_errors(F&& f) {
  try {
    f();
  } catch (const lightpeft::Error&) {
  }
}

}  // namespace lightpeft::fuzz
