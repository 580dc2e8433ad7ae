// The tasks lightpeft knows: each GLUE/SuperGLUE task's strategy, and user tasks.
#include "lightpeft/tasks/registry.h"

#include "lightpeft/core/error.h"
#include "lightpeft/data/squad.h"
#include "lightpeft/data/text_file.h"

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

// A user's CSV/TSV/JSONL files; the test file is the unlabelled one `predict` reads.
class UserFiles : public RowSource {
 public:
  explicit UserFiles(UserTaskFiles files) : files_(std::move(files)) {}
  void check_files(const std::vector<Split>& splits) const override {
    std::string missing;
    for (Split s : splits) {
      const fs::path f = file_of(s);
      if (f.empty() || !fs::is_regular_file(f))
        missing += (missing.empty() ? "" : "; ") + split_name(s) + " (" + (f.empty() ? "no file given" : f.string()) + ")";
    }
    LP_CHECK(missing.empty(), "user task: missing files: ", missing);
  }
  std::vector<Example> load(Split split, const LoadOptions& options) const override {
    const fs::path f = file_of(split);
    LP_CHECK(!f.empty(), "user task: no file for the ", split_name(split),
             " split (user_task.train_file, dev_file or test_file)");
    return load_user_file(f, files_.spec, options);
  }

 private:
  fs::path file_of(Split s) const {
    if (s == Split::train) return files_.train_file;
    if (s == Split::dev) return files_.dev_file;
    if (s == Split::test) return files_.test_file;
    return {};
  }
  UserTaskFiles files_;
};

// SQuAD JSON files; the test file is the one `predict --split test` reads. SQuAD v1.1 needs an
// answer for every question (its metric has no unanswerable case).
class SquadFiles : public RowSource {
 public:
  SquadFiles(SquadTaskFiles files, std::string task) : files_(std::move(files)), task_(std::move(task)) {}
  void check_files(const std::vector<Split>& splits) const override {
    std::string missing;
    for (Split s : splits) {
      const fs::path f = file_of(s);
      if (f.empty() || !fs::is_regular_file(f))
        missing += (missing.empty() ? "" : "; ") + split_name(s) + " (" +
                   (f.empty() ? "no file given: squad." + split_name(s) + "_file" +
                                    (s == Split::test ? "; `lightpeft predict --split dev` predicts the dev file" : "")
                              : f.string()) + ")";
    }
    LP_CHECK(missing.empty(), task_, ": missing files: ", missing);
  }
  std::vector<Example> load(Split split, const LoadOptions& options) const override {
    const fs::path f = file_of(split);
    LP_CHECK(!f.empty(), task_, ": no file for the ", split_name(split), " split (squad.train_file, dev_file or test_file)");
    const bool labelled = split != Split::test;
    std::vector<Example> rows = load_squad_file(f, options, labelled);
    if (!labelled || files_.options.answers.version_2_with_negative) return rows;
    BadRows bad(f, options);
    std::vector<Example> kept;
    for (Example& q : rows) {
      if (q.answers.empty()) {
        bad.bad_at("question '" + q.id + "'", "has no answers (unanswerable); task " + task_ +
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
  fs::path file_of(Split s) const {
    if (s == Split::train) return files_.train_file;
    if (s == Split::dev) return files_.dev_file;
    if (s == Split::test) return files_.test_file;
    return {};
  }
  SquadTaskFiles files_;
  std::string task_;
};

// The strategy a TaskSpec asks for.
std::unique_ptr<Task> task_for(TaskSpec spec, std::shared_ptr<const RowSource> source) {
  if (spec.multiple_choice) return std::make_unique<MultipleChoiceTask>(std::move(spec), std::move(source), 2);
  if (spec.regression) return std::make_unique<RegressionTask>(std::move(spec), std::move(source));
  if (spec.name == "multirc") return std::make_unique<GroupedAnswersTask>(std::move(spec), std::move(source));
  return std::make_unique<ClassificationTask>(std::move(spec), std::move(source));
}

}  // namespace

std::unique_ptr<Task> make_task(const std::string& name, const fs::path& data_dir,
                                const std::optional<UserTaskFiles>& user, const std::optional<SquadTaskFiles>& squad) {
  if (const auto squad_name = squad_task_name(name)) {
    LP_CHECK(squad.has_value(), "task ", *squad_name, " needs its files (the config's squad section)");
    SquadTaskFiles files = *squad;
    if (*squad_name == "squad_v2") files.options.answers.version_2_with_negative = true;
    TaskSpec spec;
    spec.name = files.options.answers.version_2_with_negative ? "squad_v2" : "squad";
    spec.benchmark = "squad";
    spec.metric = spec.name;
    auto source = std::make_shared<SquadFiles>(files, spec.name);
    return std::make_unique<ExtractiveQaTask>(std::move(spec), std::move(source), files.options);
  }
  if (name == "user") {
    LP_CHECK(user.has_value(), "task user needs its files (the config's user_task section)");
    return task_for(user_task_spec(user->spec), std::make_shared<UserFiles>(*user));
  }
  TaskSpec spec = task_spec(name);  // throws for an unknown name, listing the known ones
  return task_for(spec, std::make_shared<BenchmarkFiles>(spec.name, data_dir));
}

}  // namespace lightpeft
