#pragma once
// A task type as a strategy: everything that differs between sequence classification, regression,
// multiple choice (and, as plug-ins beside them, instruction tuning and question answering) lives
// behind this interface, so the train loop, evaluation and prediction know no task. A task
//   - reads the rows of a split from its source (GLUE TSVs, SuperGLUE JSONL, user files),
//   - encodes them with a tokenizer into batcher items (with the labels the task needs),
//   - says which head the model needs and how wide,
//   - turns the model's output on a batch into a loss and into per-item predictions,
//   - turns predictions into metrics (MultiRC's exact match over questions included),
//   - writes a prediction file in its benchmark's submission format.
// Tasks with a causal LM head (instruction tuning, the commonsense suite on decoders) evaluate
// themselves (evaluate_split): their loss over the split, then what they measure by generating or by
// scoring choices, and the rows of their prediction file (JSON Lines).
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/example.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/load_options.h"
#include "lightpeft/data/metrics.h"
#include "lightpeft/data/qa_windows.h"
#include "lightpeft/models/heads.h"
#include "lightpeft/models/model_io.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

// What a task keeps of a split beyond its batcher items, for its own evaluation and predictions
// (generation prompts, the choices to score); each task subclasses it.
struct SplitRows {
  virtual ~SplitRows() = default;
};

// A split tokenized into batcher items.
struct EncodedSplit {
  std::vector<EncodedExample> examples;  // multiple choice: one per choice, consecutive
  std::vector<int64_t> groups;           // MultiRC question ids (empty elsewhere)
  // Extractive QA: the window each item is (which question, where its context tokens are) and the
  // questions themselves (contexts, ids, gold answers). Empty elsewhere.
  std::vector<QaWindow> windows;
  std::vector<Example> questions;
  std::shared_ptr<const SplitRows> rows;  // null for tasks evaluated by the trainer's batch loop
};

// A split's predictions as files: (name, contents), the benchmark's submission file first (GLUE's
// "predictions.tsv", SQuAD's "predictions.json"; SQuAD v2 adds "null_odds.json").
struct PredictionFiles {
  std::vector<std::pair<std::string, std::string>> files;
  int64_t rows = 0;                       // predictions made
  std::map<std::string, int64_t> counts;  // classification: rows per predicted label
};

// What evaluation and prediction keep of one split's batches, and what they make of them at the
// end: one number per item for most tasks; each window's start/end logits for extractive QA, whose
// answers are chosen per question over its windows.
class SplitPredictions {
 public:
  virtual ~SplitPredictions() = default;
  // The model's output on a batch of the split (in any order).
  virtual void add(const ModelOutput& output, const Batch& batch) = 0;
  // Metrics against the split's labels.
  virtual MetricResult metrics() const = 0;
  // The prediction files; `rows` are the examples the split was encoded from (GLUE's file names
  // each row by its index).
  virtual PredictionFiles files(const std::vector<Example>& rows) const = 0;
};

// What a task that evaluates itself is given.
struct TaskEvalContext {
  TaskModelImpl* model = nullptr;       // in eval mode; the caller holds no_grad (and autocast)
  const Tokenizer* tokenizer = nullptr;
  const Batcher* batcher = nullptr;     // the split's items, in order (the task's loss over them)
  int64_t batch_size = 8;               // sequences per forward or generation batch
  std::vector<LayerMasks> masks;        // Light-PEFT's masks, if any
  bool predictions = false;             // fill TaskEvaluation::rows (lightpeft predict)
};

struct TaskEvaluation {
  MetricResult metrics;
  double loss = 0.0;    // the task's training loss over the split
  int64_t examples = 0;
  std::vector<std::string> rows;  // with predictions: one JSON object per row, in split order
};

// Where a task's rows come from.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Throws one lightpeft::Error naming every missing file of these splits.
  virtual void check_files(const std::vector<Split>& splits) const = 0;
  virtual std::vector<Example> load(Split split, const LoadOptions& options) const = 0;
  // The split `lightpeft predict --split <requested>` reads, its files checked; throws a
  // lightpeft::Error saying which splits this source can predict and which config key is missing.
  // By default any split whose file is there.
  virtual Split prediction_split(const std::string& requested) const;
};

class Task {
 public:
  Task(TaskSpec spec, std::shared_ptr<const RowSource> source);
  virtual ~Task();

  const TaskSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const RowSource& source() const { return *source_; }

