#pragma once
// Progress of long work. On a terminal one line is redrawn in place (stage, step/total, loss, lr,
// samples/s, ETA); without one (batch jobs) a plain log line is written every `log_every` steps.
// Every logged step and evaluation also goes to metrics.jsonl, one JSON object per line.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace lightpeft {

class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& file);  // appends
  // One line: {"stage":..., "step":..., <fields>}.
  void write(const std::string& stage, int64_t step, const std::map<std::string, double>& fields);

 private:
  std::ofstream out_;
};

class Progress {
 public:
  Progress(std::string stage, int64_t total_steps, int64_t start_step, int64_t log_every);
  // After each optimizer step: the mean loss since the last call's report, the learning rate and
  // the number of examples processed in this step.
  void step(int64_t step, double loss, double lr, int64_t examples);
  void note(const std::string& message);  // ends the redrawn line, then logs
  void finish();
  double samples_per_second() const;

 private:
  std::string stage_;
  int64_t total_;
  int64_t start_step_;
  int64_t log_every_;
  bool tty_;
  bool line_open_ = false;
  int64_t examples_ = 0;
  std::chrono::steady_clock::time_point started_;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace lightpeft
