// `lightpeft export --run DIR --merge --out DIR`: a finished run as a plain HF-layout model with
// LoRA merged into the (pruned) weights.
#include <iostream>

#include "commands.h"
#include "lightpeft/core/error.h"
#include "lightpeft/train/export.h"

namespace lightpeft::cli {

Runner add_export(CLI::App& app) {
  struct Args {
    std::string run, out, which = "final";
    bool merge = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--run", a->run, "output_dir of a finished `lightpeft train` run")->required();
  app.add_option("--out", a->out, "directory for the exported model")->required();
  app.add_option("--checkpoint", a->which, "final or best")->check(CLI::IsMember({"final", "best"}))
      ->capture_default_str();
  app.add_flag("--merge", a->merge, "merge LoRA into the weights (required: the only export there is)");
  return [a]() {
    LP_CHECK(a->merge, "export: pass --merge (a merged HF-layout model is what export writes; the "
                       "unmerged adapter is already in <run>/finetune/", a->which, ")");
    export_merged_model(a->run, a->out, a->which);
    std::cout << a->out << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
