// The tasks lightpeft knows: each GLUE/SuperGLUE task's strategy, user tasks, instruction tuning and
// the commonsense suite.
#include "lightpeft/tasks/registry.h"

#include <cctype>

#include "lightpeft/core/error.h"
#include "lightpeft/data/squad.h"
#include "lightpeft/data/text_file.h"
#include "lightpeft/core/log.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

// The official files of a GLUE/SuperGLUE task in a data folder (data/glue.h).
class BenchmarkFiles : public RowSource {
 public:
  BenchmarkFiles(std::string task, fs::path data_dir) : task_(std::move(task)), dir_(std::move(data_dir)) {}
  void check_files(const std::vector<Split>& splits) const override {
    check_task_files({task_}, dir_, splits);
  }
  std::vector<Example> load(Split split, const LoadOptions& options) const override {
    return load_task_split(task_, dir_, split, options);
  }

 private:
  std::string task_;
  fs::path dir_;
};

// One file per split, as a config section names them (<section>.train_file, dev_file, test_file);
// a derived source reads one file. Errors start with `who` ("user task", "squad", ...).
class FilePerSplit : public RowSource {
 public:
  struct Files {
    fs::path train, dev, test;
  };
  FilePerSplit(Files files, std::string who, std::string section)
      : files_(std::move(files)), who_(std::move(who)), section_(std::move(section)) {}
  void check_files(const std::vector<Split>& splits) const override {
    std::string missing;
    for (Split s : splits) {
      const fs::path f = file_of(s);
      if (f.empty() || !fs::is_regular_file(f))
        missing += (missing.empty() ? "" : "; ") + split_name(s) + " (" + (f.empty() ? no_file_given(s) : f.string()) + ")";
    }
    LP_CHECK(missing.empty(), who_, ": missing files: ", missing, missing_hint());
  }
  std::vector<Example> load(Split split, const LoadOptions& options) const override {
    const fs::path f = file_of(split);
    LP_CHECK(!f.empty(), who_, ": no file for the ", split_name(split), " split (", section_,
             ".train_file, dev_file or test_file)");
    return read(f, split, options);
  }

 protected:
  virtual std::vector<Example> read(const fs::path& file, Split split, const LoadOptions& options) const = 0;
  // What check_files says of a split without a file, and after the list of missing files.
  virtual std::string no_file_given(Split) const { return "no file given"; }
  virtual std::string missing_hint() const { return ""; }
  const std::string& who() const { return who_; }
  const fs::path& test_file() const { return files_.test; }

 private:
  fs::path file_of(Split s) const {
    if (s == Split::train) return files_.train;
    if (s == Split::dev) return files_.dev;
    if (s == Split::test) return files_.test;
    return {};
  }
  Files files_;
  std::string who_, section_;
};

// A user's CSV/TSV/JSONL files; the test file is the unlabelled one `predict` reads.
class UserFiles : public FilePerSplit {
 public:
  explicit UserFiles(UserTaskFiles files)
      : FilePerSplit({files.train_file, files.dev_file, files.test_file}, "user task", "user_task"),
        spec_(std::move(files.spec)) {}

 protected:
  std::vector<Example> read(const fs::path& file, Split, const LoadOptions& options) const override {
    return load_user_file(file, spec_, options);
  }

 public:
  // Only the unlabelled test file: the user's dev file is scored by `train` and `evaluate`.
  Split prediction_split(const std::string& requested) const override {
    LP_CHECK(requested == "test", "task user predicts user_task.test_file only (--split test), not '", requested, "'");
    LP_CHECK(!test_file().empty(),
             "key 'user_task.test_file': required to predict (an unlabelled file in the task's format)");
    LP_CHECK(fs::is_regular_file(test_file()), "key 'user_task.test_file': ", test_file().string(), " does not exist");
    return Split::test;
  }

 private:
  UserTaskSpec spec_;
};

// SQuAD JSON files; the test file is the one `predict --split test` reads. SQuAD v1.1 needs an
// answer for every question (its metric has no unanswerable case).
class SquadFiles : public FilePerSplit {
 public:
  SquadFiles(SquadTaskFiles files, std::string task)
      : FilePerSplit({files.train_file, files.dev_file, files.test_file}, task, "squad"),
        with_negative_(files.options.answers.version_2_with_negative) {}

 protected:
  std::string no_file_given(Split s) const override {
    return "no file given: squad." + split_name(s) + "_file" +
           (s == Split::test ? "; `lightpeft predict --split dev` predicts the dev file" : "");
  }
  std::vector<Example> read(const fs::path& file, Split split, const LoadOptions& options) const override {
    const bool labelled = split != Split::test;
    std::vector<Example> rows = load_squad_file(file, options, labelled);
    if (!labelled || with_negative_) return rows;
    BadRows bad(file, options);
    std::vector<Example> kept;
    for (Example& q : rows) {
      if (q.answers.empty()) {
        bad.bad_at("question '" + q.id + "'", "has no answers (unanswerable); task " + who() +
                   " is SQuAD v1.1, which needs one: use task squad_v2 (or squad.version_2_with_negative: true) "
                   "for SQuAD v2.0 files");
        continue;
      }
      kept.push_back(std::move(q));
    }
    bad.finish();
    return kept;
  }

