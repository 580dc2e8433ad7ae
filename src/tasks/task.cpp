#include "lightpeft/tasks/task.h"

#include <iomanip>
#include <limits>
#include <sstream>

#include <ATen/ops/argmax.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/mse_loss.h>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

EncodedExample encode_one(const Tokenizer& tok, const std::string& text, const std::string* pair,
                          int64_t max_length, float label) {
  EncodeOptions opt;
  opt.max_length = max_length;
  Encoding e = tok.encode(text, pair, opt);
  EncodedExample out;
  out.input_ids = std::move(e.input_ids);
  out.token_type_ids = std::move(e.token_type_ids);
  out.label = label;
  return out;
}

std::vector<double> to_doubles(const at::Tensor& t) {
  auto p = t.to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
}

// One prediction and one label per item, in item order.
class ItemPredictions : public SplitPredictions {
 public:
  ItemPredictions(const Task& task, const EncodedSplit& split)
      : task_(task), split_(split), items_(static_cast<int64_t>(split.examples.size()) / task.choices_per_item()) {
    predictions_.assign(static_cast<size_t>(items_), 0.0);
    labels_.assign(static_cast<size_t>(items_), 0.0);
  }

  void add(const ModelOutput& output, const Batch& batch) override {
    const std::vector<double> p = task_.predict(output, batch), l = task_.labels(batch);
    LP_CHECK(p.size() == batch.indices.size() && l.size() == batch.indices.size(), task_.name(), ": ", p.size(),
             " predictions and ", l.size(), " labels for a batch of ", batch.indices.size(), " items");
    for (size_t i = 0; i < p.size(); ++i) {
      const int64_t item = batch.indices[i];
      LP_CHECK(item >= 0 && item < items_, task_.name(), ": item ", item, " outside the split's ", items_);
      predictions_[static_cast<size_t>(item)] = p[i];
      labels_[static_cast<size_t>(item)] = l[i];
    }
  }

  MetricResult metrics() const override { return task_.metrics(predictions_, labels_, split_); }

  PredictionFiles files(const std::vector<Example>& rows) const override {
    LP_CHECK(static_cast<int64_t>(rows.size()) == items_, task_.name(), ": ", items_, " predictions for ",
             rows.size(), " rows");
    PredictionFiles out;
    out.rows = items_;
    std::string tsv = "index\tprediction\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string label = task_.format_prediction(predictions_[i]);
      if (!task_.float_labels() && !task_.spec().label_names.empty()) ++out.counts[label];
      tsv += std::to_string(rows[i].index) + "\t" + label + "\n";
    }
    out.files.emplace_back("predictions.tsv", std::move(tsv));
    return out;
  }

 private:
  const Task& task_;
  const EncodedSplit& split_;
  int64_t items_;
  std::vector<double> predictions_, labels_;
};

}  // namespace

Task::Task(TaskSpec spec, std::shared_ptr<const RowSource> source)
    : spec_(std::move(spec)), source_(std::move(source)) {
  LP_CHECK(source_ != nullptr, "task '", spec_.name, "': no row source");
}

Task::~Task() = default;

Split RowSource::prediction_split(const std::string& requested) const {
  const Split split = parse_split(requested);
  check_files({split});
  return split;
}

EncodedSplit Task::encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                          int64_t max_length) const {
  EncodedSplit out;
  out.examples.reserve(rows.size());
  for (const auto& ex : rows) {
    out.examples.push_back(
        encode_one(tokenizer, ex.text, ex.text_pair ? &*ex.text_pair : nullptr, max_length, ex.label));
    if (ex.group >= 0) out.groups.push_back(ex.group);
  }
  return out;
}

std::unique_ptr<SplitPredictions> Task::start_predictions(const EncodedSplit& split) const {
  return std::make_unique<ItemPredictions>(*this, split);
}

at::Tensor Task::item_logits(const ModelOutput& output, const Batch&) const { return output.logits; }

at::Tensor Task::loss(const ModelOutput& output, const Batch& batch) const {
  auto l = item_logits(output, batch).to(at::kFloat);
  return at::cross_entropy_loss(l, batch.labels.to(l.device(), at::kLong));
}

