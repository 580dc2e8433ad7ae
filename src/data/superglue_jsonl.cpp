// SuperGLUE's JSONL files, one object per line, turned into text/pair examples with the P-tuning v2
// templates documented in data/glue.h.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"
#include "loader_util.h"

namespace lightpeft::data_detail {

namespace {

using json = nlohmann::json;

// A row-level problem: caught per line and reported as "<file>:<line>: <message>".
struct RowError {
  std::string message;
};

const json& field(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) throw RowError{std::string("missing field '") + key + "'"};
  return obj.at(key);
}

std::string string_field(const json& obj, const char* key) {
  const json& v = field(obj, key);
  if (!v.is_string()) throw RowError{std::string("field '") + key + "' is not a string"};
  return v.get<std::string>();
}

int64_t int_field(const json& obj, const char* key) {
  const json& v = field(obj, key);
  if (!v.is_number_integer()) throw RowError{std::string("field '") + key + "' is not an integer"};
  return v.get<int64_t>();
}

// The label as the token TaskSpec::label_names spells: strings as they are, booleans "False"/"True",
// integers in decimal.
std::string label_token(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw RowError{"field 'label' is not a string, boolean or integer"};
}

void read_label(const TaskSpec& spec, const json& obj, Example& ex) {
  const std::string err = set_label(spec, label_token(field(obj, "label")), ex);
  if (!err.empty()) throw RowError{err};
}

// One JSON object -> the task's examples (MultiRC yields one per answer, the others one).
void convert(const TaskSpec& spec, const json& obj, bool labelled, int64_t line,
             std::vector<Example>& out) {
  Example ex;
  ex.line = line;
  const std::string& task = spec.name;
  if (task == "multirc") {
    const json& passage = field(obj, "passage");
    const std::string text = string_field(passage, "text");
    const json& questions = field(passage, "questions");
    if (!questions.is_array()) throw RowError{"field 'questions' is not an array"};
    std::vector<Example> rows;
    for (const json& q : questions) {
      const std::string question = string_field(q, "question");
      const int64_t qidx = int_field(q, "idx");
      const json& answers = field(q, "answers");
      if (!answers.is_array()) throw RowError{"field 'answers' is not an array"};
      for (const json& a : answers) {
        Example e = ex;
        e.text = text;
        e.text_pair = question + " " + string_field(a, "text");
        e.index = int_field(a, "idx");
        e.group = qidx;
        if (labelled) read_label(spec, a, e);
        rows.push_back(std::move(e));
      }
    }
    out.insert(out.end(), rows.begin(), rows.end());
    return;
  }
  ex.index = int_field(obj, "idx");
  if (task == "boolq") {
    ex.text = string_field(obj, "question");
    ex.text_pair = string_field(obj, "passage");
  } else if (task == "cb" || task == "superglue-rte") {
    ex.text = string_field(obj, "premise");
    ex.text_pair = string_field(obj, "hypothesis");
  } else if (task == "copa") {
    const std::string question = string_field(obj, "question");
    if (question != "cause" && question != "effect") {
      throw RowError{"field 'question' is '" + question + "' (expected cause or effect)"};
    }
    ex.text = string_field(obj, "premise") + (question == "cause" ? " because" : " so");
    ex.choices = {string_field(obj, "choice1"), string_field(obj, "choice2")};
  } else if (task == "wic") {
    ex.text = string_field(obj, "sentence1") + " " + string_field(obj, "sentence2") + " Does " +
              string_field(obj, "word") + " have the same meaning in both sentences?";
  } else if (task == "wsc") {
    const json& target = field(obj, "target");
    ex.text = string_field(target, "span2_text") + ": " + string_field(obj, "text");
    ex.text_pair = string_field(target, "span1_text");
  } else {
    throw_error("task '", task, "' has no SuperGLUE reader");
  }
  if (labelled) read_label(spec, obj, ex);
  out.push_back(std::move(ex));
}

}  // namespace

std::vector<Example> read_superglue_jsonl(const TaskSpec& spec, const std::filesystem::path& file,
                                          bool labelled, const LoadOptions& options) {
  const std::string content = read_text_file(file);
  BadRows bad(file, options);
  std::vector<Example> out;
  for (const TextLine& line : split_lines(content)) {
    if (reached_limit(out, options)) break;
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::optional<json> obj = parse_jsonl_object(line, bad);
    if (!obj) continue;
    try {
      convert(spec, *obj, labelled, line.number, out);
    } catch (const RowError& e) {
      bad.bad(line.number, e.message);
    }
  }
  bad.finish();
  if (options.max_examples > 0 && static_cast<int64_t>(out.size()) > options.max_examples) {
    out.resize(static_cast<size_t>(options.max_examples));  // MultiRC adds several per line
  }
  return out;
}

}  // namespace lightpeft::data_detail
