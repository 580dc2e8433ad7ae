// SQuAD JSON -> one Example per question, validated up front (data/squad.h).
#include "lightpeft/data/squad.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {

namespace {

using json = nlohmann::json;

// A problem with one article, paragraph or question, reported by the caller with its place.
struct RowError {
  std::string message;
};

// The length of the longest valid UTF-8 prefix (where an "invalid UTF-8" error points).
size_t valid_utf8_prefix(std::string_view content) {
  size_t ok = 0;
  while (ok < content.size()) {
    const auto b = static_cast<unsigned char>(content[ok]);
    const size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    if (ok + len > content.size() || !is_valid_utf8(content.substr(ok, len))) break;
    ok += len;
  }
  return ok;
}

const json& member(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key)) throw RowError{where + "has no '" + key + "'"};
  return obj.at(key);
}

std::string string_member(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_string()) throw RowError{where + "'" + key + "' is not a string (got " + v.type_name() + ")"};
  return v.get<std::string>();
}

const json& array_member(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_array()) throw RowError{where + "'" + key + "' is not a list (got " + v.type_name() + ")"};
  return v;
}

std::string quoted_excerpt(std::string_view text) {
  constexpr size_t kMax = 60;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  size_t cut = kMax;  // not inside a UTF-8 sequence
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(text.substr(0, cut)) + "...'";
}

