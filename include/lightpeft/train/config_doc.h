#pragma once
// docs/configuration.md, generated from the config schema (every key's name, type, default, allowed
// values and meaning, as train_config.cpp declares them) with the prose around it. `lightpeft
// config-doc > docs/configuration.md` regenerates the file; a test checks the committed one is current.
#include <string>

namespace lightpeft {

std::string config_reference_markdown();

}  // namespace lightpeft
