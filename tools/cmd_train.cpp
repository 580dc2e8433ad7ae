// `lightpeft train --config CONFIG.yaml [--set key=value ...]`: the whole job a config describes,
// ending with the dev metric on stdout and results.json in output_dir.
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "lightpeft/core/log.h"
#include "lightpeft/train/trainer.h"

namespace lightpeft::cli {

Runner add_train(CLI::App& app) {
  auto config = add_config_options(app);
  auto options = std::make_shared<TrainOptions>();
  auto no_resume = std::make_shared<bool>(false);
  app.add_flag("--overwrite", options->overwrite, "delete an earlier run in output_dir and start afresh");
  app.add_flag("--no-resume", *no_resume,
               "refuse to continue an earlier run in output_dir (by default a run with the same "
               "config resumes from its last checkpoint)");
  return [config, options, no_resume]() {
    options->resume = !*no_resume;
    TrainConfig c = config->load();
    TrainResult r = run_training(c, *options);
    std::cout << "dev " << r.headline << ": " << log::fixed(r.headline_value, 4) << "  (" << r.task
              << ", " << to_string(c.method);
    for (const auto& [k, v] : r.dev_metrics)
      if (k != r.headline) std::cout << ", " << k << " " << log::fixed(v, 4);
    std::cout << "; " << r.trainable_parameters << " trainable of " << r.total_parameters
              << " parameters" << (r.random_init ? "; RANDOM-INIT model, not pretrained" : "")
              << ")\n";
    if (r.total_parameters_before_pruning > 0)
      std::cout << "pruning: parameters " << r.total_parameters_before_pruning << " -> "
                << r.total_parameters << ", trainable " << r.trainable_parameters_before_pruning
                << " -> " << r.trainable_parameters << "\n";
    std::cout
              << "results: " << r.results_file.string() << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
