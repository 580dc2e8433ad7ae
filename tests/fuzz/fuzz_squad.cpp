// A SQuAD JSON file -> the reader, then for every question it accepts: windows over a tiny
// WordPiece vocabulary with their labels, the answer post-processing on logits drawn from the input's
// bytes, and the official normalisation and EM/F1 of each gold answer against the context. The first
// byte picks skip_bad_rows (0x01), a test file (0x02: no answers read), SQuAD v2 (0x04) and the
// window size (bits 4-7: max_length 8 + 2n, doc_stride n / 2).
#include <algorithm>
#include <map>

#include "fuzz_support.h"
#include "lightpeft/data/qa_postprocess.h"
#include "lightpeft/data/qa_windows.h"
#include "lightpeft/data/squad.h"
#include "lightpeft/data/squad_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightpeft;
  if (size == 0) return 0;
  static const std::unique_ptr<Tokenizer> tokenizer = [] {
    const auto vocab = fuzz::scratch_dir() / "vocab.txt";
    const std::string words = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n.\n,\n?\nwho\n##s\ncafe\n";
    fuzz::write_scratch("vocab.txt", reinterpret_cast<const uint8_t*>(words.data()), words.size());
    return load_tokenizer(vocab);
  }();
  const uint8_t pick = data[0];
  const int64_t n = pick >> 4;
  const QaWindowOptions windows{8 + 2 * n, n / 2};
  QaPostprocessOptions answers;
  answers.version_2_with_negative = (pick & 0x04) != 0;
  answers.n_best_size = 1 + n;
  answers.max_answer_length = 1 + n / 3;
  fuzz::refuse_only_with_lightpeft_errors([&] {
    LoadOptions options;
    options.skip_bad_rows = (pick & 0x01) != 0;
    options.max_examples = 64;
    const bool labelled = (pick & 0x02) == 0;
    const auto rows = parse_squad_json(fuzz::as_string(data + 1, size - 1), "squad.json", options, labelled);
    std::vector<SquadGold> gold;
    std::map<std::string, std::string> predicted;
    size_t byte = 1;
    for (const Example& q : rows) {
      // The reader promises answers that sit where they say.
      for (const SpanAnswer& a : q.answers)
        if (q.text_pair->compare(static_cast<size_t>(a.start), a.text.size(), a.text) != 0) std::abort();
      std::vector<QaFeature> features;
      try {
        features = encode_qa_windows(*tokenizer, q.text, *q.text_pair, q.answers.empty() ? nullptr : &q.answers[0], windows);
      } catch (const Error&) {
        continue;  // no room for this question's context: refused, as HF does
      }
      std::vector<std::vector<float>> logits;
      std::vector<WindowLogits> per_window;
      for (const QaFeature& f : features) {
        const auto length = static_cast<int64_t>(f.input.input_ids.size());
        if (f.input.label_positions[0] > f.input.label_positions[1] || f.input.label_positions[1] >= length) std::abort();
        std::vector<float> l(static_cast<size_t>(2 * length));
        for (float& x : l) x = static_cast<float>(data[byte++ % size]) / 16.0f - 8.0f;
        logits.push_back(std::move(l));
      }
      for (size_t w = 0; w < features.size(); ++w) {
        const auto length = static_cast<int64_t>(features[w].input.input_ids.size());
        per_window.push_back({&features[w].window, logits[w].data(), logits[w].data() + length, length});
      }
      const QaAnswer a = postprocess_qa(*q.text_pair, per_window, answers);
      predicted[q.id] = a.text;
      SquadGold g{q.id, {}};
      for (const SpanAnswer& s : q.answers) g.answers.push_back(s.text);
      for (const std::string& t : g.answers) {
        (void)squad_f1(t, a.text, SquadVersion::v1);
        (void)squad_f1(t, *q.text_pair, SquadVersion::v2);
      }
      if (labelled && (answers.version_2_with_negative || !g.answers.empty())) gold.push_back(std::move(g));
    }
    if (!gold.empty())
      (void)squad_scores(gold, predicted, answers.version_2_with_negative ? SquadVersion::v2 : SquadVersion::v1);
  });
  return 0;
}
