// A JSONL file -> the SuperGLUE loaders and the user-task JSONL loader. The first byte picks the
// reader (a SuperGLUE task or a user task), the split and whether bad rows are skipped.
#include "fuzz_support.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/user_task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kTasks[] = {"boolq", "cb", "copa", "superglue-rte", "wic", "wsc", "multirc"};
  const uint8_t pick = data[0];
  auto path = lightpeft::fuzz::write_scratch("data.jsonl", data + 1, size - 1);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    lightpeft::LoadOptions options;
    options.skip_bad_rows = (pick & 0x80) != 0;
    const unsigned which = (pick & 0x3f) % 9;
    if (which < 7) {
      const auto split = (pick & 0x40) ? lightpeft::Split::test : lightpeft::Split::dev;
      (void)lightpeft::load_task_file(kTasks[which], path, split, options);
      return;
    }
    lightpeft::UserTaskSpec spec;
    spec.format = lightpeft::UserFileFormat::jsonl;
    spec.text_pair_column = (pick & 0x40) ? "text2" : "";
    spec.regression = which == 8;
    if (!spec.regression) spec.label_names = lightpeft::infer_label_names(path, spec);
    (void)lightpeft::load_user_file(path, spec, options);
  });
  return 0;
}
