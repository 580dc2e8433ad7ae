// `lightpeft info MODEL_DIR`: loads a model directory as a user's checkpoint and prints its shape.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "lightpeft/core/log.h"
#include "lightpeft/models/family.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft::cli {

Runner add_info(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto strict = std::make_shared<bool>(false);
  app.add_option("model_dir", *dir, "HF-layout model directory (config.json + weights)")
      ->required();
  app.add_flag("--strict", *strict, "fail unless every checkpoint key matches the model");
  return [dir, strict]() {
    PretrainedOptions options;
    // The family's first head: sequence classification for encoders, the LM head for decoders.
    options.head = model_family(load_model_config(*dir).model_type).heads.front();
    options.strict = *strict;
    auto loaded = load_pretrained(*dir, options);
    const ModelConfig& c = loaded.model->config();
    const bool gqa = c.heads_per_unit() > 1;
    std::cout << "model:       " << *dir << "\n"
              << "type:        " << c.model_type << " (" << c.num_hidden_layers << " layers, hidden "
              << c.hidden_size << ", head size " << c.head_size();
    if (gqa) std::cout << ", " << c.heads_per_unit() << " query heads per key/value head";
    std::cout << ")\n"
              << "task head:   " << to_string(loaded.model->head_kind()) << "\n"
              << (gqa ? "kv groups:   " : "heads:       ");
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) std::cout << (l ? " " : "") << c.attention_units(l);
    std::cout << "\nffn widths:  ";
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) std::cout << (l ? " " : "") << c.intermediate(l);
    std::cout << "\nvocab:       " << c.vocab_size << ", max positions " << c.max_position_embeddings
              << "\nlabels:      " << to_string(c.problem_type) << ", " << c.num_labels
              << "\nparameters:  " << count_parameters(*loaded.model) << "\n"
              << "weights:     " << loaded.report.summary() << "\n";
    if (c.is_random_init())
      std::cout << "note:        RANDOM-INIT model (written by lightpeft init-model), not pretrained\n";
    try {
      auto tok = load_tokenizer(resolve_model_dir(*dir));
      std::cout << "tokenizer:   " << tok->vocab_size() << " tokens";
      try {
        std::cout << " (pad id " << tok->pad_id() << ")";
      } catch (const Error&) {
        std::cout << " (no pad token)";
      }
      std::cout << "\n";
    } catch (const Error& e) {
      std::cout << "tokenizer:   none (" << e.what() << ")\n";
    }
    return 0;
  };
}

}  // namespace lightpeft::cli