 private:
  bool with_negative_;
};

// Instruction rows (Alpaca, chat, LLM-Adapters) formatted by the config's prompt format.
class InstructionFiles : public FilePerSplit {
 public:
  explicit InstructionFiles(InstructionTaskFiles files)
      : FilePerSplit({files.train_file, files.dev_file, files.test_file}, "task instruction", "instruction"),
        format_(std::move(files.format)) {}

 protected:
  std::string missing_hint() const override { return " (instruction.train_file, dev_file, test_file)"; }
  std::vector<Example> read(const fs::path& file, Split, const LoadOptions& options) const override {
    return load_instruction_examples(file, format_, options);
  }

 public:
  // The test file (rows in the training files' format) or the dev file; never the training file.
  Split prediction_split(const std::string& requested) const override {
    const Split split = parse_split(requested);
    LP_CHECK(split == Split::test || split == Split::dev,
             "task instruction predicts instruction.test_file (--split test) or dev_file (--split dev), not '",
             requested, "'");
    LP_CHECK(split != Split::test || !test_file().empty(),
             "key 'instruction.test_file': required to predict the test split (rows in the training files' format)");
    check_files({split});
    return split;
  }

 private:
  PromptFormat format_;
};

// LLM-Adapters' commonsense files: training sets (their train.json) or plain files, and evaluation
// sets (their test.json, which serves as dev and test split: LLM-Adapters has no dev split).
// max_examples applies to each file.
class CommonsenseFiles : public RowSource {
 public:
  CommonsenseFiles(std::vector<std::string> train, std::vector<std::string> eval, fs::path data_dir)
      : train_(std::move(train)), eval_(std::move(eval)), dir_(std::move(data_dir)) {}

  void check_files(const std::vector<Split>& splits) const override {
    std::string missing;
    for (Split s : splits)
      for (const auto& entry : entries(s))
        if (!fs::is_regular_file(entry.file))
          missing += (missing.empty() ? "" : "; ") + split_name(s) + " " + entry.what + " (" + entry.file.string() + ")";
    LP_CHECK(missing.empty(), "commonsense: missing files: ", missing);
  }
  std::vector<Example> load(Split split, const LoadOptions& options) const override {
    std::vector<Example> out;
    for (const auto& entry : entries(split)) {
      std::vector<Example> rows = entry.set ? load_commonsense_file(*entry.set, entry.file, options)
                                            : load_instruction_examples(entry.file, PromptFormat::alpaca(), options);
      for (auto& r : rows) out.push_back(std::move(r));
    }
    return out;
  }

 private:
  struct Entry {
    std::optional<CommonsenseSet> set;  // none: a plain file of Alpaca rows (training only)
    fs::path file;
    std::string what;
  };
  std::vector<Entry> entries(Split split) const {
    std::vector<Entry> out;
    const bool train = split == Split::train;
    LP_CHECK(train || split == Split::dev || split == Split::test, "commonsense: no ", split_name(split),
             " split (dev and test are the sets' test.json)");
    for (const auto& name : train ? train_ : eval_) {
      const auto set = find_commonsense_set(name);
      if (!set) {
        LP_CHECK(train, "commonsense: '", name, "' is not a commonsense set (", commonsense_set_names(),
                 "); evaluation needs sets, whose questions it parses");
        out.push_back({std::nullopt, fs::path(name), "file"});
        continue;
      }
      const CommonsenseSetInfo& info = commonsense_set_info(*set);
      const fs::path dir = commonsense_set_dir(*set, dir_);
      LP_CHECK(!train || info.has_train, "commonsense ", info.name, ": LLM-Adapters' data has no train.json for ", info.name,
               " (only boolq, arc_easy, arc_challenge and openbookqa have one); train on other sets or files with "
               "task: commonsense (commonsense.train) and evaluate on ", info.name);
      out.push_back({set, dir / (train ? "train.json" : "test.json"), info.name});
    }
    return out;
  }
  std::vector<std::string> train_, eval_;
  fs::path dir_;
};

