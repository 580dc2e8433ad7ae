#include "loader_util.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace lightpeft::data_detail {

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::optional<int64_t> label_id(const TaskSpec& spec, const std::string& token) {
  for (size_t i = 0; i < spec.label_names.size(); ++i) {
    if (spec.label_names[i] == token) return static_cast<int64_t>(i);
  }
  return std::nullopt;
}

std::string set_label(const TaskSpec& spec, const std::string& token, Example& example) {
  if (spec.regression) {
    const char* begin = token.c_str();
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(begin, &end);
    if (token.empty() || end != begin + token.size() || errno == ERANGE || !std::isfinite(value)) {
      return "label '" + token + "' is not a number (regression task)";
    }
    // Labels are float32: a larger value would become inf (and the converting cast is undefined).
    if (std::fabs(value) > std::numeric_limits<float>::max()) {
      return "label '" + token + "' is beyond the float32 range (regression task)";
    }
    example.label = static_cast<float>(value);
  } else {
    const auto id = label_id(spec, token);
    if (!id) return "unknown label '" + token + "' (expected " + join(spec.label_names) + ")";
    example.label = static_cast<float>(*id);
  }
  example.has_label = true;
  return "";
}

std::optional<int64_t> parse_int(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(begin, &end, 10);
  if (end != begin + text.size() || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(value);
}

std::optional<nlohmann::json> parse_jsonl_object(const TextLine& line, BadRows& bad) {
  if (!is_valid_utf8(line.text)) {
    bad.bad(line.number, "invalid UTF-8");
    return std::nullopt;
  }
  nlohmann::json obj;
  try {
    obj = nlohmann::json::parse(line.text);
  } catch (const nlohmann::json::exception& e) {
    bad.bad(line.number, std::string("invalid JSON: ") + e.what());
    return std::nullopt;
  }
  if (!obj.is_object()) {
    bad.bad(line.number, "expected a JSON object");
    return std::nullopt;
  }
  return obj;
}

}  // namespace lightpeft::data_detail
