// `lightpeft eval --config CONFIG.yaml [--checkpoint final|best|base]`: the finished run in the
// config's output_dir evaluated on the dev split (or, with base, the config's pretrained model as it
// is: a decoder's zero-shot score); metrics on stdout and in output_dir/eval_results.json.
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "lightpeft/core/log.h"
#include "lightpeft/train/inference.h"

namespace lightpeft::cli {

Runner add_eval(CLI::App& app) {
  auto config = add_config_options(app);
  auto which = std::make_shared<std::string>("final");
  app.add_option("--checkpoint", *which,
                 "final or best (output_dir/finetune/<which>), or base: the config's pretrained model without "
                 "training (zero-shot; causal LM tasks such as the commonsense sets)")
      ->check(CLI::IsMember({"final", "best", "base"}))
      ->capture_default_str();
  return [config, which]() {
    const TrainConfig c = config->load();
    const RunEvaluation e = evaluate_run(c, *which);
    std::cout << "dev " << e.headline << ": " << log::fixed(e.headline_value, 4) << "  (" << e.task << ", "
              << to_string(c.method) << ", " << *which << ", " << e.examples << " examples";
    for (const auto& [k, v] : e.metrics)
      if (k != e.headline) std::cout << ", " << k << " " << log::fixed(v, 4);
    std::cout << "; loss " << log::fixed(e.loss, 4) << (e.random_init ? "; RANDOM-INIT model, not pretrained" : "")
              << ")\nresults: " << e.results_file.string() << "\n";
    for (const auto& f : e.prediction_files) std::cout << "predictions: " << f.string() << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
