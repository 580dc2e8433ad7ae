#pragma once
// The tasks lightpeft knows, by name:
//   - every GLUE and SuperGLUE task over its official files in a data folder (data/glue.h);
//   - user classification/regression tasks over CSV/TSV/JSONL files (`user`);
//   - extractive QA over SQuAD v1.1 / v2.0 JSON files (`squad`, `squad_v2`; data/squad.h);
//   - instruction tuning of decoders over Alpaca / chat / custom-template rows (`instruction`);
//   - LLM-Adapters' commonsense suite (data/commonsense.h): boolq, piqa, social_i_qa, winogrande,
//     arc_easy, arc_challenge, openbookqa, one set each (trained on <set>/train.json, evaluated on
//     <set>/test.json), or `commonsense` (any list of training sets or files, a list of evaluation
//     sets). With a decoder they are generative tasks (tasks/commonsense_task.h); with an encoder,
//     multiple-choice or classification heads.
//
// BoolQ exists twice. `superglue-boolq` is SuperGLUE's (question + passage, its JSONL files) and
// `commonsense-boolq` (or `cs-boolq`) LLM-Adapters' (the question alone); plain `boolq` means
// whichever of the two data_dir holds, and is an error naming both when it holds both or neither.
// A new task type is its strategy class (task.h) and one entry in registry.cpp.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/data/prompt_format.h"
#include "lightpeft/data/user_task.h"
#include "lightpeft/tasks/extractive_qa.h"
#include "lightpeft/tasks/causal_lm_task.h"
#include "lightpeft/tasks/commonsense_task.h"
#include "lightpeft/tasks/task.h"

namespace lightpeft {

struct UserTaskFiles {
  UserTaskSpec spec;
  std::filesystem::path train_file, dev_file, test_file;  // test_file may be empty
};

// SQuAD's files (data/squad.h) and how its questions are windowed and answered.
struct SquadTaskFiles {
  std::filesystem::path train_file, dev_file, test_file;  // test_file may be empty
  ExtractiveQaOptions options;  // options.answers.version_2_with_negative: SQuAD v2.0
};

struct InstructionTaskFiles {
  std::filesystem::path train_file, dev_file, test_file;  // test_file (predictions) may be empty
  PromptFormat format = PromptFormat::alpaca();
  CausalLmTaskOptions options;
};

struct CommonsenseTaskFiles {
  // task commonsense: the training sets (names) or files (LLM-Adapters' JSON, e.g. commonsense_170k.json),
  // and the sets evaluated (their test.json).
  std::vector<std::string> train, eval;
  CommonsenseTaskOptions options;
};

struct TaskOptions {
  std::optional<UserTaskFiles> user;                // task user
  std::optional<SquadTaskFiles> squad;              // task squad / squad_v2 ("squad_v2" turns
                                                    // version_2_with_negative on)
  std::optional<InstructionTaskFiles> instruction;  // task instruction
  CommonsenseTaskFiles commonsense;                 // the commonsense sets (lists: task commonsense)
  // The model is a decoder (its family has a causal LM head): commonsense sets are generative tasks.
  bool causal_lm = false;
};

// `name` is a task name as above (GLUE/SuperGLUE in any spelling canonical_task_name accepts, SQuAD
// in any spelling squad_task_name accepts). Throws lightpeft::Error for an unknown name (listing the
// known ones), an ambiguous `boolq`, or a task whose options are missing.
std::unique_ptr<Task> make_task(const std::string& name, const std::filesystem::path& data_dir,
                                const TaskOptions& options = {});

// Whether `name` is one of the commonsense suite's (a set, commonsense-boolq, or `commonsense`):
// such a task's kind depends on the model (TaskOptions::causal_lm).
bool is_commonsense_task(const std::string& name);

}  // namespace lightpeft
