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

// Loads and tokenizes the train and dev splits the config names (GLUE/SuperGLUE or user files).
// Checks that every file exists before reading any.
TaskData load_task_data(const TrainConfig& config, const Tokenizer& tokenizer);

// Batchers with the config's batch sizes: shuffled (seeded) for training, in order for evaluation.
Batcher make_train_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id);
Batcher make_eval_batcher(const TrainConfig& config, const TaskData& data, int64_t pad_id);

}  // namespace lightpeft
