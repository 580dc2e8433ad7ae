// The commonsense suite as tasks: decoders' log-likelihood and generation evaluation, encoders'
// heads (tasks/commonsense_task.h).
#include "lightpeft/tasks/commonsense_task.h"

#include <map>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/tasks/answer_extraction.h"

namespace lightpeft {
namespace {

std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// numpy's argmax: the first of equal maxima.
size_t argmax(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

// HF's ...ForMultipleChoice (COPA's older MultipleChoiceTask keeps its classification head).
class ChoiceHeadTask : public MultipleChoiceTask {
 public:
  using MultipleChoiceTask::MultipleChoiceTask;
  HeadKind head() const override { return HeadKind::multiple_choice; }
};

}  // namespace

std::vector<std::pair<std::string, std::string>> choice_continuations(CommonsenseSet set, const std::string& question,
                                                                      const std::vector<std::string>& choices) {
  std::vector<std::pair<std::string, std::string>> out;
  if (set == CommonsenseSet::winogrande) {
    // lm-eval's winogrande: partial evaluation of the sentence after the blank.
    const size_t blank = question.find('_');
    LP_CHECK(blank != std::string::npos, "winogrande: the sentence has no blank '_'");
    const std::string rest = " " + strip(question.substr(blank + 1));
    for (const auto& option : choices) out.emplace_back(question.substr(0, blank) + option, rest);
    return out;
  }
  const std::string context = "Question: " + question + "\nAnswer:";
  for (const auto& choice : choices) out.emplace_back(context, " " + choice);
  return out;
}

CommonsenseLmTask::CommonsenseLmTask(TaskSpec spec, std::shared_ptr<const RowSource> source, CommonsenseTaskOptions options)
    : CausalLmTask(std::move(spec), std::move(source), CausalLmTaskOptions{options.max_new_tokens}), commonsense_(options) {}

EncodedSplit CommonsenseLmTask::encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                                       int64_t max_length) const {
  EncodedSplit out;
  auto kept = std::make_shared<CommonsenseRows>();
  encode_rows(rows, tokenizer, max_length, out, *kept);
  kept->max_length = max_length;
  for (const Example& ex : rows) {
    CommonsenseItem item;
    const auto set = ex.subset.empty() ? std::nullopt : find_commonsense_set(ex.subset);
    if (set && !ex.choices.empty() && ex.has_label) {
      item.set = *set;
      item.scored = true;
      item.answer = ex.answer;
      item.label = static_cast<int64_t>(ex.label);
      item.question = ex.text;
      item.choices = ex.choices;
    }
    kept->items.push_back(std::move(item));
  }
  out.rows = kept;
  return out;
}

MetricResult commonsense_metrics(const std::vector<CommonsenseOutcome>& outcomes) {
  LP_CHECK(!outcomes.empty(), "commonsense: no question to compute metrics on");
  struct Counts {
    int64_t n = 0, correct = 0, norm = 0, generated = 0, gen_correct = 0, no_answer = 0;
  };
  std::map<CommonsenseSet, Counts> by_set;
  for (const auto& o : outcomes) {
    Counts& c = by_set[o.set];
    ++c.n;
    c.correct += o.correct;
    c.norm += o.correct_norm;
    c.generated += o.generated;
    c.gen_correct += o.generation_correct;
    c.no_answer += o.generation_no_answer;
  }
  MetricResult m;
  m.headline = "accuracy";
  std::map<std::string, double> sums;
  for (const auto& [set, c] : by_set) {
    std::map<std::string, double> v;
    v["accuracy"] = static_cast<double>(c.correct) / static_cast<double>(c.n);
    v["accuracy_norm"] = static_cast<double>(c.norm) / static_cast<double>(c.n);
    if (c.generated > 0) {
      v["generation_accuracy"] = static_cast<double>(c.gen_correct) / static_cast<double>(c.generated);
      v["generation_no_answer"] = static_cast<double>(c.no_answer) / static_cast<double>(c.generated);
    }
    const std::string prefix = by_set.size() > 1 ? commonsense_set_info(set).name + "/" : "";
    for (const auto& [k, x] : v) {
      m.values[prefix + k] = x;
      sums[k] += x;
    }
  }
  if (by_set.size() > 1)  // the suite's score: the plain mean over the sets
    for (const auto& [k, x] : sums) m.values[k] = x / static_cast<double>(by_set.size());
  return m;
}

std::vector<QuestionScores> score_questions(TaskModelImpl& model, const Tokenizer& tokenizer,
                                            const std::vector<CommonsenseItem>& items, int64_t max_length,
                                            const ScoringOptions& options) {
  std::vector<ContinuationRequest> requests;
  std::vector<size_t> first;  // per item: its first request
  std::vector<int64_t> bytes;
  int64_t group = 0;
  for (const CommonsenseItem& item : items) {
    first.push_back(requests.size());
    if (!item.scored) continue;
    const bool shared = item.set != CommonsenseSet::winogrande;  // one context for all choices
    for (const auto& [context, continuation] : choice_continuations(item.set, item.question, item.choices)) {
      ContinuationRequest q = encode_continuation(tokenizer, context, continuation, max_length);
      q.group = group;
      if (!shared) ++group;
      requests.push_back(std::move(q));
      bytes.push_back(std::max<int64_t>(1, static_cast<int64_t>(continuation.size()) - 1));  // without the " "
    }
    if (shared) ++group;
  }
  first.push_back(requests.size());
  LP_CHECK(!requests.empty(), "commonsense: no question to score (rows of plain instruction files only)");
  const std::vector<ContinuationScore> scores = score_continuations(model, requests, options);
  std::vector<QuestionScores> out(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].scored) continue;
    for (size_t q = first[i]; q < first[i + 1]; ++q) {
      out[i].loglikelihoods.push_back(scores[q].loglikelihood);
      out[i].per_byte.push_back(scores[q].loglikelihood / static_cast<double>(bytes[q]));
    }
    out[i].prediction = argmax(out[i].loglikelihoods);
    out[i].prediction_norm = argmax(out[i].per_byte);
  }
  return out;
}

