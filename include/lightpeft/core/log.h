#pragma once
// Logging facade over spdlog. Messages are built from streamable parts here and handed to spdlog in
// src/core/log.cpp, the only file that includes spdlog: LibTorch's wheel ships fmt 12 headers that
// shadow the fmt 9 Debian's spdlog is built with, so spdlog and torch headers cannot share a file.
#include <string>
#include <utility>

#include "lightpeft/core/error.h"

namespace lightpeft::log {

enum class Level { trace, debug, info, warn, error, off };

void set_level(Level level);
Level level();
// Parses "trace|debug|info|warn|error|off" (throws lightpeft::Error otherwise).
Level parse_level(const std::string& name);
void write(Level level, const std::string& message);
// Also log to this file (appending), e.g. <output_dir>/train.log; replaces an earlier file sink.
void add_file_sink(const std::string& path);

template <typename... Args>
void debug(Args&&... args) {
  if (level() <= Level::debug) write(Level::debug, detail::concat(std::forward<Args>(args)...));
}
template <typename... Args>
void info(Args&&... args) {
  if (level() <= Level::info) write(Level::info, detail::concat(std::forward<Args>(args)...));
}
template <typename... Args>
void warn(Args&&... args) {
  if (level() <= Level::warn) write(Level::warn, detail::concat(std::forward<Args>(args)...));
}
template <typename... Args>
void error(Args&&... args) {
  write(Level::error, detail::concat(std::forward<Args>(args)...));
}

// Fixed-point rendering for log lines: fixed(0.123456, 3) == "0.123".
std::string fixed(double value, int digits);

}  // namespace lightpeft::log