std::vector<double> Task::predict(const ModelOutput& output, const Batch& batch) const {
  return to_doubles(at::argmax(item_logits(output, batch), -1));
}

std::vector<double> Task::labels(const Batch& batch) const { return to_doubles(batch.labels); }

MetricResult Task::metrics(const std::vector<double>& predictions, const std::vector<double>& labels,
                           const EncodedSplit&) const {
  return compute_metrics(spec_, predictions, labels);
}

std::string Task::format_prediction(double value) const {
  const auto id = static_cast<size_t>(value);
  LP_CHECK(value >= 0 && id < spec_.label_names.size(), spec_.name, ": predicted class ", value,
           " outside the ", spec_.label_names.size(), " labels");
  return spec_.label_names[id];
}

at::Tensor RegressionTask::loss(const ModelOutput& output, const Batch& batch) const {
  auto l = output.logits.to(at::kFloat);
  return at::mse_loss(l.squeeze(-1), batch.labels.to(l.device(), at::kFloat));
}

std::vector<double> RegressionTask::predict(const ModelOutput& output, const Batch&) const {
  return to_doubles(output.logits.squeeze(-1));
}

std::string RegressionTask::format_prediction(double value) const {
  std::ostringstream os;
  os << std::setprecision(6) << value;
  return os.str();
}

TaskEvaluation Task::evaluate_split(const EncodedSplit&, const TaskEvalContext&) const {
  throw_error("task '", spec_.name, "' is evaluated by the trainer's batch loop, not by itself");
}

MultipleChoiceTask::MultipleChoiceTask(TaskSpec spec, std::shared_ptr<const RowSource> source,
                                       int64_t choices, bool fewer_choices)
    : Task(std::move(spec), std::move(source)), choices_(choices), fewer_choices_(fewer_choices) {
  LP_CHECK(choices_ >= 2, "task '", spec_.name, "': multiple choice needs at least 2 choices");
}

EncodedSplit MultipleChoiceTask::encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                                        int64_t max_length) const {
  EncodedSplit out;
  for (const auto& ex : rows) {
    const auto n = static_cast<int64_t>(ex.choices.size());
    const std::string where = ex.line > 0 ? "line " + std::to_string(ex.line) : "index " + std::to_string(ex.index);
    LP_CHECK(n == choices_ || (fewer_choices_ && n >= 2 && n < choices_), spec_.name, ": row at ", where, " has ", n,
             " choices, expected ", fewer_choices_ ? "2 to " : "", choices_);
    LP_CHECK(!ex.has_label || (ex.label >= 0 && ex.label < n), spec_.name, ": row at ", where, " has label ",
             ex.label, " outside its ", n, " choices");
    // One encoding per choice; the label (the right choice) rides on the first.
    for (const auto& choice : ex.choices)
      out.examples.push_back(encode_one(tokenizer, ex.text, &choice, max_length, ex.label));
    for (int64_t k = n; k < choices_; ++k) {  // fillers: the text alone, masked out
      out.examples.push_back(encode_one(tokenizer, ex.text, nullptr, max_length, ex.label));
      out.examples.back().filler_choice = true;
    }
  }
  return out;
}

at::Tensor MultipleChoiceTask::item_logits(const ModelOutput& output, const Batch& batch) const {
  auto logits = output.logits.reshape({static_cast<int64_t>(batch.indices.size()), -1});
  if (batch.choice_mask.defined())  // fillers can never win nor take probability
    logits = logits.masked_fill(batch.choice_mask.to(logits.device()).logical_not(),
                                -std::numeric_limits<double>::infinity());
  return logits;
}

std::string MultipleChoiceTask::format_prediction(double value) const {
  const auto id = static_cast<int64_t>(value);
  if (id >= 0 && id < static_cast<int64_t>(spec_.label_names.size())) return spec_.label_names[static_cast<size_t>(id)];
  return std::to_string(id);
}

MetricResult GroupedAnswersTask::metrics(const std::vector<double>& predictions,
                                         const std::vector<double>& labels,
                                         const EncodedSplit& split) const {
  return compute_metrics(spec_, predictions, labels, split.groups);
}

}  // namespace lightpeft
