#include "lightpeft/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

MetricsLog::MetricsLog(const std::filesystem::path& file) : out_(file, std::ios::app) {
  LP_CHECK(out_.good(), file.string(), ": cannot open for appending");
}

void MetricsLog::write(const std::string& stage, int64_t step,
                       const std::map<std::string, double>& fields) {
  nlohmann::json j = {{"stage", stage}, {"step", step}};
  for (const auto& [k, v] : fields) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  out_ << j.dump() << "\n";
  out_.flush();
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

Progress::Progress(std::string stage, int64_t total_steps, int64_t start_step, int64_t log_every)
    : stage_(std::move(stage)),
      total_(total_steps),
      start_step_(start_step),
      log_every_(std::max<int64_t>(1, log_every)),
      tty_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()) {}

double Progress::samples_per_second() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return secs > 0 ? examples_ / secs : 0.0;
}

void Progress::step(int64_t step, double loss, double lr, int64_t examples) {
  examples_ += examples;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const int64_t done = step - start_step_;
  const double eta = done > 0 ? secs / done * (total_ - step) : NAN;
  char line[256];
  std::snprintf(line, sizeof(line), "[%s] step %lld/%lld  loss %.4f  lr %.2e  %.1f samples/s  ETA %s",
                stage_.c_str(), static_cast<long long>(step), static_cast<long long>(total_), loss, lr,
                samples_per_second(), format_duration(eta).c_str());
  if (tty_) {
    std::cerr << "\r" << line << "\033[K" << std::flush;
    line_open_ = true;
  } else if (step % log_every_ == 0 || step == total_) {
    log::info(line);
  }
}

void Progress::note(const std::string& message) {
  if (line_open_) {
    std::cerr << "\n";
    line_open_ = false;
  }
  log::info(message);
}

void Progress::finish() {
  if (line_open_) std::cerr << "\n";
  line_open_ = false;
}

}  // namespace lightpeft
