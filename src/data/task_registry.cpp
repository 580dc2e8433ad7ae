// The table of GLUE/SuperGLUE tasks (label orders, metrics, folder names), split names, and where a
// split's file is found.
#include <algorithm>
#include <cctype>
#include <map>
#include <system_error>

#include "lightpeft/core/error.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/text_file.h"
#include "loader_util.h"

namespace lightpeft {

namespace {

namespace fs = std::filesystem;
using data_detail::join;

struct TaskInfo {
  TaskSpec spec;
  std::string folder;  // as in the official distributions
};

TaskSpec make_spec(const std::string& name, const std::string& benchmark,
                   std::vector<std::string> labels, const std::string& metric,
                   bool regression = false, bool multiple_choice = false) {
  TaskSpec s;
  s.name = name;
  s.benchmark = benchmark;
  s.label_names = std::move(labels);
  s.metric = metric;
  s.regression = regression;
  s.multiple_choice = multiple_choice;
  return s;
}

// Label orders: GLUE's (= HF datasets' ClassLabel order) and SuperGLUE's as HF super_glue defines
// them; tokens are spelled as the files spell them (JSON booleans read as "False"/"True").
const std::vector<TaskInfo>& registry() {
  static const std::vector<TaskInfo> tasks = [] {
    const std::vector<std::string> bin = {"0", "1"};
    const std::vector<std::string> ent2 = {"entailment", "not_entailment"};
    const std::vector<std::string> boolean = {"False", "True"};
    return std::vector<TaskInfo>{
        {make_spec("cola", "glue", bin, "matthews"), "CoLA"},
        {make_spec("sst2", "glue", bin, "accuracy"), "SST-2"},
        {make_spec("mrpc", "glue", bin, "accuracy_f1"), "MRPC"},
        {make_spec("stsb", "glue", {}, "pearson_spearman", /*regression=*/true), "STS-B"},
        {make_spec("qqp", "glue", bin, "accuracy_f1"), "QQP"},
        {make_spec("mnli", "glue", {"entailment", "neutral", "contradiction"}, "accuracy"), "MNLI"},
        {make_spec("qnli", "glue", ent2, "accuracy"), "QNLI"},
        {make_spec("rte", "glue", ent2, "accuracy"), "RTE"},
        {make_spec("wnli", "glue", bin, "accuracy"), "WNLI"},
        {make_spec("boolq", "superglue", boolean, "accuracy"), "BoolQ"},
        {make_spec("cb", "superglue", {"entailment", "contradiction", "neutral"}, "accuracy_macro_f1"),
         "CB"},
        {make_spec("copa", "superglue", {"0", "1"}, "accuracy", false, /*multiple_choice=*/true),
         "COPA"},
        {make_spec("superglue-rte", "superglue", ent2, "accuracy"), "RTE"},
        {make_spec("wic", "superglue", boolean, "accuracy"), "WiC"},
        {make_spec("wsc", "superglue", boolean, "accuracy"), "WSC"},
        {make_spec("multirc", "superglue", {"0", "1"}, "f1"), "MultiRC"},
    };
  }();
  return tasks;
}

// Lower case without '-', '_', '.', ' ' and '/': the spelling-insensitive key of names and folders.
std::string squash(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_' || c == '.' || c == ' ' || c == '/') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

const TaskInfo& find_task(const std::string& task) {
  static const std::map<std::string, std::string> aliases = {
      {"supergluerte", "superglue-rte"}, {"sgrte", "superglue-rte"}, {"gluerte", "rte"},
      {"superglueboolq", "boolq"}, {"sgboolq", "boolq"},
      {"sst", "sst2"}, {"sts", "stsb"}, {"mnlim", "mnli"}, {"mnlimm", "mnli"}};
  std::string key = squash(task);
  if (auto it = aliases.find(key); it != aliases.end()) key = it->second;
  for (const auto& info : registry()) {
    if (squash(info.spec.name) == squash(key)) return info;
  }
  std::vector<std::string> names;
  for (const auto& info : registry()) names.push_back(info.spec.name);
  throw_error("unknown task '", task, "' (known: ", join(names), ")");
}

bool is_mnli_only(Split split) {
  return split == Split::dev_mismatched || split == Split::test_mismatched;
}
bool is_test(Split split) { return split == Split::test || split == Split::test_mismatched; }

// File names a split may have, most usual first.
std::vector<std::string> split_file_names(const TaskInfo& info, Split split) {
  if (info.spec.benchmark == "superglue") {
    switch (split) {
      case Split::train: return {"train.jsonl"};
      case Split::dev: return {"val.jsonl", "dev.jsonl"};
      case Split::test: return {"test.jsonl"};
      default: break;
    }
  } else if (info.spec.name == "mnli") {
    switch (split) {
      case Split::train: return {"train.tsv"};
      case Split::dev: return {"dev_matched.tsv"};
      case Split::dev_mismatched: return {"dev_mismatched.tsv"};
      case Split::test: return {"test_matched.tsv"};
      case Split::test_mismatched: return {"test_mismatched.tsv"};
    }
  } else {
    switch (split) {
      case Split::train: return {"train.tsv"};
      case Split::dev: return {"dev.tsv"};
      case Split::test: return {"test.tsv"};
      default: break;
    }
  }
  throw_error("task '", info.spec.name, "': split '", split_name(split), "' exists for MNLI only");
}

// Sub-folders of `dir` whose squashed name is one of `names` (folder spelling varies: "SST-2",
// "sst2", "rte").
std::vector<fs::path> matching_subdirs(const fs::path& dir, const std::vector<std::string>& names) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory(ec)) continue;
    const std::string key = squash(entry.path().filename().string());
    for (const auto& n : names) {
      if (key == squash(n)) out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Folders that may hold the task's files, in search order.
std::vector<fs::path> candidate_dirs(const TaskInfo& info, const fs::path& data_dir) {
  const std::vector<std::string> task_names = {info.folder, info.spec.name};
  const std::vector<std::string> bench_names =
      info.spec.benchmark == "glue" ? std::vector<std::string>{"glue", "glue_data"}
                                    : std::vector<std::string>{"superglue"};
  std::vector<fs::path> dirs = {data_dir};
  for (const auto& d : matching_subdirs(data_dir, task_names)) dirs.push_back(d);
  for (const auto& bench : matching_subdirs(data_dir, bench_names)) {
    for (const auto& d : matching_subdirs(bench, task_names)) dirs.push_back(d);
  }
  return dirs;
}

}  // namespace

std::string split_name(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::dev: return "dev";
    case Split::dev_mismatched: return "dev_mismatched";
    case Split::test: return "test";
    case Split::test_mismatched: return "test_mismatched";
  }
  return "?";
}

Split parse_split(const std::string& name) {
  static const std::map<std::string, Split> names = {
      {"train", Split::train},           {"dev", Split::dev},
      {"validation", Split::dev},        {"val", Split::dev},
      {"dev_matched", Split::dev},       {"dev_mismatched", Split::dev_mismatched},
      {"test", Split::test},             {"test_matched", Split::test},
      {"test_mismatched", Split::test_mismatched}};
  const auto it = names.find(name);
  LP_CHECK(it != names.end(), "unknown split '", name,
           "' (expected train, dev, dev_mismatched, test, test_mismatched)");
  return it->second;
}

std::vector<std::string> glue_task_names() {
  std::vector<std::string> out;
  for (const auto& info : registry()) {
    if (info.spec.benchmark == "glue") out.push_back(info.spec.name);
  }
  return out;
}

std::vector<std::string> superglue_task_names() {
  std::vector<std::string> out;
  for (const auto& info : registry()) {
    if (info.spec.benchmark == "superglue") out.push_back(info.spec.name);
  }
  return out;
}

std::string canonical_task_name(const std::string& task) { return find_task(task).spec.name; }

TaskSpec task_spec(const std::string& task) { return find_task(task).spec; }

fs::path task_split_file(const std::string& task, const fs::path& data_dir, Split split) {
  const TaskInfo& info = find_task(task);
  const auto names = split_file_names(info, split);
  std::vector<std::string> tried;
  for (const auto& dir : candidate_dirs(info, data_dir)) {
    for (const auto& name : names) {
      const fs::path p = dir / name;
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p;
      tried.push_back(p.string());
    }
  }
  // Also name the usual layouts when no folder matched, so the message says where to put the file.
  if (tried.size() == names.size()) {
    const std::string bench = info.spec.benchmark;
    tried.push_back((data_dir / info.folder / names[0]).string());
    tried.push_back((data_dir / bench / info.folder / names[0]).string());
  }
  throw_error(info.spec.name, " (", info.spec.benchmark, ") ", split_name(split),
              " split: file not found; looked for ", join(tried));
}

std::vector<Example> load_task_file(const std::string& task, const fs::path& file, Split split,
                                    const LoadOptions& options) {
  const TaskInfo& info = find_task(task);
  if (is_mnli_only(split) && info.spec.name != "mnli") split_file_names(info, split);  // throws
  if (info.spec.benchmark == "glue") {
    return data_detail::read_glue_tsv(info.spec, file, !is_test(split), options);
  }
  return data_detail::read_superglue_jsonl(info.spec, file, !is_test(split), options);
}

std::vector<Example> load_task_split(const std::string& task, const fs::path& data_dir, Split split,
                                     const LoadOptions& options) {
  return load_task_file(task, task_split_file(task, data_dir, split), split, options);
}

void check_task_files(const std::vector<std::string>& tasks, const fs::path& data_dir,
                      const std::vector<Split>& splits) {
  std::vector<std::string> missing;
  for (const auto& task : tasks) {
    const std::string name = canonical_task_name(task);
    for (Split split : splits) {
      if (is_mnli_only(split) && name != "mnli") continue;
      try {
        task_split_file(name, data_dir, split);
      } catch (const Error& e) {
        missing.push_back(e.what());
      }
    }
  }
  if (!missing.empty()) {
    throw_error("missing data files under ", data_dir.string(), ":\n  ", join(missing, "\n  "));
  }
}

}  // namespace lightpeft
