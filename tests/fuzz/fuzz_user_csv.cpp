// A user task's CSV or TSV file -> infer_label_names + load_user_file. The first byte picks the
// format, pair/regression and whether bad rows are skipped.
#include "fuzz_support.h"
#include "lightpeft/data/user_task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  auto path = lightpeft::fuzz::write_scratch((pick & 1) ? "data.tsv" : "data.csv", data + 1, size - 1);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    lightpeft::UserTaskSpec spec;
    spec.format = (pick & 1) ? lightpeft::UserFileFormat::tsv : lightpeft::UserFileFormat::csv;
    spec.text_pair_column = (pick & 2) ? "text2" : "";
    spec.regression = (pick & 4) != 0;
    lightpeft::LoadOptions options;
    options.skip_bad_rows = (pick & 8) != 0;
    if (!spec.regression) spec.label_names = lightpeft::infer_label_names(path, spec);
    (void)lightpeft::load_user_file(path, spec, options);
  });
  return 0;
}
