#pragma once
// A complete tiny training setup for tests of the trainer and the CLI: a random-init BERT of a few
// thousand parameters with a WordPiece vocab of a toy sentiment task, the task's CSV files and a
// config that trains on them in about a second.
#include <filesystem>
#include <string>

namespace lightpeft::testing {

// A tiny BERT (random init, marked as init-model marks it) in HF layout, with vocab.txt; with
// model_type "llama" a tiny LLaMA (grouped-query attention: 4 query heads over 2 KV heads) with a
// sequence-classification head, the same vocab.
std::filesystem::path make_tiny_model(const std::filesystem::path& dir, const std::string& model_type = "bert");

// Sentiment-like rows, "text,label" with labels neg/pos (learnable: the adjective decides);
// without the label column when `labelled` is false (a test file for predict).
void write_tiny_task(const std::filesystem::path& file, int rows, int offset, bool labelled = true);

// model/, train.csv (40 rows), dev.csv (16) and test.csv (12, unlabelled) under `root`.
void make_tiny_run_files(const std::filesystem::path& root);

// A config for the files make_tiny_run_files wrote: task user, `method`, output in `out`; batch 8,
// 2 epochs (10 steps), logging every step, checkpoints every 2 steps, LoRA r 4, 4 estimate steps.
std::string tiny_config_yaml(const std::filesystem::path& root, const std::string& method,
                             const std::filesystem::path& out);

}  // namespace lightpeft::testing
