#pragma once
// One labelled (or unlabelled) text example as a loader produces it, and the description of a task
// that says how its labels and metrics are to be read. Both are torch-free and tokenizer-free: the
// trainer tokenizes `text`/`text_pair` and batches the ids (see data/batcher.h).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lightpeft {

// A gold answer of extractive question answering: its text and where it starts in the context, as
// a byte offset (SQuAD files count characters; data/squad.h converts).
struct SpanAnswer {
  std::string text;
  int64_t start = 0;
};

// One turn of an instruction-tuning row as data/prompt_format.h writes it: what the model reads and
// what it learns to write.
struct PromptResponse {
  std::string prompt;    // labels -100
  std::string response;  // trained on
};

struct Example {
  std::string text;
  std::optional<std::string> text_pair;
  // Multiple-choice tasks (COPA): `text` is encoded once with each choice as its pair, and `label`
  // is the index of the right choice. Empty for every other task.
  std::vector<std::string> choices;
  // Class id (as float) for classification, the target value for regression.
  float label = 0.0f;
  // False for the unlabelled test splits (used by `predict`).
  bool has_label = false;
  // The row's id in the file ("index", "id" or "idx" column; for MultiRC the answer's idx) or,
  // where the file has none, the 0-based row number. GLUE/SuperGLUE submissions are keyed by it.
  int64_t index = 0;
  // MultiRC: the question's idx, so answers can be grouped for exact match. -1 elsewhere.
  int64_t group = -1;
  // 1-based line of the row in its file (the first line of a CSV record spanning several lines).
  int64_t line = 0;
  // Extractive QA (SQuAD, data/squad.h): text = the question, text_pair = the context, `id` the
  // question's id (the key of its prediction) and `answers` its gold answers; a labelled question
  // without answers is unanswerable (SQuAD v2). Empty for every other task.
  std::string id;
  std::vector<SpanAnswer> answers;
  // Instruction tuning (causal LMs): the row's (prompt, response) pairs in order; empty for every
  // other task.
  std::vector<PromptResponse> turns;
  // Commonsense QA (data/commonsense.h): the gold answer as LLM-Adapters writes it ("answer2",
  // "true"), and the data set of the row ("arc_easy") where one split joins several. Empty elsewhere.
  std::string answer;
  std::string subset;
};

struct TaskSpec {
  std::string name;                      // canonical name: "rte", "sst2", "superglue-rte", ...
  std::string benchmark;                 // "glue", "superglue" or "user"
  std::vector<std::string> label_names;  // class id -> label as written in the files; empty: regression
  bool regression = false;
  bool multiple_choice = false;          // COPA: Example::choices holds the candidates
  // Which metrics to report (see data/metrics.h): "accuracy", "f1", "matthews", "pearson",
  // "spearman", "accuracy_f1" (MRPC, QQP), "pearson_spearman" (STS-B), "accuracy_macro_f1" (CB).
  std::string metric = "accuracy";

  // Output width of the classifier head: 1 for regression and multiple choice (one score per
  // choice), the number of classes otherwise.
  int64_t num_outputs() const {
    return (regression || multiple_choice) ? 1 : static_cast<int64_t>(label_names.size());
  }
};

}  // namespace lightpeft
