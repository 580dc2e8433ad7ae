// `lightpeft init-model`: a randomly initialised model in HF layout (config.json,
// model.safetensors, tokenizer files), initialised as HF does. The config is marked
// "lightpeft_random_init" so that every result from it says so.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "commands.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/models/family.h"
#include "lightpeft/models/hf_checkpoint.h"

namespace lightpeft::cli {
namespace fs = std::filesystem;

namespace {

struct InitModelArgs {
  std::string arch;
  std::string config;
  std::string vocab;
  std::string merges;
  std::string tokenizer_json;
  std::string out;
  int64_t seed = 42;
  int64_t num_labels = 0;
  bool cased = false;
};

void copy_into(const fs::path& file, const fs::path& dir, const std::string& as) {
  LP_CHECK(fs::is_regular_file(file), file.string(), ": no such file");
  fs::copy_file(file, dir / as, fs::copy_options::overwrite_existing);
}

int run_init_model(const InitModelArgs& a) {
  ModelConfig config = load_model_config(a.config);
  // --arch wins over the file's model_type (bert_config.json has none).
  if (!a.arch.empty()) config.model_type = a.arch;
  const ModelFamily& family = model_family(config.model_type, a.config);
  if (a.num_labels > 0) {
    config.num_labels = a.num_labels;
    config.id2label.clear();
    config.problem_type = a.num_labels == 1 ? ProblemType::regression
                                            : ProblemType::single_label_classification;
  }
  auto extra = nlohmann::json::parse(config.extra_json);
  extra["lightpeft_random_init"] = true;
  extra["lightpeft_init_seed"] = a.seed;
  config.extra_json = extra.dump();
  validate_model_config(config, a.config);

  // Tokenizer files: vocab.txt (WordPiece), vocab.json + merges.txt (byte-level BPE), or tokenizer.json.
  const bool wordpiece = config.model_type == "bert";
  if (a.tokenizer_json.empty()) {
    LP_CHECK(wordpiece ? !a.vocab.empty() : (!a.vocab.empty() && !a.merges.empty()), "init-model --arch ",
             config.model_type, ": give ", wordpiece ? "--vocab vocab.txt" : "--vocab vocab.json and --merges merges.txt",
             ", or --tokenizer-json");
  }

  torch::manual_seed(static_cast<uint64_t>(a.seed));
  auto model = make_task_model(config, family.heads.front());
  const fs::path out = a.out;
  save_pretrained(*model, out);

  if (!a.tokenizer_json.empty()) copy_into(a.tokenizer_json, out, "tokenizer.json");
  nlohmann::json tok_config;
  if (wordpiece) {
    if (!a.vocab.empty()) copy_into(a.vocab, out, "vocab.txt");
    tok_config = {{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", !a.cased},
                  {"model_max_length", config.max_position_embeddings}};
  } else if (config.model_type != "roberta") {
    if (!a.vocab.empty()) copy_into(a.vocab, out, "vocab.json");
    if (!a.merges.empty()) copy_into(a.merges, out, "merges.txt");
    tok_config = {{"model_max_length", config.max_position_embeddings}};
  } else {
    if (!a.vocab.empty()) copy_into(a.vocab, out, "vocab.json");
    if (!a.merges.empty()) copy_into(a.merges, out, "merges.txt");
    tok_config = {{"tokenizer_class", "RobertaTokenizer"}, {"add_prefix_space", false},
                  {"model_max_length", config.max_position_embeddings - config.pad_token_id - 1}};
  }
  write_text_atomic(out / "tokenizer_config.json", tok_config.dump(2) + "\n");

  log::warn("wrote a RANDOM-INIT ", config.model_type, " model (seed ", a.seed,
            ") to ", out.string(), ": results from it are not those of a pretrained model");
  std::cout << out.string() << ": " << config.model_type << ", "
            << config.num_hidden_layers << " layers, hidden " << config.hidden_size << ", "
            << count_parameters(*model) << " parameters (random init)\n";
  return 0;
}

}  // namespace

Runner add_init_model(CLI::App& app) {
  auto a = std::make_shared<InitModelArgs>();
  app.add_option("--arch", a->arch, "a model_type (bert, roberta, llama, ...; default: the config's)")
      ->check(CLI::IsMember(supported_model_types()));
  app.add_option("--config", a->config, "HF config.json or TF bert_config.json")->required();
  app.add_option("--vocab", a->vocab, "vocab.txt (bert) or vocab.json (roberta)");
  app.add_option("--merges", a->merges, "merges.txt (roberta)");
  app.add_option("--tokenizer-json", a->tokenizer_json, "an HF tokenizer.json");
  app.add_option("--out", a->out, "output directory")->required();
  app.add_option("--seed", a->seed, "random seed")->capture_default_str();
  app.add_option("--num-labels", a->num_labels, "classifier outputs (1: regression)");
  app.add_flag("--cased", a->cased, "the vocab is cased (bert: do_lower_case false)");
  return [a]() { return run_init_model(*a); };
}

}  // namespace lightpeft::cli
