#include "lightpeft/data/user_task.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/data/csv.h"
#include "lightpeft/data/text_file.h"
#include "loader_util.h"

namespace lightpeft {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using data_detail::join;

UserFileFormat resolve_format(const fs::path& file, UserFileFormat format) {
  if (format != UserFileFormat::auto_detect) return format;
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".csv") return UserFileFormat::csv;
  if (ext == ".tsv" || ext == ".txt") return UserFileFormat::tsv;
  if (ext == ".jsonl" || ext == ".json" || ext == ".ndjson") return UserFileFormat::jsonl;
  throw_error(file.string(), ": cannot tell the format from the extension '", ext,
              "' (expected .csv, .tsv or .jsonl, or set the format)");
}

// JSON scalars as text: strings as they are, booleans "True"/"False" (matching SuperGLUE's
// convention), numbers as JSON writes them.
std::optional<std::string> json_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "True" : "False");
  if (v.is_number()) return v.dump();
  return std::nullopt;
}

// Fills an example from a row, reading columns through get(name, is_text) (nullopt: absent or, for
// text, not text); returns an error message or "".
std::string to_example(const TaskSpec& task, const UserTaskSpec& spec,
                       const std::function<std::optional<std::string>(const std::string&, bool)>& get,
                       bool has_label_column, Example& ex) {
  const auto text = get(spec.text_column, true);
  if (!text) return "missing or non-text value in column '" + spec.text_column + "'";
  ex.text = *text;
  if (!spec.text_pair_column.empty()) {
    const auto pair = get(spec.text_pair_column, true);
    if (!pair) return "missing or non-text value in column '" + spec.text_pair_column + "'";
    ex.text_pair = *pair;
  }
  if (has_label_column) {
    const auto label = get(spec.label_column, false);
    if (!label) return "missing value in column '" + spec.label_column + "'";
    return data_detail::set_label(task, *label, ex);
  }
  return "";
}

std::vector<Example> load_delimited(const fs::path& file, const UserTaskSpec& spec,
                                    const TaskSpec& task, char delim, const LoadOptions& options) {
  const std::string content = read_text_file(file);
  const auto records = parse_csv(content, delim);
  LP_CHECK(!records.empty(), file.string(), ": empty file (expected a header line)");
  LP_CHECK(records[0].error.empty(), file.string(), ":1: ", records[0].error);
  const std::vector<std::string>& header = records[0].fields;
  for (const auto& h : header) LP_CHECK(is_valid_utf8(h), file.string(), ":1: header is not valid UTF-8");
  auto column = [&](const std::string& name) -> int {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  auto require = [&](const std::string& name) {
    LP_CHECK(column(name) >= 0, file.string(), ":1: no column '", name, "' (columns: ", join(header),
             ")");
  };
  require(spec.text_column);
  if (!spec.text_pair_column.empty()) require(spec.text_pair_column);
  const bool has_label_column = column(spec.label_column) >= 0;
  const char* delim_name = delim == '\t' ? "tab" : "comma";

  BadRows bad(file, options);
  std::vector<Example> out;
  for (size_t r = 1; r < records.size() && !data_detail::reached_limit(out, options); ++r) {
    const CsvRecord& rec = records[r];
    if (!rec.error.empty()) {
      bad.bad(rec.line, rec.error);
      continue;
    }
    if (rec.fields.size() != header.size()) {
      bad.bad(rec.line, detail::concat("expected ", header.size(), " ", delim_name,
                                       "-separated columns, got ", rec.fields.size()));
      continue;
    }
    bool utf8 = true;
    for (const auto& f : rec.fields) utf8 = utf8 && is_valid_utf8(f);
    if (!utf8) {
      bad.bad(rec.line, "invalid UTF-8");
      continue;
    }
    Example ex;
    ex.line = rec.line;
    ex.index = static_cast<int64_t>(r - 1);
    auto get = [&](const std::string& name, bool /*is_text*/) -> std::optional<std::string> {
      return rec.fields[static_cast<size_t>(column(name))];
    };
    const std::string err = to_example(task, spec, get, has_label_column, ex);
    if (!err.empty()) {
      bad.bad(rec.line, err);
      continue;
    }
    out.push_back(std::move(ex));
  }
  bad.finish();
  return out;
}

std::vector<Example> load_jsonl(const fs::path& file, const UserTaskSpec& spec,
                                const TaskSpec& task, const LoadOptions& options) {
  const std::string content = read_text_file(file);
  BadRows bad(file, options);
  std::vector<Example> out;
  // The label column counts as present when any row has it (a predict file has none).
  bool any_label = false;
  struct JsonRow {
    int64_t line, row;
    json obj;
  };
  std::vector<JsonRow> rows;
  int64_t row = 0;
  for (const TextLine& line : split_lines(content)) {
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
    const int64_t this_row = row++;
    std::optional<json> obj = data_detail::parse_jsonl_object(line, bad);
    if (!obj) continue;
    any_label = any_label || obj->contains(spec.label_column);
    rows.push_back({line.number, this_row, std::move(*obj)});
  }
  for (const JsonRow& r : rows) {
    if (data_detail::reached_limit(out, options)) break;
    const json& obj = r.obj;
    Example ex;
    ex.line = r.line;
    ex.index = r.row;
    // Text columns must hold JSON strings (a number there is most likely a wrong mapping); labels
    // may be any scalar.
    auto get = [&](const std::string& name, bool is_text) -> std::optional<std::string> {
      if (!obj.contains(name)) return std::nullopt;
      if (is_text && !obj.at(name).is_string()) return std::nullopt;
      return json_text(obj.at(name));
    };
    const std::string err = to_example(task, spec, get, any_label, ex);
    if (!err.empty()) {
      bad.bad(r.line, err);
      continue;
    }
    out.push_back(std::move(ex));
  }
  bad.finish();
  return out;
}

}  // namespace

