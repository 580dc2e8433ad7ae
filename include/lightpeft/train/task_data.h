#pragma once
// The train and dev sets of a config's task, tokenized and ready to batch.
#include <vector>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/example.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {

struct EncodedSplit {
  std::vector<EncodedExample> examples;  // COPA: one per choice, consecutive
  std::vector<int64_t> groups;           // MultiRC question ids (empty elsewhere)
};

// Tokenizes examples (pairs truncated longest_first to max_length, special tokens added, no
// padding: the batcher pads each batch to its longest).
EncodedSplit encode_examples(const std::vector<Example>& examples, const Tokenizer& tokenizer,
                             const TaskSpec& spec, int64_t max_length);

struct TaskData {
  TaskSpec spec;
  EncodedSplit train;
  EncodedSplit dev;
};

// Which splits load_task_data reads (evaluation needs no training data).
struct TaskSplits {
  bool train = true;
  bool dev = true;
};

// Loads and tokenizes the train and dev splits the config names (GLUE/SuperGLUE or user files).
// Checks that every file exists before reading any.
TaskData load_task_data(const TrainConfig& config, const Tokenizer& tokenizer, TaskSplits splits = {});

// The unlabelled examples to predict, in file order: a GLUE/SuperGLUE test split (`split` is
// "test", or "test_mismatched" for MNLI; any other split name is read too, its labels ignored by
// prediction) or, for task: user, user_task.test_file ("test" only).
std::vector<Example> load_prediction_examples(const TrainConfig& config, const std::string& split = "test");

// Batchers with the config's batch sizes: shuffled (seeded) for training, in order for evaluation.
Batcher make_train_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id);
Batcher make_eval_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id);

}  // namespace lightpeft
