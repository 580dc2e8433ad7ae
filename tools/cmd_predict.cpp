// `lightpeft predict --config CONFIG.yaml --out FILE [--split test] [--checkpoint final|best]`:
// predictions of the finished run for the unlabelled test rows, in the benchmark's submission
// format (GLUE's TSV; SQuAD's {"id": "answer"} JSON); for decoders' generative tasks (instruction,
// commonsense) JSON Lines of generated responses and scored choices, with the metrics where the
// rows are labelled.
#include <iostream>

#include "commands.h"
#include "config_options.h"
#include "lightpeft/train/inference.h"

namespace lightpeft::cli {

Runner add_predict(CLI::App& app) {
  struct Args {
    std::string out, split = "test", which = "final";
  };
  auto config = add_config_options(app);
  auto a = std::make_shared<Args>();
  app.add_option("--out", a->out,
                 "the file to write: a TSV (index<TAB>prediction per row); for SQuAD a JSON {id: answer}; JSON "
                 "Lines for instruction and commonsense decoders")
      ->required();
  app.add_option("--split", a->split,
                 "test (MNLI: test or test_mismatched; task user: user_task.test_file; SQuAD and instruction: "
                 "test or dev)")
      ->capture_default_str();
  app.add_option("--checkpoint", a->which, "final or best (output_dir/finetune/<which>)")
      ->check(CLI::IsMember({"final", "best"}))
      ->capture_default_str();
  return [config, a]() {
    const PredictionSummary s = predict_run(config->load(), a->out, a->which, a->split);
    std::cout << s.rows << " predictions -> " << s.file.string();
    for (const auto& f : s.other_files) std::cout << ", " << f.string();
    if (!s.metrics.empty()) {
      std::cout << " (";
      bool first = true;
      for (const auto& [name, v] : s.metrics) std::cout << (first ? "" : ", ") << name << " " << v, first = false;
      std::cout << ")";
    }
    if (!s.counts.empty()) {
      std::cout << " (";
      bool first = true;
      for (const auto& [label, n] : s.counts) std::cout << (first ? "" : ", ") << label << " " << n, first = false;
      std::cout << ")";
    }
    std::cout << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