TaskEvaluation CommonsenseLmTask::evaluate_split(const EncodedSplit& split, const TaskEvalContext& ctx) const {
  const auto* kept = dynamic_cast<const CommonsenseRows*>(split.rows.get());
  LP_CHECK(kept != nullptr, spec_.name, ": the split was not encoded by this task");
  LP_CHECK(ctx.model != nullptr && ctx.tokenizer != nullptr, spec_.name, ": evaluation needs a model and a tokenizer");
  TaskEvaluation r;
  r.loss = split_loss(ctx);

  ScoringOptions scoring;
  scoring.batch_size = ctx.batch_size;
  scoring.masks = ctx.masks;
  const std::vector<QuestionScores> scores = score_questions(*ctx.model, *ctx.tokenizer, kept->items, kept->max_length, scoring);

  // Generation and answer extraction.
  std::vector<std::string> responses;
  if (commonsense_.generation_eval) {
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = 0; i < kept->items.size(); ++i)
      if (kept->items[i].scored) prompts.push_back(kept->prompts[i]);
    responses = generate_responses(prompts, ctx, commonsense_.max_new_tokens);
  }

  std::vector<CommonsenseOutcome> outcomes;
  size_t generated = 0;
  for (size_t i = 0; i < kept->items.size(); ++i) {
    const CommonsenseItem& item = kept->items[i];
    if (!item.scored) continue;
    const size_t pick = scores[i].prediction, pick_norm = scores[i].prediction_norm;
    CommonsenseOutcome o;
    o.set = item.set;
    o.correct = static_cast<int64_t>(pick) == item.label;
    o.correct_norm = static_cast<int64_t>(pick_norm) == item.label;
    std::string response, extracted;
    if (commonsense_.generation_eval) {
      response = responses[generated++];
      extracted = extract_answer(item.set, response);
      o.generated = true;
      o.generation_correct = extracted == item.answer;
      o.generation_no_answer = extracted.empty();
    }
    outcomes.push_back(o);
    if (ctx.predictions) {
      const auto labels = commonsense_answer_labels(item.set, item.choices.size());
      nlohmann::json row = {{"index", kept->index[i]},
                            {"set", commonsense_set_info(item.set).name},
                            {"answer", item.answer},
                            {"prediction", labels[pick]},
                            {"prediction_norm", labels[pick_norm]},
                            {"loglikelihoods", scores[i].loglikelihoods}};
      if (commonsense_.generation_eval) {
        row["generated"] = clean_generated_response(response);
        row["generated_answer"] = extracted;
      }
      r.rows.push_back(row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  r.examples = static_cast<int64_t>(outcomes.size());
  r.metrics = commonsense_metrics(outcomes);
  return r;
}

std::unique_ptr<Task> make_commonsense_encoder_task(CommonsenseSet set, std::shared_ptr<const RowSource> source) {
  const CommonsenseSetInfo& info = commonsense_set_info(set);
  TaskSpec spec;
  spec.benchmark = "commonsense";
  spec.metric = "accuracy";
  if (set == CommonsenseSet::boolq) {
    spec.name = "commonsense-boolq";
    spec.label_names = commonsense_answer_labels(set, 2);  // false, true
    return std::make_unique<ClassificationTask>(std::move(spec), std::move(source));
  }
  // The most choices a question of the set has (ARC: 5; its 3- and 4-choice questions get fillers).
  const size_t choices = set == CommonsenseSet::piqa || set == CommonsenseSet::winogrande ? 2
                         : set == CommonsenseSet::social_i_qa                            ? 3
                         : set == CommonsenseSet::openbookqa                             ? 4
                                                                                         : 5;
  spec.name = info.name;
  spec.multiple_choice = true;
  spec.label_names = commonsense_answer_labels(set, choices);
  const bool fewer = set == CommonsenseSet::arc_easy || set == CommonsenseSet::arc_challenge;
  return std::make_unique<ChoiceHeadTask>(std::move(spec), std::move(source), static_cast<int64_t>(choices), fewer);
}

}  // namespace lightpeft
