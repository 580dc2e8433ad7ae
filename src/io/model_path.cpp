#include "lightpeft/io/model_path.h"

#include <chrono>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/gguf_hf.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

bool has_gguf_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".gguf";
}

// The .gguf a path stands for, or empty.
fs::path gguf_file_of(const fs::path& path) {
  if (fs::is_regular_file(path)) return has_gguf_extension(path) ? path : fs::path();
  if (!fs::is_directory(path) || fs::exists(path / "config.json") || fs::exists(path / "bert_config.json"))
    return {};
  fs::path found;
  for (const auto& e : fs::directory_iterator(path)) {
    if (!e.is_regular_file() || !has_gguf_extension(e.path())) continue;
    LP_CHECK(found.empty(), path.string(), ": holds more than one .gguf (", found.filename().string(), ", ",
             e.path().filename().string(), "); name the file itself");
    found = e.path();
  }
  return found;
}

fs::path cache_root() {
  if (const char* c = std::getenv("LIGHTPEFT_CACHE"); c && *c) return fs::path(c) / "gguf";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "lightpeft" / "gguf";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "lightpeft" / "gguf";
}

}  // namespace

bool is_gguf_model(const fs::path& path) { return !gguf_file_of(path).empty(); }

fs::path resolve_model_dir(const fs::path& path) {
  LP_CHECK(fs::exists(path), path.string(), ": no such model file or folder");
  const fs::path gguf = gguf_file_of(path);
  if (gguf.empty()) return path;
  // One folder per (absolute path, size, mtime): a changed file gets a fresh conversion.
  const fs::path absolute = fs::absolute(gguf).lexically_normal();
  const auto size = fs::file_size(gguf);
  const auto mtime = fs::last_write_time(gguf).time_since_epoch().count();
  std::ostringstream key;
  key << std::hex << std::hash<std::string>{}(absolute.string() + "|" + std::to_string(size) + "|" + std::to_string(mtime));
  const fs::path dir = cache_root() / (gguf.stem().string() + "-" + key.str());
  if (fs::exists(dir / "config.json")) return dir;
  log::info("converting ", gguf.string(), " to an HF folder in ", dir.string(), " (once)");
  const auto started = std::chrono::steady_clock::now();
  const fs::path tmp = dir.string() + ".tmp" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  write_hf_folder(gguf, tmp);
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) {  // another process finished the same conversion first: use its folder
    fs::remove_all(tmp, ec);
    LP_CHECK(fs::exists(dir / "config.json"), dir.string(), ": cannot move the converted model into place");
  }
  log::info("converted in ", log::fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1),
            " s");
  return dir;
}

}  // namespace lightpeft
