// `lightpeft prune --config CONFIG.yaml`: only the estimate and prune stages of a light-peft
// config, to inspect the pruning plan before fine-tuning (`lightpeft train` with the same config
// then reuses them).
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "lightpeft/core/log.h"
#include "lightpeft/train/trainer.h"

namespace lightpeft::cli {

Runner add_prune(CLI::App& app) {
  auto config = add_config_options(app);
  auto options = std::make_shared<TrainOptions>();
  app.add_flag("--overwrite", options->overwrite, "delete an earlier run in output_dir and start afresh");
  return [config, options]() {
    const PruneOnlyResult r = run_estimate_and_prune(config->load(), *options);
    const PruningPlan& p = r.plan;
    std::cout << "plan: " << p.summary() << "\n"
              << "heads:        " << p.heads_before() << " -> " << p.heads_after() << "\n"
              << "ffn neurons:  " << p.neurons_before() << " -> " << p.neurons_after() << "\n"
              << "peft modules: " << p.modules.size() << " -> " << p.modules_with_peft() << "\n"
              << "lora ranks:   " << p.ranks_before() << " -> " << p.ranks_after() << "\n"
              << "parameters:   " << r.report.before.total << " -> " << r.report.after.total
              << " (foundation " << r.report.before.foundation << " -> " << r.report.after.foundation
              << ", PEFT " << r.report.before.peft << " -> " << r.report.after.peft << ")\n"
              << "estimate:     " << (r.estimate_reused ? "reused, " : "") << log::fixed(r.estimate_seconds, 1) << " s"
              << (r.random_init ? "; RANDOM-INIT model, not pretrained" : "") << "\n"
              << "plan file:    " << r.plan_file.string() << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
