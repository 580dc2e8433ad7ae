#pragma once
// The options every config-driven subcommand shares: --config FILE.yaml and repeated
// --set key=value overrides (dotted keys: --set training.learning_rate=1e-3 --set method=lora).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lightpeft/train/train_config.h"

namespace lightpeft::cli {

struct ConfigArgs {
  std::string file;
  std::vector<std::string> sets;
  TrainConfig load() const { return load_train_config(file, sets); }
};

inline std::shared_ptr<ConfigArgs> add_config_options(CLI::App& app) {
  auto a = std::make_shared<ConfigArgs>();
  app.add_option("--config", a->file, "YAML training config (see configs/ and docs/configuration.md)")
      ->required();
  app.add_option("--set", a->sets,
                 "override a config key, repeatable: --set training.learning_rate=1e-3 "
                 "--set light_peft.estimate_steps=20 --set method=lora")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  return a;
}

}  // namespace lightpeft::cli