int64_t code_points_before(std::string_view text, size_t byte) {
  int64_t n = 0;
  for (size_t i = 0; i < byte && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  return n;
}

// One answer object: {"text": non-empty string, "answer_start": integer >= 0}. With `context`, the
// text must stand at answer_start (counted in code points) there; returns the answer with a byte
// offset.
SpanAnswer read_answer(const json& a, const std::string& where, const std::string* context) {
  if (!a.is_object()) throw RowError{where + " is not an object (got " + std::string(a.type_name()) + ")"};
  const std::string prefix = where + ": ";
  SpanAnswer out;
  out.text = string_member(a, "text", prefix);
  if (out.text.empty()) throw RowError{where + ".text is empty"};
  const json& start = member(a, "answer_start", prefix);
  if (!start.is_number_integer())
    throw RowError{where + ".answer_start is not an integer (got " + start.type_name() + " " + start.dump() + ")"};
  if (start.is_number_integer() && !start.is_number_unsigned() && start.get<int64_t>() < 0)
    throw RowError{where + ".answer_start is negative (" + start.dump() + ")"};
  if (start.is_number_unsigned() && start.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw RowError{where + ".answer_start " + start.dump() + " is past the context"};
  const auto chars = start.get<int64_t>();
  if (context == nullptr) return out;
  const std::optional<int64_t> byte = code_point_to_byte(*context, chars);
  if (!byte || *byte >= static_cast<int64_t>(context->size()))
    throw RowError{where + ".answer_start " + std::to_string(chars) + " is past the context's end (" +
                   std::to_string(code_points_before(*context, context->size())) + " characters)"};
  if (context->compare(static_cast<size_t>(*byte), out.text.size(), out.text) != 0) {
    const std::string_view at = std::string_view(*context).substr(static_cast<size_t>(*byte), out.text.size());
    std::string msg = where + ".answer_start " + std::to_string(chars) + " points at " + quoted_excerpt(at) +
                      " in the context, not at the answer's text " + quoted_excerpt(out.text);
    const size_t found = context->find(out.text);
    msg += found == std::string::npos
               ? " (the context does not contain that text)"
               : " (found at character " + std::to_string(code_points_before(*context, found)) + ")";
    throw RowError{msg};
  }
  out.start = *byte;
  return out;
}

// The questions of one paragraph; a bad question is reported through `bad` and left out.
class Reader {
 public:
  Reader(const std::string& origin, const LoadOptions& options, bool labelled)
      : bad_(origin, options), options_(options), labelled_(labelled) {}

  std::vector<Example> read(const json& root) {
    if (!root.is_object())
      throw_error(bad_.file().string(), ": expected a SQuAD JSON object with a 'data' list, got a JSON ",
                  root.type_name());
    if (!root.contains("data") || !root.at("data").is_array())
      throw_error(bad_.file().string(), ": expected a SQuAD JSON object with a 'data' list of articles",
                  root.contains("data") ? std::string(", got 'data' of type ") + root.at("data").type_name()
                                        : std::string(" (the object has no 'data')"));
    const json& data = root.at("data");
    for (size_t i = 0; i < data.size() && !full(); ++i) article(data[i], "data[" + std::to_string(i) + "]");
    bad_.finish();
    return std::move(out_);
  }

 private:
  bool full() const {
    return options_.max_examples > 0 && static_cast<int64_t>(out_.size()) >= options_.max_examples;
  }

  void article(const json& a, const std::string& where) {
    try {
      if (!a.is_object()) throw RowError{std::string("not an object (got ") + a.type_name() + ")"};
      if (a.contains("title") && !a.at("title").is_string())
        throw RowError{std::string("'title' is not a string (got ") + a.at("title").type_name() + ")"};
      const json& paragraphs = array_member(a, "paragraphs", "");
      for (size_t j = 0; j < paragraphs.size() && !full(); ++j)
        paragraph(paragraphs[j], where + ".paragraphs[" + std::to_string(j) + "]");
    } catch (const RowError& e) {
      bad_.bad_at(where, e.message);
    }
  }

  void paragraph(const json& p, const std::string& where) {
    std::string context;
    const json* qas = nullptr;
    try {
      if (!p.is_object()) throw RowError{std::string("not an object (got ") + p.type_name() + ")"};
      context = string_member(p, "context", "");
      if (context.empty()) throw RowError{"'context' is empty"};
      qas = &array_member(p, "qas", "");
    } catch (const RowError& e) {
      bad_.bad_at(where, e.message);
      return;
    }
    for (size_t k = 0; k < qas->size() && !full(); ++k) question((*qas)[k], context, where + ".qas[" + std::to_string(k) + "]");
  }

  void question(const json& q, const std::string& context, const std::string& where) {
    std::string id;
    try {
      if (!q.is_object()) throw RowError{std::string("not an object (got ") + q.type_name() + ")"};
      id = string_member(q, "id", "");
      if (id.empty()) throw RowError{"'id' is empty"};
      Example ex;
      ex.id = id;
      ex.text = string_member(q, "question", "");
      ex.text_pair = context;
      ex.index = position_++;
      ex.has_label = labelled_;
      if (labelled_) read_answers(q, context, ex);
      const auto [first, inserted] = seen_.emplace(id, where);
      if (!inserted) throw RowError{"duplicate id (first at " + first->second + ")"};
      out_.push_back(std::move(ex));
    } catch (const RowError& e) {
      bad_.bad_at(id.empty() ? where : "question '" + id + "' (" + where + ")", e.message);
    }
  }

  static void read_answers(const json& q, const std::string& context, Example& ex) {
    const json& answers = array_member(q, "answers", "");
    for (size_t a = 0; a < answers.size(); ++a)
      ex.answers.push_back(read_answer(answers[a], "answers[" + std::to_string(a) + "]", &context));
    if (q.contains("is_impossible")) {
      const json& imp = q.at("is_impossible");
      if (!imp.is_boolean()) throw RowError{std::string("'is_impossible' is not a boolean (got ") + imp.type_name() + ")"};
      if (imp.get<bool>() && !ex.answers.empty())
        throw RowError{"is_impossible is true but the question has " + std::to_string(ex.answers.size()) + " answer" +
                       (ex.answers.size() == 1 ? "" : "s")};
      if (!imp.get<bool>() && ex.answers.empty())
        throw RowError{"is_impossible is false but 'answers' is empty"};
    }
    if (q.contains("plausible_answers")) {
      const json& plausible = q.at("plausible_answers");
      if (!plausible.is_array())
        throw RowError{std::string("'plausible_answers' is not a list (got ") + plausible.type_name() + ")"};
      for (size_t a = 0; a < plausible.size(); ++a)
        read_answer(plausible[a], "plausible_answers[" + std::to_string(a) + "]", nullptr);
    }
  }

  BadRows bad_;
  LoadOptions options_;
  bool labelled_;
  std::vector<Example> out_;
  std::unordered_map<std::string, std::string> seen_;  // id -> where it first occurred
  int64_t position_ = 0;
};

}  // namespace

std::optional<std::string> squad_task_name(const std::string& name) {
  std::string key;
  for (char c : name)
    if (c != '-' && c != '_' && c != '.') key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (key == "squad" || key == "squadv1" || key == "squadv11" || key == "squad1" || key == "squad11") return "squad";
  if (key == "squadv2" || key == "squadv20" || key == "squad2" || key == "squad20") return "squad_v2";
  return std::nullopt;
}

std::optional<int64_t> code_point_to_byte(std::string_view text, int64_t index) {
  if (index < 0) return std::nullopt;
  int64_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (seen == index) return static_cast<int64_t>(i);
    ++seen;
  }
  if (seen == index) return static_cast<int64_t>(text.size());
  return std::nullopt;
}

std::vector<Example> parse_squad_json(std::string_view content, const std::string& origin,
                                      const LoadOptions& options, bool labelled) {
  if (!is_valid_utf8(content)) throw_error(origin, ":", line_and_column(content, valid_utf8_prefix(content)), ": invalid UTF-8");
  json root;
  try {
    root = json::parse(content);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    throw_error(origin, ":", line_and_column(content, e.byte > 0 ? e.byte - 1 : 0), ": not valid JSON: ", e.what());
  } catch (const json::exception& e) {  // e.g. out_of_range: a number beyond double (1e999)
    throw_error(origin, ": not valid JSON: ", e.what());
  }
  return Reader(origin, options, labelled).read(root);
}

std::vector<Example> load_squad_file(const std::filesystem::path& file, const LoadOptions& options, bool labelled) {
  return parse_squad_json(read_text_file(file), file.string(), options, labelled);
}

}  // namespace lightpeft
