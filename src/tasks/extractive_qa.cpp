// Extractive QA as a task strategy (tasks/extractive_qa.h).
#include "lightpeft/tasks/extractive_qa.h"

#include <optional>

#include <ATen/ops/cross_entropy_loss.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/data/squad_metrics.h"

namespace lightpeft {

namespace {

// Each window's start/end logits over its own tokens; answers per question at the end.
class QaSplitPredictions : public SplitPredictions {
 public:
  QaSplitPredictions(const ExtractiveQaTask& task, const EncodedSplit& split)
      : task_(task), split_(split), start_(split.examples.size()), end_(split.examples.size()) {
    LP_CHECK(split.windows.size() == split.examples.size(), task.name(), ": ", split.examples.size(),
             " encodings but ", split.windows.size(), " windows");
  }

  void add(const ModelOutput& output, const Batch& batch) override {
    const at::Tensor logits = output.logits.detach().to(at::kCPU, at::kFloat).contiguous();
    LP_CHECK(logits.dim() == 3 && logits.size(2) == 2 && logits.size(0) == static_cast<int64_t>(batch.indices.size()),
             task_.name(), ": expected start/end logits (B, T, 2) for ", batch.indices.size(), " windows, got ",
             logits.sizes());
    const int64_t width = logits.size(1);
    const float* p = logits.data_ptr<float>();
    for (size_t r = 0; r < batch.indices.size(); ++r) {
      const auto item = static_cast<size_t>(batch.indices[r]);
      LP_CHECK(item < start_.size(), task_.name(), ": window ", item, " outside the split's ", start_.size());
      const auto length = std::min<int64_t>(width, static_cast<int64_t>(split_.examples[item].input_ids.size()));
      auto& s = start_[item];
      auto& e = end_[item];
      s.resize(static_cast<size_t>(length));
      e.resize(static_cast<size_t>(length));
      for (int64_t t = 0; t < length; ++t) {
        s[static_cast<size_t>(t)] = p[(static_cast<int64_t>(r) * width + t) * 2];
        e[static_cast<size_t>(t)] = p[(static_cast<int64_t>(r) * width + t) * 2 + 1];
      }
    }
    answers_.reset();
  }

  MetricResult metrics() const override {
    std::vector<SquadGold> gold;
    gold.reserve(split_.questions.size());
    for (const Example& q : split_.questions) {
      SquadGold g{q.id, {}};
      for (const auto& a : q.answers) g.answers.push_back(a.text);
      gold.push_back(std::move(g));
    }
    std::map<std::string, std::string> predicted;
    const auto& a = answers();
    for (size_t i = 0; i < split_.questions.size(); ++i) predicted[split_.questions[i].id] = a[i].text;
    return squad_scores(gold, predicted, task_.version_2() ? SquadVersion::v2 : SquadVersion::v1);
  }

  PredictionFiles files(const std::vector<Example>&) const override {
    // Question order and json.dumps(indent=4)'s ASCII escapes, as HF's files.
    nlohmann::ordered_json predictions = nlohmann::ordered_json::object(), odds = nlohmann::ordered_json::object();
    const auto& a = answers();
    for (size_t i = 0; i < split_.questions.size(); ++i) {
      predictions[split_.questions[i].id] = a[i].text;
      if (a[i].null_score_diff) odds[split_.questions[i].id] = *a[i].null_score_diff;
    }
    PredictionFiles out;
    out.rows = static_cast<int64_t>(split_.questions.size());
    out.files.emplace_back("predictions.json", predictions.dump(4, ' ', true) + "\n");
    if (task_.version_2()) out.files.emplace_back("null_odds.json", odds.dump(4, ' ', true) + "\n");
    for (const auto& x : a) ++out.counts[x.text.empty() ? "no answer" : "answered"];
    return out;
  }

