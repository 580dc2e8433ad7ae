#include "tiny_run.h"

#include <iterator>

#include <torch/utils.h>

#include "lightpeft/models/hf_checkpoint.h"
#include "test_support.h"

namespace lightpeft::testing {
namespace {

const char* kWords[] = {"good", "great", "fine", "nice", "bad", "awful", "poor", "sad",
                        "movie", "film", "plot", "cast", "really", "very", "the", "a"};

}  // namespace

fs::path make_tiny_model(const fs::path& dir, const std::string& model_type) {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const char* w : kWords) vocab += std::string(w) + "\n";
  ModelConfig c;
  c.vocab_size = 5 + static_cast<int64_t>(std::size(kWords));
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 24;
  c.attention_units_per_layer = {4, 4};
  c.intermediate_per_layer = {24, 24};
  c.max_position_embeddings = 32;
  if (model_type == "llama") {
    c.model_type = "llama";
    c.num_key_value_heads = 2;
    c.attention_units_per_layer = {2, 2};
    c.hidden_act = "silu";
    c.layer_norm_eps = 1e-6;
    c.hidden_dropout_prob = 0.0;
    c.attention_probs_dropout_prob = 0.0;
  }
  c.extra_json = R"({"lightpeft_random_init": true})";
  torch::manual_seed(0);
  save_pretrained(*make_task_model(c, HeadKind::sequence_classification), dir);
  write_file(dir / "vocab.txt", vocab);
  return dir;
}

void write_tiny_task(const fs::path& file, int rows, int offset, bool labelled) {
  std::string csv = labelled ? "text,label\n" : "text\n";
  for (int i = 0; i < rows; ++i) {
    const bool pos = ((i + offset) % 2) == 0;
    // Adjective and noun cycle independently of the label's parity, so only the adjective
    // predicts the label and every adjective occurs in train and dev.
    const char* adj = kWords[(pos ? 0 : 4) + (i / 2) % 4];
    csv += std::string("\"the ") + kWords[8 + (i / 2 + 1) % 4] + " was really " + adj + "\"";
    if (labelled) csv += std::string(",") + (pos ? "pos" : "neg");
    csv += "\n";
  }
  write_file(file, csv);
}

void make_tiny_run_files(const fs::path& root) {
  make_tiny_model(root / "model");
  write_tiny_task(root / "train.csv", 40, 0);
  write_tiny_task(root / "dev.csv", 16, 1);
  write_tiny_task(root / "test.csv", 12, 0, /*labelled=*/false);
}

std::string tiny_config_yaml(const fs::path& root, const std::string& method, const fs::path& out) {
  return "task: user\nmodel: " + (root / "model").string() + "\noutput_dir: " + out.string() +
         "\nmethod: " + method + "\nseed: 3\nmax_seq_length: 16\n"
         "user_task:\n  format: csv\n  train_file: " + (root / "train.csv").string() +
         "\n  dev_file: " + (root / "dev.csv").string() + "\n  test_file: " + (root / "test.csv").string() +
         "\n  labels: [neg, pos]\n"
         "training:\n  per_device_train_batch_size: 8\n  per_device_eval_batch_size: 8\n"
         "  num_train_epochs: 2\n  learning_rate: 0.01\n"
         "  logging_steps: 1\n  save_steps: 2\n  save_total_limit: 2\n"
         "lora:\n  r: 4\n"
         "light_peft:\n  estimate_steps: 4\n  l1_lambda: 0.001\n";
}

}  // namespace lightpeft::testing
