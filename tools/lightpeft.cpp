// lightpeft: Light-PEFT fine-tuning (estimate -> prune -> finetune) of encoders and decoder LLMs.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>

#include "commands.h"
#include "lightpeft/core/allocator.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

int main(int argc, char** argv) {
  lightpeft::tune_malloc_for_tensors();  // before any tensor exists (core/allocator.h)
  CLI::App app{
      "lightpeft: Light-PEFT fine-tuning of encoders and decoder LLMs (estimate -> prune -> finetune)"};
  app.set_version_flag("--version", std::string("lightpeft 0.1.0"));
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.require_subcommand(1);

  std::map<CLI::App*, lightpeft::cli::Runner> runners;
  auto add = [&](const char* name, const char* help, auto adder) {
    CLI::App* sub = app.add_subcommand(name, help);
    runners[sub] = adder(*sub);
  };
  add("train", "Fine-tune a model as a YAML config says", lightpeft::cli::add_train);
  add("eval", "Evaluate a finished run on the dev split (writes eval_results.json)",
      lightpeft::cli::add_eval);
  add("predict", "Predict the unlabelled test split of a finished run (GLUE submission TSV)",
      lightpeft::cli::add_predict);
  add("prune", "Run only the estimate and prune stages of a light-peft config (inspect the plan)",
      lightpeft::cli::add_prune);
  add("export", "Write a finished run as a model HF transformers, lightpeft or llama.cpp loads",
      lightpeft::cli::add_export);
  add("generate", "Generate text with a decoder (a model folder, a .gguf, or a run with its adapter)",
      lightpeft::cli::add_generate);
  add("info", "Load an HF-layout model directory and print its architecture",
      lightpeft::cli::add_info);
  add("init-model", "Write a randomly initialised model in HF layout",
      lightpeft::cli::add_init_model);
  add("report", "Render PNG figures and an index.md of a run (loss, metrics, pruning)",
      lightpeft::cli::add_report);
  add("config-doc", "Print docs/configuration.md as the config schema generates it",
      lightpeft::cli::add_config_doc);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    lightpeft::log::set_level(lightpeft::log::parse_level(log_level));
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const lightpeft::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
