#include "commands.h"
#include "lightpeft/core/error.h"
namespace lightpeft::cli {
Runner add_train(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  app.add_option("--config", *config, "YAML training config")->required();
  return [config]() -> int { throw_error("train: not available yet"); };
}
}  // namespace lightpeft::cli
