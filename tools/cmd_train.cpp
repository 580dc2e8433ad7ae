// `lightpeft train --config CONFIG.yaml [--set key=value ...]`: the whole job a config describes,
// ending with the dev metric on stdout and results.json in output_dir.
#include <cstdlib>
#include <iostream>
#include <string>

#include "commands.h"
#include "config_options.h"
#include "lightpeft/core/log.h"
#include "lightpeft/distributed/local_launcher.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/train/runtime.h"
#include "lightpeft/train/trainer.h"

namespace lightpeft::cli {
namespace {

std::string ratio(double pruned, double unpruned) {
  return unpruned > 0 && pruned > 0 ? " (" + log::fixed(pruned / unpruned, 2) + "x)" : "";
}

std::string mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// Light-PEFT's gain as this run measured it: the pruned model against the unpruned one it came
// from (the estimate stage trains the unpruned model, with LoRA on the estimate's targets and the
// masks: a little more work per step than plain LoRA on it).
void print_what_pruning_bought(const TrainResult& r) {
  std::cout << "pruning: parameters " << r.total_parameters_before_pruning << " -> " << r.total_parameters
            << ratio(static_cast<double>(r.total_parameters), static_cast<double>(r.total_parameters_before_pruning))
            << ", trainable " << r.trainable_parameters_before_pruning << " -> " << r.trainable_parameters
            << ratio(static_cast<double>(r.trainable_parameters),
                     static_cast<double>(r.trainable_parameters_before_pruning))
            << "\n";
  if (r.finetune_resumed)
    std::cout << "pruning: step time and peak RSS not compared: the finetune stage resumed from a checkpoint, "
                 "so this process did not run all of it\n";
  if (r.estimate_step_seconds > 0 && r.finetune_step_seconds > 0)
    std::cout << "pruning: step time " << log::fixed(r.finetune_step_seconds, 3) << " s (pruned, finetune) vs "
              << log::fixed(r.estimate_step_seconds, 3) << " s (unpruned, estimate)"
              << ratio(r.finetune_step_seconds, r.estimate_step_seconds) << "\n";
  if (r.estimate_peak_cpu_rss_bytes > 0 && r.finetune_peak_cpu_rss_bytes > 0)
    std::cout << "pruning: peak RSS " << mib(r.finetune_peak_cpu_rss_bytes) << " (finetune stage) vs "
              << mib(r.estimate_peak_cpu_rss_bytes) << " (estimate stage)"
              << ratio(static_cast<double>(r.finetune_peak_cpu_rss_bytes),
                       static_cast<double>(r.estimate_peak_cpu_rss_bytes))
              << "\n";
}

}  // namespace

Runner add_train(CLI::App& app) {
  auto config = add_config_options(app);
  auto options = std::make_shared<TrainOptions>();
  auto no_resume = std::make_shared<bool>(false);
  auto nproc = std::make_shared<int>(0);
  app.add_option("--nproc", *nproc,
                 "data-parallel workers on this machine (Gloo on the CPU, NCCL on GPUs); a launcher "
                 "such as torchrun or srun sets RANK/WORLD_SIZE instead (docs/distributed.md)");
  app.add_flag("--overwrite", options->overwrite, "delete an earlier run in output_dir and start afresh");
  app.add_flag("--no-resume", *no_resume,
               "refuse to continue an earlier run in output_dir (by default a run with the same "
               "config resumes from its last checkpoint)");
  return [config, options, no_resume, nproc]() {
    options->resume = !*no_resume;
    if (*nproc > 0 && !std::getenv("RANK"))  // the launcher: N copies of this command, one per rank
      return dist::run_local_workers(*nproc, dist::without_nproc(dist::own_command_line()));
    TrainConfig c = config->load();
    // A worker of a data-parallel job (RANK/WORLD_SIZE or SLURM's variables): join the group; only
    // rank 0 logs at info level and prints the result.
    dist::init_default_group(make_runtime(c).device);
    if (!dist::is_main_process() && log::level() < log::Level::warn) log::set_level(log::Level::warn);
    TrainResult r = run_training(c, *options);
    dist::barrier("the end of training");  // rank 0 has written results.json
    const bool main_process = dist::is_main_process();
    dist::set_default_group(nullptr);
    if (!main_process) return 0;
    std::cout << "dev " << r.headline << ": " << log::fixed(r.headline_value, 4) << "  (" << r.task
              << ", " << to_string(c.method);
    for (const auto& [k, v] : r.dev_metrics)
      if (k != r.headline) std::cout << ", " << k << " " << log::fixed(v, 4);
    std::cout << "; " << r.trainable_parameters << " trainable of " << r.total_parameters
              << " parameters" << (r.random_init ? "; RANDOM-INIT model, not pretrained" : "")
              << ")\n";
    if (r.total_parameters_before_pruning > 0) print_what_pruning_bought(r);
    std::cout << "results: " << r.results_file.string() << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
