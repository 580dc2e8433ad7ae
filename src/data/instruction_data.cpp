#include "lightpeft/data/instruction_data.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "jinja/py_text.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {

namespace {

using json = nlohmann::json;

// A row-level problem, reported with the row's location by the caller.
struct RowError {
  std::string message;
};

// The bad-row policy of BadRows (text_file.h) for locations that are not line numbers.
class RowPolicy {
 public:
  RowPolicy(std::string origin, const LoadOptions& options) : origin_(std::move(origin)), skip_(options.skip_bad_rows) {}
  // `where` is ":5" (a line) or ": row 3".
  void bad(const std::string& where, const std::string& message) {
    std::string full = origin_ + where + ": " + message;
    if (!skip_) throw Error(full);
    if (count_ == 0) first_ = std::move(full);
    ++count_;
  }
  void finish() const {
    if (count_ > 0) {
      log::warn(origin_, ": skipped ", count_, " bad row", count_ == 1 ? "" : "s", " (skip_bad_rows); first: ", first_);
    }
  }

 private:
  std::string origin_;
  bool skip_;
  int64_t count_ = 0;
  std::string first_;
};

std::string type_of(const json& v) { return v.type_name(); }

std::string keys_of(const json& obj) {
  std::string out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key();
  }
  return out.empty() ? "(none)" : out;
}

std::string required_string(const json& obj, const char* key, const char* what) {
  if (!obj.contains(key)) throw RowError{std::string("missing '") + key + "' (" + what + ")"};
  const json& v = obj.at(key);
  if (!v.is_string()) throw RowError{std::string("'") + key + "' is not a string (got " + type_of(v) + ")"};
  return v.get<std::string>();
}

// LLM-Adapters' answers: "74", 2304.0, ["74"], [156.0].
std::string answer_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) return jinja::py_float_repr(v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  throw RowError{"'answer' holds a " + type_of(v) + " (expected a string, a number or a list of them)"};
}

InstructionRow convert(const json& obj) {
  if (!obj.is_object()) throw RowError{"expected a JSON object, got " + type_of(obj)};
  InstructionRow row;
  if (obj.contains("messages")) {
    const json& messages = obj.at("messages");
    if (!messages.is_array()) throw RowError{"'messages' is not a list (got " + type_of(messages) + ")"};
    if (messages.empty()) throw RowError{"'messages' is empty"};
    bool has_assistant = false;
    for (size_t i = 0; i < messages.size(); ++i) {
      const json& m = messages[i];
      const std::string where = "messages[" + std::to_string(i) + "]";
      if (!m.is_object()) throw RowError{where + " is not an object (got " + type_of(m) + ")"};
      if (!m.contains("role")) throw RowError{where + " has no 'role'"};
      if (!m.at("role").is_string()) throw RowError{where + ": 'role' is not a string (got " + type_of(m.at("role")) + ")"};
      const std::string role = m.at("role").get<std::string>();
      if (role != "system" && role != "user" && role != "assistant") {
        throw RowError{where + ": unknown role '" + role + "' (expected system, user or assistant)"};
      }
      if (!m.contains("content")) throw RowError{where + " has no 'content'"};
      if (!m.at("content").is_string()) {
        throw RowError{where + ": 'content' is not a string (got " + type_of(m.at("content")) + ")"};
      }
      has_assistant = has_assistant || role == "assistant";
      row.messages.push_back({role, m.at("content").get<std::string>()});
    }
    if (!has_assistant) throw RowError{"no assistant message (the response to train on)"};
    return row;
  }
  if (obj.contains("conversations")) {
    throw RowError{"ShareGPT rows ('conversations' with from/value) are not read; convert them to 'messages' "
                   "with role/content"};
  }
  if (!obj.contains("instruction")) {
    throw RowError{"expected 'instruction' and 'output' (Alpaca, LLM-Adapters) or 'messages' (chat); the row has keys: " +
                   keys_of(obj)};
  }
  row.instruction = required_string(obj, "instruction", "the Alpaca/LLM-Adapters format");
  if (obj.contains("input") && !obj.at("input").is_null()) {
    if (!obj.at("input").is_string()) throw RowError{"'input' is not a string (got " + type_of(obj.at("input")) + ")"};
    row.input = obj.at("input").get<std::string>();
  }
  row.output = required_string(obj, "output", "the response to train on");
  if (obj.contains("answer") && !obj.at("answer").is_null()) {
    const json& a = obj.at("answer");
    if (a.is_array()) {
      for (const json& x : a) row.answer.push_back(answer_text(x));
    } else {
      row.answer.push_back(answer_text(a));
    }
  }
  return row;
}

