// LLM-Adapters' commonsense files: the sets, their names and folders, the question/choice parser
// and the loader (data/commonsense.h).
#include "lightpeft/data/commonsense.h"

#include <cctype>
#include <system_error>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/data/instruction_data.h"
#include "lightpeft/data/prompt_format.h"
#include "loader_util.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

// How a set's instruction is laid out around the question and the choices.
struct Layout {
  const char* prefix;          // before the question
  const char* first_sep;       // before "<Word>1: "
  const char* between_sep;     // before "<Word>k: ", k > 1
  const char* format_sep;      // before "Answer format: "
};

const char* const kChoose = "Please choose the correct answer to the question: ";

Layout layout_of(CommonsenseSet set) {
  switch (set) {
    case CommonsenseSet::boolq:
      return {"Please answer the following question with true or false, question: ", "", "", "\n\n"};
    case CommonsenseSet::piqa:
      return {"Please choose the correct solution to the question: ", "\n\n", "\n\n", "\n\n"};
    case CommonsenseSet::winogrande:
      return {"Please choose the correct answer to fill in the blank to complete the given sentence: ", "\n\n", " ",
              " "};
    default:
      return {kChoose, "\n\n", " ", "\n\n"};
  }
}

// Lower case without '-', '_', '.' and ' ': the spelling-insensitive key of names.
std::string squash(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string shown(const std::string& text, size_t limit = 60) {
  std::string s = text.size() > limit ? text.substr(0, limit) + "..." : text;
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return "\"" + out + "\"";
}

std::string capitalised(const std::string& word) {
  std::string w = word;
  if (!w.empty()) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
  return w;
}

}  // namespace

const std::vector<CommonsenseSetInfo>& commonsense_sets() {
  static const std::vector<CommonsenseSetInfo> sets = {
      {CommonsenseSet::boolq, "boolq", "boolq", "", true},
      {CommonsenseSet::piqa, "piqa", "piqa", "solution", false},
      {CommonsenseSet::social_i_qa, "social_i_qa", "social_i_qa", "answer", false},
      {CommonsenseSet::winogrande, "winogrande", "winogrande", "option", false},
      {CommonsenseSet::arc_easy, "arc_easy", "ARC-Easy", "answer", true},
      {CommonsenseSet::arc_challenge, "arc_challenge", "ARC-Challenge", "answer", true},
      {CommonsenseSet::openbookqa, "openbookqa", "openbookqa", "answer", true},
  };
  return sets;
}

const CommonsenseSetInfo& commonsense_set_info(CommonsenseSet set) {
  for (const auto& info : commonsense_sets())
    if (info.set == set) return info;
  throw_error("commonsense: unknown set id ", static_cast<int>(set));
}

std::string commonsense_set_names() {
  std::string out;
  for (const auto& info : commonsense_sets()) out += (out.empty() ? "" : " ") + info.name;
  return out;
}

std::optional<CommonsenseSet> find_commonsense_set(const std::string& name) {
  std::string key = squash(name);
  for (const char* prefix : {"commonsense", "cs"}) {
    const std::string p = prefix;
    if (key.size() > p.size() && key.compare(0, p.size(), p) == 0) {
      key = key.substr(p.size());
      break;
    }
  }
  static const std::vector<std::pair<std::string, CommonsenseSet>> aliases = {
      {"arce", CommonsenseSet::arc_easy}, {"arcc", CommonsenseSet::arc_challenge},
      {"obqa", CommonsenseSet::openbookqa}, {"siqa", CommonsenseSet::social_i_qa},
      {"socialiqa", CommonsenseSet::social_i_qa}};
  for (const auto& [alias, set] : aliases)
    if (key == alias) return set;
  for (const auto& info : commonsense_sets())
    if (key == squash(info.name) || key == squash(info.folder)) return info.set;
  return std::nullopt;
}

