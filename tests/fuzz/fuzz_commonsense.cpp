// An LLM-Adapters commonsense instruction -> the question/choice parser of the set the first byte
// picks (data/commonsense.h); what it accepts has at least two choices, every one a substring of the
// instruction. The same text as the instruction of a one-row file -> the loader (bad rows skipped).
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "lightpeft/data/commonsense.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightpeft;
  if (size == 0) return 0;
  const auto set = static_cast<CommonsenseSet>(data[0] % 7);
  const std::string text = fuzz::as_string(data + 1, size - 1);
  fuzz::refuse_only_with_lightpeft_errors([&] {
    const CommonsenseQuestion q = parse_commonsense_question(set, text);
    if (q.choices.size() < 2) __builtin_trap();
    for (const auto& c : q.choices)
      if (set != CommonsenseSet::boolq && text.find(c) == std::string::npos) __builtin_trap();
    (void)commonsense_answer_labels(set, q.choices.size());
  });
  fuzz::refuse_only_with_lightpeft_errors([&] {
    const nlohmann::json rows = nlohmann::json::array(
        {{{"instruction", text}, {"input", ""}, {"output", "the correct answer is true"}, {"answer", "true"}}});
    const std::string bytes = rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto file = fuzz::write_scratch("test.json", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    LoadOptions skip;
    skip.skip_bad_rows = true;
    (void)load_commonsense_file(set, file, skip);
  });
  return 0;
}
