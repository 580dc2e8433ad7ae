#include <torch/torch.h>
#include "lightpeft/core/log.h"
#include <CLI/CLI.hpp>
int main() { auto t = torch::ones({2,3}); lightpeft::log::info("sum ", t.sum().item<float>()); return 0; }