CommonsenseQuestion parse_commonsense_question(CommonsenseSet set, const std::string& instruction) {
  const CommonsenseSetInfo& info = commonsense_set_info(set);
  const Layout l = layout_of(set);
  const std::string prefix = l.prefix;
  LP_CHECK(instruction.compare(0, prefix.size(), prefix) == 0, info.name, ": the instruction does not start with ",
           shown(prefix), " (got ", shown(instruction), ")");
  const std::string format_marker = std::string(l.format_sep) + "Answer format: ";
  const size_t at_format = instruction.rfind(format_marker);
  LP_CHECK(at_format != std::string::npos && at_format >= prefix.size(), info.name, ": the instruction has no ",
           shown(format_marker), " after its question");
  const std::string format = instruction.substr(at_format + format_marker.size());
  const std::string body = instruction.substr(prefix.size(), at_format - prefix.size());
  CommonsenseQuestion q;
  if (set == CommonsenseSet::boolq) {
    LP_CHECK(format == "true/false", info.name, ": expected the answer format \"true/false\", got ", shown(format));
    q.question = body;
    q.choices = {"no", "yes"};
    return q;
  }
  // "answer1/answer2/.../answerN" gives N.
  size_t n = 0;
  for (size_t start = 0; start <= format.size();) {
    const size_t slash = std::min(format.find('/', start), format.size());
    const std::string expected = info.answer_word + std::to_string(n + 1);
    LP_CHECK(format.compare(start, slash - start, expected) == 0 && slash - start == expected.size(), info.name,
             ": expected the answer format ", info.answer_word, "1/", info.answer_word, "2/..., got ", shown(format));
    ++n;
    start = slash + 1;
  }
  LP_CHECK(n >= 2, info.name, ": the answer format ", shown(format), " names fewer than 2 choices");
  q.choices.assign(n, "");
  size_t end = body.size();
  const std::string word = capitalised(info.answer_word);
  for (size_t k = n; k >= 1; --k) {
    const std::string marker = std::string(k == 1 ? l.first_sep : l.between_sep) + word + std::to_string(k) + ": ";
    const size_t at = end >= marker.size() ? body.rfind(marker, end - marker.size()) : std::string::npos;
    LP_CHECK(at != std::string::npos, info.name, ": the instruction has no ", shown(marker), " before ",
             k == n ? std::string("its answer format") : word + std::to_string(k + 1));
    q.choices[k - 1] = body.substr(at + marker.size(), end - at - marker.size());
    end = at;
  }
  q.question = body.substr(0, end);
  LP_CHECK(set != CommonsenseSet::winogrande || q.question.find('_') != std::string::npos, info.name,
           ": the sentence has no blank '_' (", shown(q.question), ")");
  return q;
}

std::vector<std::string> commonsense_answer_labels(CommonsenseSet set, size_t choices) {
  if (set == CommonsenseSet::boolq) return {"false", "true"};
  std::vector<std::string> out;
  for (size_t k = 1; k <= choices; ++k) out.push_back(commonsense_set_info(set).answer_word + std::to_string(k));
  return out;
}

int64_t commonsense_answer_index(CommonsenseSet set, const std::string& answer, size_t choices) {
  const auto labels = commonsense_answer_labels(set, choices);
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == answer) return static_cast<int64_t>(i);
  throw_error(commonsense_set_info(set).name, ": answer ", shown(answer), " is not one of ", data_detail::join(labels));
}

fs::path commonsense_set_dir(CommonsenseSet set, const fs::path& data_dir) {
  const CommonsenseSetInfo& info = commonsense_set_info(set);
  std::error_code ec;
  const fs::path named = data_dir.filename().empty() ? data_dir.parent_path() : data_dir;  // "dir/" too
  // data_dir is the set's folder itself only when its name says so (a folder of sets holds no test.json).
  if (find_commonsense_set(named.filename().string()) == set && fs::is_regular_file(data_dir / "test.json", ec))
    return data_dir;
  if (fs::is_directory(data_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
      if (entry.is_directory(ec) && squash(entry.path().filename().string()) == squash(info.folder) &&
          fs::is_regular_file(entry.path() / "test.json", ec))
        return entry.path();
    }
  }
  throw_error("commonsense ", info.name, ": no LLM-Adapters files (test.json) in ", (data_dir / info.folder).string(),
              " or ", data_dir.string(), " (data_dir: LLM-Adapters' dataset folder, e.g. ../shared/data/commonsense)");
}

std::vector<Example> load_commonsense_file(CommonsenseSet set, const fs::path& file, const LoadOptions& options) {
  const CommonsenseSetInfo& info = commonsense_set_info(set);
  LoadOptions rows_options = options;
  rows_options.max_examples = 0;  // bad rows below must not shorten the kept ones
  const std::vector<InstructionRow> rows = load_instruction_file(file, rows_options);
  const PromptFormat alpaca = PromptFormat::alpaca();
  std::vector<Example> out;
  int64_t skipped = 0;
  std::string first;
  for (const InstructionRow& row : rows) {
    if (data_detail::reached_limit(out, options)) break;
    try {
      LP_CHECK(!row.is_chat(), "a chat row ('messages'); LLM-Adapters' rows have instruction/output/answer");
      LP_CHECK(row.answer.size() == 1, "expected one 'answer' (", info.answer_word.empty() ? "true/false" : info.answer_word + "N",
               "), got ", row.answer.size());
      CommonsenseQuestion q = parse_commonsense_question(set, row.instruction);
      Example ex;
      ex.label = static_cast<float>(commonsense_answer_index(set, row.answer[0], q.choices.size()));
      ex.has_label = true;
      ex.answer = row.answer[0];
      ex.text = std::move(q.question);
      ex.choices = std::move(q.choices);
      ex.subset = info.name;
      ex.index = row.index >= 0 ? row.index : static_cast<int64_t>(out.size());
      ex.line = row.line;
      ex.turns = alpaca.format(row);
      out.push_back(std::move(ex));
    } catch (const Error& e) {
      std::string message = file.string() + ": " + row.location() + ": " + e.what();
      if (!options.skip_bad_rows) throw Error(message);
      if (skipped++ == 0) first = std::move(message);
    }
  }
  if (skipped > 0)
    log::warn(file.string(), ": skipped ", skipped, " bad row", skipped == 1 ? "" : "s", " (skip_bad_rows); first: ", first);
  return out;
}

}  // namespace lightpeft