TaskSpec user_task_spec(const UserTaskSpec& spec) {
  LP_CHECK(!spec.text_column.empty(), "user task '", spec.name, "': text_column is empty");
  LP_CHECK(!spec.label_column.empty(), "user task '", spec.name, "': label_column is empty");
  TaskSpec t;
  t.name = spec.name;
  t.benchmark = "user";
  t.regression = spec.regression;
  if (spec.regression) {
    LP_CHECK(spec.label_names.empty(), "user task '", spec.name,
             "': label_names given for a regression task");
    t.metric = spec.metric.empty() ? "pearson_spearman" : spec.metric;
  } else {
    LP_CHECK(spec.label_names.size() >= 2, "user task '", spec.name,
             "': classification needs label_names with at least 2 labels (or regression: true)");
    std::set<std::string> unique(spec.label_names.begin(), spec.label_names.end());
    LP_CHECK(unique.size() == spec.label_names.size(), "user task '", spec.name,
             "': label_names has duplicates (", join(spec.label_names), ")");
    t.label_names = spec.label_names;
    t.metric = spec.metric.empty() ? "accuracy" : spec.metric;
  }
  static const std::set<std::string> metrics = {"accuracy", "f1", "matthews", "pearson", "spearman",
                                                "accuracy_f1", "pearson_spearman",
                                                "accuracy_macro_f1", "macro_f1"};
  LP_CHECK(metrics.count(t.metric), "user task '", spec.name, "': unknown metric '", t.metric,
           "' (expected one of ", join({metrics.begin(), metrics.end()}), ")");
  const bool regression_metric = t.metric == "pearson" || t.metric == "spearman" ||
                                 t.metric == "pearson_spearman";
  LP_CHECK(regression_metric == t.regression, "user task '", spec.name, "': metric '", t.metric,
           "' does not fit a ", t.regression ? "regression" : "classification", " task");
  return t;
}

std::vector<Example> load_user_file(const fs::path& file, const UserTaskSpec& spec,
                                    const LoadOptions& options) {
  const TaskSpec task = user_task_spec(spec);
  switch (resolve_format(file, spec.format)) {
    case UserFileFormat::csv: return load_delimited(file, spec, task, ',', options);
    case UserFileFormat::tsv: return load_delimited(file, spec, task, '\t', options);
    default: return load_jsonl(file, spec, task, options);
  }
}

std::vector<std::string> infer_label_names(const fs::path& file, const UserTaskSpec& spec) {
  std::set<std::string> labels;
  const auto format = resolve_format(file, spec.format);
  const std::string content = read_text_file(file);
  if (format == UserFileFormat::jsonl) {
    for (const TextLine& line : split_lines(content)) {
      if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
      try {
        const json obj = json::parse(line.text);
        if (obj.is_object() && obj.contains(spec.label_column)) {
          if (auto t = json_text(obj.at(spec.label_column))) labels.insert(*t);
        }
      } catch (const json::exception&) {
        // Bad rows are reported by load_user_file; here they just add no label.
      }
    }
  } else {
    const auto records = parse_csv(content, format == UserFileFormat::csv ? ',' : '\t');
    if (records.empty()) return {};
    int col = -1;
    for (size_t i = 0; i < records[0].fields.size(); ++i) {
      if (records[0].fields[i] == spec.label_column) col = static_cast<int>(i);
    }
    LP_CHECK(col >= 0, file.string(), ":1: no column '", spec.label_column, "' (columns: ",
             join(records[0].fields), ")");
    for (size_t r = 1; r < records.size(); ++r) {
      const auto& f = records[r].fields;
      if (records[r].error.empty() && f.size() == records[0].fields.size()) labels.insert(f[col]);
    }
  }
  return {labels.begin(), labels.end()};
}

}  // namespace lightpeft
