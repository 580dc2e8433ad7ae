#pragma once
// The task of a config (tasks/registry.h) and its train and dev splits, tokenized and ready to
// batch.
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/example.h"
#include "lightpeft/tasks/task.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {

struct TaskData {
  std::shared_ptr<const Task> task;
  EncodedSplit train;
  EncodedSplit dev;
  const TaskSpec& spec() const { return task->spec(); }
};

// Which splits load_task_data reads (evaluation needs no training data).
struct TaskSplits {
  bool train = true;
  bool dev = true;
};

// The config's task (a GLUE/SuperGLUE task over data_dir, or user files).
std::shared_ptr<const Task> make_config_task(const TrainConfig& config);

// Loads and tokenizes the train and dev splits the config names. Checks that every file exists
// before reading any.
TaskData load_task_data(const TrainConfig& config, const Tokenizer& tokenizer, TaskSplits splits = {});

// The unlabelled examples to predict, in file order: a GLUE/SuperGLUE test split (`split` is
// "test", or "test_mismatched" for MNLI; any other split name is read too, its labels ignored by
// prediction) or, for task: user, user_task.test_file ("test" only).
std::vector<Example> load_prediction_examples(const TrainConfig& config, const Task& task,
                                              const std::string& split = "test");

// Batchers with the config's batch sizes: shuffled (seeded) for training, in order for evaluation.
Batcher make_train_batcher(const TrainConfig& config, const Task& task, const EncodedSplit& split, int64_t pad_id);
Batcher make_eval_batcher(const TrainConfig& config, const Task& task, const EncodedSplit& split, int64_t pad_id);

}  // namespace lightpeft
