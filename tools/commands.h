#pragma once
// Subcommands of the `lightpeft` CLI. Each registers its options on the app and returns the
// function that runs it (0 on success).
#include <functional>

#include <CLI/CLI.hpp>

namespace lightpeft::cli {

using Runner = std::function<int()>;

Runner add_info(CLI::App& app);
Runner add_init_model(CLI::App& app);
Runner add_train(CLI::App& app);
Runner add_export(CLI::App& app);
Runner add_eval(CLI::App& app);
Runner add_predict(CLI::App& app);
Runner add_prune(CLI::App& app);
Runner add_report(CLI::App& app);
Runner add_generate(CLI::App& app);
Runner add_config_doc(CLI::App& app);

}  // namespace lightpeft::cli
