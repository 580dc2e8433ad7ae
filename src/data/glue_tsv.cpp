// GLUE's TSV files: columns are located by header name (every file but CoLA's train/dev has a
// header), rows are split on tabs with no quoting, and every row must have the header's width.
#include <string>
#include <vector>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"
#include "loader_util.h"

namespace lightpeft::data_detail {

namespace {

// Where a task's fields are. Header names for files with a header; positions for CoLA's headerless
// train/dev files.
struct TsvLayout {
  bool header = true;
  std::string text, pair, label, index;
  // Headerless files only:
  int columns = 0;
  int text_pos = -1, label_pos = -1;
};

TsvLayout glue_layout(const std::string& task, bool labelled) {
  TsvLayout l;
  if (task == "cola") {
    if (labelled) {  // source, label, original judgement, sentence
      l.header = false;
      l.columns = 4;
      l.text_pos = 3;
      l.label_pos = 1;
    } else {
      l.text = "sentence";
      l.index = "index";
    }
  } else if (task == "sst2") {
    l.text = "sentence";
    l.label = "label";
    if (!labelled) l.index = "index";
  } else if (task == "mrpc") {
    l.text = "#1 String";
    l.pair = "#2 String";
    l.label = "Quality";
    if (!labelled) l.index = "index";
  } else if (task == "stsb") {
    l = {true, "sentence1", "sentence2", "score", "index"};
  } else if (task == "qqp") {
    l = {true, "question1", "question2", "is_duplicate", "id"};
  } else if (task == "mnli") {
    l = {true, "sentence1", "sentence2", "gold_label", "index"};
  } else if (task == "qnli") {
    l = {true, "question", "sentence", "label", "index"};
  } else {  // rte, wnli
    l = {true, "sentence1", "sentence2", "label", "index"};
  }
  if (!labelled) l.label.clear();
  return l;
}

struct Columns {
  int expected = 0;
  int text = -1, pair = -1, label = -1, index = -1;
};

// Finds the layout's columns in the header; a missing one means the file is not this task's format.
Columns locate_columns(const TsvLayout& l, const std::vector<std::string_view>& header,
                       const std::filesystem::path& file) {
  Columns c;
  if (!l.header) {
    c.expected = l.columns;
    c.text = l.text_pos;
    c.label = l.label_pos;
    return c;
  }
  c.expected = static_cast<int>(header.size());
  std::vector<std::string> names(header.begin(), header.end());
  auto find = [&](const std::string& name) {
    if (name.empty()) return -1;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    throw_error(file.string(), ":1: header has no column '", name, "' (columns: ", join(names),
                ")");
  };
  c.text = find(l.text);
  c.pair = find(l.pair);
  c.label = find(l.label);
  c.index = find(l.index);
  return c;
}

}  // namespace

std::vector<Example> read_glue_tsv(const TaskSpec& spec, const std::filesystem::path& file,
                                   bool labelled, const LoadOptions& options) {
  const TsvLayout layout = glue_layout(spec.name, labelled);
  const std::string content = read_text_file(file);
  const std::vector<TextLine> lines = split_lines(content);

  size_t first = 0;
  std::vector<std::string_view> header;
  if (layout.header) {
    LP_CHECK(!lines.empty(), file.string(), ": empty file (expected a header line)");
    LP_CHECK(is_valid_utf8(lines[0].text), file.string(), ":1: header is not valid UTF-8");
    header = split_tabs(lines[0].text);
    first = 1;
  }
  const Columns cols = locate_columns(layout, header, file);

  BadRows bad(file, options);
  std::vector<Example> out;
  int64_t row = 0;  // 0-based data row number: the index of files without an index column
  for (size_t i = first; i < lines.size() && !reached_limit(out, options); ++i) {
    const TextLine& line = lines[i];
    if (line.text.empty()) continue;
    const int64_t this_row = row++;
    if (!is_valid_utf8(line.text)) {
      bad.bad(line.number, "invalid UTF-8");
      continue;
    }
    const auto fields = split_tabs(line.text);
    if (static_cast<int>(fields.size()) != cols.expected) {
      bad.bad(line.number, detail::concat("expected ", cols.expected,
                                          " tab-separated columns, got ", fields.size()));
      continue;
    }
    Example ex;
    ex.line = line.number;
    ex.text = std::string(fields[cols.text]);
    if (cols.pair >= 0) ex.text_pair = std::string(fields[cols.pair]);
    ex.index = this_row;
    if (cols.index >= 0) {
      const auto idx = parse_int(std::string(fields[cols.index]));
      if (!idx) {
        bad.bad(line.number, "index '" + std::string(fields[cols.index]) + "' is not an integer");
        continue;
      }
      ex.index = *idx;
    }
    if (cols.label >= 0) {
      const std::string err = set_label(spec, std::string(fields[cols.label]), ex);
      if (!err.empty()) {
        bad.bad(line.number, err);
        continue;
      }
    }
    out.push_back(std::move(ex));
  }
  bad.finish();
  return out;
}

}  // namespace lightpeft::data_detail
