// `lightpeft config-doc` (hidden): prints docs/configuration.md as the config schema generates it.
// Regenerate the committed file with `./build/bin/lightpeft config-doc > docs/configuration.md`.
#include <iostream>

#include "commands.h"
#include "lightpeft/train/config_doc.h"

namespace lightpeft::cli {

Runner add_config_doc(CLI::App& app) {
  app.group("");  // a maintainer's tool, not in --help
  return [] {
    std::cout << config_reference_markdown();
    return 0;
  };
}

}  // namespace lightpeft::cli