  virtual HeadKind head() const { return HeadKind::sequence_classification; }
  // Width of the classification head (num_labels of the model).
  virtual int64_t num_labels() const { return static_cast<int64_t>(spec_.label_names.size()); }
  // Encodings per item (multiple choice: one per choice).
  virtual int64_t choices_per_item() const { return 1; }
  // Item labels collated as float32 (regression) rather than int64.
  virtual bool float_labels() const { return false; }

  // Pair texts truncated longest_first to max_length, special tokens added, no padding (the batcher
  // pads each batch to its longest).
  virtual EncodedSplit encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                              int64_t max_length) const;
  // What the task adds to the model inputs of a training batch before its forward (a causal LM: the
  // positions whose logits its loss reads, ModelInputs::logits_mask). Nothing by default.
  virtual void prepare_inputs(ModelInputs& inputs, const Batch& batch) const {}
  // The training loss of a batch (mean over its items).
  virtual at::Tensor loss(const ModelOutput& output, const Batch& batch) const;
  // One prediction per item of the batch, in batch order: a class id or a regression value.
  virtual std::vector<double> predict(const ModelOutput& output, const Batch& batch) const;
  // The batch's gold labels, one per item (as predict's values).
  std::vector<double> labels(const Batch& batch) const;
  virtual MetricResult metrics(const std::vector<double>& predictions, const std::vector<double>& labels,
                               const EncodedSplit& split) const;
  // A prediction as the benchmark's submission spells it (GLUE RTE: entailment; CoLA: 0 / 1).
  virtual std::string format_prediction(double value) const;
  // Evaluation and prediction over `split` (which must outlive the result). The default keeps
  // predict() and labels() per item, scores them with metrics() and writes GLUE's TSV
  // ("index<TAB>prediction", format_prediction).
  virtual std::unique_ptr<SplitPredictions> start_predictions(const EncodedSplit& split) const;
  // Whether the trainer and `lightpeft eval` keep the dev split's prediction files (extractive QA:
  // HF's run_qa writes eval_predictions.json).
  virtual bool keeps_eval_predictions() const { return false; }

  // True for tasks that evaluate and predict by themselves (evaluate_split): the trainer's
  // evaluation and `lightpeft predict` call it instead of their batch loops, and predictions are
  // written as JSON Lines (TaskEvaluation::rows).
  virtual bool evaluates_itself() const { return false; }
  // Throws lightpeft::Error for tasks that do not evaluate themselves.
  virtual TaskEvaluation evaluate_split(const EncodedSplit& split, const TaskEvalContext& context) const;

 protected:
  // The head's logits with items as rows (multiple choice: (B * C, 1) -> (B, C)).
  virtual at::Tensor item_logits(const ModelOutput& output, const Batch& batch) const;

  TaskSpec spec_;
  std::shared_ptr<const RowSource> source_;
};

// Single-label classification: cross-entropy, argmax, the task's metric (accuracy, F1, Matthews...).
class ClassificationTask : public Task {
 public:
  using Task::Task;
};

// Regression (STS-B): one output, MSE, Pearson/Spearman.
class RegressionTask : public Task {
 public:
  using Task::Task;
  int64_t num_labels() const override { return 1; }
  bool float_labels() const override { return true; }
  at::Tensor loss(const ModelOutput& output, const Batch& batch) const override;
  std::vector<double> predict(const ModelOutput& output, const Batch& batch) const override;
  std::string format_prediction(double value) const override;
};

// Multiple choice (COPA): the text is encoded once with each choice as its pair; the model scores
// each choice (one output), cross-entropy over the choices. With `fewer_choices`, a row may have
// fewer than `choices` (ARC's 3- and 4-choice questions beside 5-choice ones): filler encodings pad
// it and their scores are masked out (Batch::choice_mask). A prediction is written as the task's
// label name of the choice when it has them (commonsense: answer2), else as its index.
class MultipleChoiceTask : public Task {
 public:
  MultipleChoiceTask(TaskSpec spec, std::shared_ptr<const RowSource> source, int64_t choices,
                     bool fewer_choices = false);
  int64_t num_labels() const override { return 1; }
  int64_t choices_per_item() const override { return choices_; }
  EncodedSplit encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                      int64_t max_length) const override;
  std::string format_prediction(double value) const override;

 protected:
  at::Tensor item_logits(const ModelOutput& output, const Batch& batch) const override;

 private:
  int64_t choices_;
  bool fewer_choices_;
};

// Binary answers grouped by question (MultiRC): F1 over answers plus exact match over questions.
class GroupedAnswersTask : public ClassificationTask {
 public:
  using ClassificationTask::ClassificationTask;
  MetricResult metrics(const std::vector<double>& predictions, const std::vector<double>& labels,
                       const EncodedSplit& split) const override;
};

}  // namespace lightpeft