bool reached(const std::vector<InstructionRow>& rows, const LoadOptions& options) {
  return options.max_examples > 0 && static_cast<int64_t>(rows.size()) >= options.max_examples;
}

std::vector<InstructionRow> read_jsonl(std::string_view content, const std::string& origin, const LoadOptions& options) {
  RowPolicy policy(origin, options);
  std::vector<InstructionRow> rows;
  for (const TextLine& line : split_lines(content)) {
    if (reached(rows, options)) break;
    if (line.text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = ":" + std::to_string(line.number);
    if (!is_valid_utf8(line.text)) {
      policy.bad(where, "invalid UTF-8");
      continue;
    }
    json obj;
    try {
      obj = json::parse(line.text);
    } catch (const json::exception& e) {
      policy.bad(where, std::string("invalid JSON: ") + e.what());
      continue;
    }
    try {
      InstructionRow row = convert(obj);
      row.line = line.number;
      rows.push_back(std::move(row));
    } catch (const RowError& e) {
      policy.bad(where, e.message);
    }
  }
  policy.finish();
  return rows;
}

std::vector<InstructionRow> read_json_list(const json& list, const std::string& origin, const LoadOptions& options) {
  RowPolicy policy(origin, options);
  std::vector<InstructionRow> rows;
  for (size_t i = 0; i < list.size(); ++i) {
    if (reached(rows, options)) break;
    try {
      InstructionRow row = convert(list[i]);
      row.index = static_cast<int64_t>(i);
      rows.push_back(std::move(row));
    } catch (const RowError& e) {
      policy.bad(": row " + std::to_string(i), e.message);
    }
  }
  policy.finish();
  return rows;
}

// The whole text as one JSON value; a syntax error names its line and column.
json parse_whole(std::string_view content, const std::string& origin) {
  if (!is_valid_utf8(content)) {
    size_t ok = 0;  // the first bad byte: grow a valid prefix one code point at a time
    while (ok < content.size()) {
      const auto b = static_cast<unsigned char>(content[ok]);
      const size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      if (ok + len > content.size() || !is_valid_utf8(content.substr(ok, len))) break;
      ok += len;
    }
    throw_error(origin, ":", line_and_column(content, ok), ": invalid UTF-8");
  }
  try {
    return json::parse(content);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    throw_error(origin, ":", line_and_column(content, e.byte > 0 ? e.byte - 1 : 0), ": not valid JSON: ", e.what());
  } catch (const json::exception& e) {  // out_of_range: a number beyond what a double holds (1e999)
    throw_error(origin, ": not valid JSON: ", e.what());
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string InstructionRow::location() const {
  return index >= 0 ? "row " + std::to_string(index) : "line " + std::to_string(line);
}

std::vector<InstructionRow> parse_instruction_rows(std::string_view content, const std::string& origin,
                                                   const LoadOptions& options, InstructionFileFormat format) {
  if (format == InstructionFileFormat::auto_detect && ends_with(origin, ".jsonl")) {
    format = InstructionFileFormat::jsonl;
  }
  if (format == InstructionFileFormat::jsonl) return read_jsonl(content, origin, options);
  const size_t first = content.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) throw_error(origin, ": the file is empty (expected a JSON list of rows)");
  if (format == InstructionFileFormat::auto_detect && content[first] != '[') {
    // One object per line, as HF datasets reads .json files too. A single object that spans
    // several lines is most likely a JSON document of another shape.
    if (content[first] == '{') {
      json whole;
      bool parsed = true;
      try {
        whole = json::parse(content);
      } catch (const json::exception&) {
        parsed = false;
      }
      const size_t newline = content.find('\n', first);
      const bool one_line = newline == std::string_view::npos ||
                            content.find_first_not_of(" \t\r\n", newline) == std::string_view::npos;
      if (!parsed || one_line) return read_jsonl(content, origin, options);
      throw_error(origin, ": expected a JSON list of rows (or one JSON object per line), got a JSON object with keys: ",
                  keys_of(whole));
    }
  }
  const json whole = parse_whole(content, origin);
  if (!whole.is_array()) {
    throw_error(origin, ": expected a JSON list of rows (or one JSON object per line), got a JSON ", whole.type_name(),
                whole.is_object() ? " with keys: " + keys_of(whole) : std::string());
  }
  return read_json_list(whole, origin, options);
}

std::vector<InstructionRow> load_instruction_file(const std::filesystem::path& file, const LoadOptions& options,
                                                  InstructionFileFormat format) {
  return parse_instruction_rows(read_text_file(file), file.string(), options, format);
}

}  // namespace lightpeft