std::string squash(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Plain `boolq`: SuperGLUE's or LLM-Adapters', whichever data_dir holds.
bool resolves_to_commonsense_boolq(const fs::path& data_dir) {
  bool superglue = false, commonsense = false;
  std::string superglue_error, commonsense_error;
  try {
    task_split_file("boolq", data_dir, Split::dev);
    superglue = true;
  } catch (const Error& e) {
    superglue_error = e.what();
  }
  try {
    commonsense_set_dir(CommonsenseSet::boolq, data_dir);
    commonsense = true;
  } catch (const Error& e) {
    commonsense_error = e.what();
  }
  LP_CHECK(superglue != commonsense, "task 'boolq' is ambiguous: it is SuperGLUE's BoolQ (task superglue-boolq: "
           "question + passage, BoolQ/train.jsonl and val.jsonl) or LLM-Adapters' commonsense BoolQ (task "
           "commonsense-boolq: the question alone, boolq/train.json and test.json), and data_dir ", data_dir.string(),
           superglue ? " holds both" : " holds neither", "; name one of them",
           superglue ? std::string() : " (" + superglue_error + "; " + commonsense_error + ")");
  return commonsense;
}

// The strategy a TaskSpec asks for.
std::unique_ptr<Task> task_for(TaskSpec spec, std::shared_ptr<const RowSource> source) {
  if (spec.multiple_choice) return std::make_unique<MultipleChoiceTask>(std::move(spec), std::move(source), 2);
  if (spec.regression) return std::make_unique<RegressionTask>(std::move(spec), std::move(source));
  if (spec.name == "multirc") return std::make_unique<GroupedAnswersTask>(std::move(spec), std::move(source));
  return std::make_unique<ClassificationTask>(std::move(spec), std::move(source));
}

}  // namespace

bool is_commonsense_task(const std::string& name) {
  return squash(name) == "commonsense" || find_commonsense_set(name).has_value();
}

std::unique_ptr<Task> make_task(const std::string& name, const fs::path& data_dir, const TaskOptions& options) {
  if (const auto squad_name = squad_task_name(name)) {
    LP_CHECK(options.squad.has_value(), "task ", *squad_name, " needs its files (the config's squad section)");
    SquadTaskFiles files = *options.squad;
    if (*squad_name == "squad_v2") files.options.answers.version_2_with_negative = true;
    TaskSpec spec;
    spec.name = files.options.answers.version_2_with_negative ? "squad_v2" : "squad";
    spec.benchmark = "squad";
    spec.metric = spec.name;
    auto source = std::make_shared<SquadFiles>(files, spec.name);
    return std::make_unique<ExtractiveQaTask>(std::move(spec), std::move(source), files.options);
  }
  if (name == "user") {
    LP_CHECK(options.user.has_value(), "task user needs its files (the config's user_task section)");
    return task_for(user_task_spec(options.user->spec), std::make_shared<UserFiles>(*options.user));
  }
  if (name == "instruction") {
    LP_CHECK(options.instruction.has_value(), "task instruction needs its files (the config's instruction section)");
    TaskSpec spec;
    spec.name = "instruction";
    spec.benchmark = "instruction";
    return std::make_unique<CausalLmTask>(spec, std::make_shared<InstructionFiles>(*options.instruction),
                                          options.instruction->options);
  }
  const CommonsenseTaskFiles& cs = options.commonsense;
  if (squash(name) == "commonsense") {
    LP_CHECK(options.causal_lm, "task commonsense trains a decoder on several sets at once; an encoder's heads differ "
             "per set (multiple choice with 2 to 5 choices, classification): train it on one set (e.g. task: arc_easy)");
    LP_CHECK(!cs.train.empty() && !cs.eval.empty(),
             "task commonsense needs commonsense.train (sets or files) and commonsense.eval (sets)");
    TaskSpec spec;
    spec.name = "commonsense";
    spec.benchmark = "commonsense";
    return std::make_unique<CommonsenseLmTask>(spec, std::make_shared<CommonsenseFiles>(cs.train, cs.eval, data_dir),
                                               cs.options);
  }
  std::optional<CommonsenseSet> set = find_commonsense_set(name);
  if (set == CommonsenseSet::boolq && squash(name) == "boolq" && !resolves_to_commonsense_boolq(data_dir)) set.reset();
  if (set) {
    const std::string set_name = commonsense_set_info(*set).name;
    auto source = std::make_shared<CommonsenseFiles>(std::vector<std::string>{set_name}, std::vector<std::string>{set_name},
                                                     data_dir);
    if (!options.causal_lm) return make_commonsense_encoder_task(*set, source);
    TaskSpec spec;
    spec.name = *set == CommonsenseSet::boolq ? "commonsense-boolq" : set_name;
    spec.benchmark = "commonsense";
    return std::make_unique<CommonsenseLmTask>(spec, source, cs.options);
  }
  TaskSpec spec;
  try {
    spec = task_spec(name);  // throws for an unknown name, listing the GLUE/SuperGLUE ones
  } catch (const Error& e) {
    throw_error(e.what(), "; also user, squad, squad_v2, instruction, commonsense, and the commonsense sets ", commonsense_set_names(),
                " (commonsense-boolq; superglue-boolq is SuperGLUE's)");
  }
  return task_for(spec, std::make_shared<BenchmarkFiles>(spec.name, data_dir));
}

}  // namespace lightpeft