 private:
  const std::vector<QaAnswer>& answers() const {
    if (answers_) return *answers_;
    std::vector<std::vector<WindowLogits>> per_question(split_.questions.size());
    for (size_t i = 0; i < split_.windows.size(); ++i) {
      const QaWindow& w = split_.windows[i];
      LP_CHECK(!start_[i].empty(), task_.name(), ": window ", i, " of question '",
               split_.questions.at(static_cast<size_t>(w.example)).id, "' was not evaluated");
      per_question.at(static_cast<size_t>(w.example))
          .push_back(WindowLogits{&w, start_[i].data(), end_[i].data(), static_cast<int64_t>(start_[i].size())});
    }
    std::vector<QaAnswer> out;
    out.reserve(per_question.size());
    for (size_t q = 0; q < per_question.size(); ++q)
      out.push_back(postprocess_qa(*split_.questions[q].text_pair, per_question[q], task_.options().answers));
    answers_ = std::move(out);
    return *answers_;
  }

  const ExtractiveQaTask& task_;
  const EncodedSplit& split_;
  std::vector<std::vector<float>> start_, end_;  // per window, over its tokens
  mutable std::optional<std::vector<QaAnswer>> answers_;
};

}  // namespace

ExtractiveQaTask::ExtractiveQaTask(TaskSpec spec, std::shared_ptr<const RowSource> source, ExtractiveQaOptions options)
    : Task(std::move(spec), std::move(source)), options_(options) {
  LP_CHECK(options_.doc_stride >= 0, name(), ": doc_stride must be >= 0, got ", options_.doc_stride);
  LP_CHECK(options_.answers.n_best_size > 0, name(), ": n_best_size must be positive");
  LP_CHECK(options_.answers.max_answer_length > 0, name(), ": max_answer_length must be positive");
}

EncodedSplit ExtractiveQaTask::encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                                      int64_t max_length) const {
  EncodedSplit out;
  out.questions = rows;
  QaWindowOptions w;
  w.max_length = max_length;
  w.doc_stride = options_.doc_stride;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Example& q = rows[i];
    LP_CHECK(q.text_pair.has_value(), name(), ": question '", q.id, "' has no context");
    // run_qa labels with the first gold answer.
    const SpanAnswer* answer = q.has_label && !q.answers.empty() ? &q.answers.front() : nullptr;
    std::vector<QaFeature> features;
    try {
      features = encode_qa_windows(tokenizer, q.text, *q.text_pair, answer, w);
    } catch (const Error& e) {
      throw_error(name(), ": question '", q.id, "': ", e.what());
    }
    for (QaFeature& f : features) {
      f.window.example = static_cast<int64_t>(i);
      out.examples.push_back(std::move(f.input));
      out.windows.push_back(std::move(f.window));
    }
  }
  return out;
}

at::Tensor ExtractiveQaTask::loss(const ModelOutput& output, const Batch& batch) const {
  LP_CHECK(batch.label_positions.defined() && batch.label_positions.size(1) == 2, name(),
           ": the batch has no start/end positions");
  const at::Tensor logits = output.logits.to(at::kFloat);
  const at::Tensor start = logits.select(-1, 0), end = logits.select(-1, 1);  // (B, T)
  // As ...ForQuestionAnswering: positions clamped to [0, T], T itself ignored.
  const int64_t ignored = start.size(1);
  const at::Tensor positions = batch.label_positions.to(logits.device()).clamp(0, ignored);
  const at::Tensor start_loss =
      at::cross_entropy_loss(start, positions.select(1, 0), {}, at::Reduction::Mean, ignored);
  const at::Tensor end_loss = at::cross_entropy_loss(end, positions.select(1, 1), {}, at::Reduction::Mean, ignored);
  return (start_loss + end_loss) / 2;
}

std::vector<double> ExtractiveQaTask::predict(const ModelOutput&, const Batch&) const {
  throw_error(name(), ": extractive QA answers per question over its windows (start_predictions), not per item");
}

std::unique_ptr<SplitPredictions> ExtractiveQaTask::start_predictions(const EncodedSplit& split) const {
  return std::make_unique<QaSplitPredictions>(*this, split);
}

}  // namespace lightpeft
