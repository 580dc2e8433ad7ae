// `lightpeft generate`: text from a decoder with a causal LM head: a base model (an HF folder or a
// GGUF file), a finished run with its adapter, or a merged export.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <chrono>

#include <ATen/Parallel.h>

#include "commands.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/data/chat_template.h"
#include "lightpeft/data/text_file.h"
#include "lightpeft/generation/generate.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/train/export.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft::cli {
namespace fs = std::filesystem;

namespace {

struct GenerateArgs {
  std::string model, run, which = "final", prompts_file;
  std::vector<std::string> prompts;
  bool chat = false;
  int64_t batch_size = 8, threads = 0;
  GenerationConfig generation;
};

int run_generate(GenerateArgs& a) {
  LP_CHECK(a.model.empty() != a.run.empty(), "generate: give either --model or --run");
  if (a.threads > 0) at::set_num_threads(static_cast<int>(a.threads));
  std::vector<std::string> prompts = a.prompts;
  if (!a.prompts_file.empty())
    for (const TextLine& line : split_lines(read_text_file(a.prompts_file)))
      if (!line.text.empty()) prompts.emplace_back(line.text);
  LP_CHECK(!prompts.empty(), "generate: no prompts (--prompt TEXT, repeated, or --prompts-file FILE, one per line)");

  fs::path tokenizer_dir;
  TaskModel model;
  if (!a.run.empty()) {
    PeftModel peft = load_finetuned_run(a.run, a.which);
    // Generation never trains: LoRA folded into the base weights, one GEMM per linear per token.
    model = merge_for_inference(peft);
    tokenizer_dir = load_train_config(fs::path(a.run) / "config.yaml").model;
  } else {
    PretrainedOptions options;
    options.head = HeadKind::causal_lm;
    auto loaded = load_pretrained(a.model, options);
    log::info("model: ", a.model, ": ", loaded.report.summary());
    model = loaded.model;
    tokenizer_dir = a.model;
  }
  auto tokenizer = load_tokenizer(resolve_model_dir(tokenizer_dir));
  if (a.chat) {
    const fs::path dir = resolve_model_dir(tokenizer_dir);
    const ChatTemplate chat = load_chat_template(dir);
    ChatRenderOptions options = chat_options_of(dir);
    options.add_generation_prompt = true;
    for (auto& p : prompts) p = chat.render({{"user", p}}, options);
  }
  const auto started = std::chrono::steady_clock::now();
  const auto outputs = generate_text(*model, *tokenizer, prompts, a.generation, a.batch_size);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs.size() > 1) std::cout << "=== " << i << "\n";
    std::cout << outputs[i] << "\n";
  }
  log::info("generate: ", prompts.size(), " prompts in ", log::fixed(seconds, 2), " s");
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  app.add_option("--model", a->model, "an HF-layout model folder, a .gguf file, or a merged export");
  app.add_option("--run", a->run, "output_dir of a finished `lightpeft train` run (its adapter)");
  app.add_option("--checkpoint", a->which, "with --run: final or best")
      ->check(CLI::IsMember({"final", "best"}))->capture_default_str();
  app.add_option("--prompt", a->prompts, "a prompt (repeat for a batch)");
  app.add_option("--prompts-file", a->prompts_file, "a file with one prompt per line");
  app.add_flag("--chat", a->chat, "wrap each prompt as a user turn in the model's chat template");
  app.add_option("--max-new-tokens", a->generation.max_new_tokens, "tokens to generate at most")->capture_default_str();
  app.add_flag("--sample", a->generation.do_sample, "sample instead of greedy decoding");
  app.add_option("--temperature", a->generation.temperature, "sampling temperature")->capture_default_str();
  app.add_option("--top-k", a->generation.top_k, "sample from the k most likely tokens (0: off)")->capture_default_str();
  app.add_option("--top-p", a->generation.top_p, "nucleus sampling mass (1: off)")->capture_default_str();
  app.add_option("--seed", a->generation.seed, "sampling seed")->capture_default_str();
  app.add_option("--batch-size", a->batch_size, "prompts per batch (left-padded)")->capture_default_str();
  app.add_option("--threads", a->threads, "CPU threads (0: LibTorch's default)")->capture_default_str();
  return [a]() { return run_generate(*a); };
}

}  // namespace lightpeft::cli
