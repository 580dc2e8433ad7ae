// A GLUE .tsv file -> load_task_file. The first byte picks the task, the split (labelled or test)
// and whether bad rows are skipped; the rest is the file.
#include "fuzz_support.h"
#include "lightpeft/data/glue.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kTasks[] = {"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"};
  const uint8_t pick = data[0];
  auto path = lightpeft::fuzz::write_scratch("data.tsv", data + 1, size - 1);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    lightpeft::LoadOptions options;
    options.skip_bad_rows = (pick & 0x80) != 0;
    const auto split = (pick & 0x40) ? lightpeft::Split::test : lightpeft::Split::dev;
    (void)lightpeft::load_task_file(kTasks[(pick & 0x3f) % 9], path, split, options);
  });
  return 0;
}
