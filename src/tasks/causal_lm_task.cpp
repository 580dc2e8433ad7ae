// Instruction tuning of decoders (tasks/causal_lm_task.h).
#include "lightpeft/tasks/causal_lm_task.h"

#include <cmath>

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/nonzero.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/generation/generate.h"
#include "lightpeft/tasks/causal_lm_encoding.h"

namespace lightpeft {
namespace {

// HF's shifted labels: position t predicts the label at t + 1; the last predicts nothing.
at::Tensor shifted_labels(const at::Tensor& labels, const c10::Device& device) {
  return at::constant_pad_nd(labels.to(device, at::kLong), {0, 1}, kIgnoreLabel).slice(1, 1);
}

}  // namespace

ModelInputs causal_lm_inputs(const Batch& batch, const c10::Device& device) {
  ModelInputs in;
  in.input_ids = batch.input_ids.to(device);
  in.attention_mask = batch.attention_mask.to(device);
  if (batch.segment_ids.defined()) in.segment_ids = batch.segment_ids.to(device);
  return in;
}

CausalLmTask::CausalLmTask(TaskSpec spec, std::shared_ptr<const RowSource> source, CausalLmTaskOptions options)
    : Task(std::move(spec), std::move(source)), options_(options) {
  LP_CHECK(options_.max_new_tokens >= 1, "task '", spec_.name, "': max_new_tokens must be >= 1");
}

void CausalLmTask::encode_rows(const std::vector<Example>& rows, const Tokenizer& tokenizer, int64_t max_length,
                               EncodedSplit& out, CausalLmRows& kept) const {
  int64_t truncated = 0, cut = 0;
  out.examples.reserve(out.examples.size() + rows.size());
  for (const Example& ex : rows) {
    const std::string where = ex.line > 0 ? "line " + std::to_string(ex.line) : "row " + std::to_string(ex.index);
    LP_CHECK(!ex.turns.empty(), spec_.name, ": ", where, " has no (prompt, response) turn");
    LmSequence s = encode_turns(tokenizer, ex.turns, max_length);
    truncated += s.truncated ? 1 : 0;
    cut += s.response_cut ? 1 : 0;
    EncodedExample e;
    e.input_ids = std::move(s.ids);
    e.token_labels = std::move(s.labels);
    out.examples.push_back(std::move(e));
    kept.index.push_back(ex.index);
    kept.prompts.push_back(std::move(s.prompt));
    kept.references.push_back(ex.turns.back().response);
  }
  if (truncated > 0)
    log::warn(spec_.name, ": ", truncated, " of ", rows.size(), " rows are longer than max_seq_length ", max_length,
              " and lost tokens from their start", cut > 0 ? "; in " + std::to_string(cut) + " the response itself was cut at its end" : "");
}

EncodedSplit CausalLmTask::encode(const std::vector<Example>& rows, const Tokenizer& tokenizer, int64_t max_length) const {
  EncodedSplit out;
  auto kept = std::make_shared<CausalLmRows>();
  encode_rows(rows, tokenizer, max_length, out, *kept);
  out.rows = kept;
  return out;
}

void request_causal_lm_loss(ModelInputs& inputs, const at::Tensor& labels) {
  const at::Tensor target = shifted_labels(labels, inputs.input_ids.device());
  inputs.logits_mask = target.ne(kIgnoreLabel);
  // The labelled positions' targets in row-major order, the order in which the head picks their
  // hidden states.
  inputs.loss_targets = target.reshape({-1}).masked_select(inputs.logits_mask.reshape({-1}));
}

void CausalLmTask::prepare_inputs(ModelInputs& inputs, const Batch& batch) const {
  LP_CHECK(batch.token_labels.defined(), spec_.name, ": the batch has no token labels");
  request_causal_lm_loss(inputs, batch.token_labels);
}

at::Tensor CausalLmTask::loss(const ModelOutput& output, const Batch& batch) const {
  LP_CHECK(batch.token_labels.defined(), spec_.name, ": the batch has no token labels");
  if (output.loss.defined()) return output.loss;
  if (output.logits.dim() == 3) return causal_lm_loss(output.logits, batch.token_labels);
  // Logits of the labelled positions (a caller that set logits_mask alone), in row-major order: their
  // targets in the same order.
  const at::Tensor target = shifted_labels(batch.token_labels, output.logits.device());
  const at::Tensor picked = target.reshape({-1}).index_select(0, at::nonzero(target.reshape({-1}).ne(kIgnoreLabel)).squeeze(1));
  LP_CHECK(picked.size(0) == output.logits.size(0), spec_.name, ": ", output.logits.size(0),
           " logit rows for ", picked.size(0), " labelled positions");
  return at::cross_entropy_loss(output.logits.to(at::kFloat), picked);
}

std::vector<double> CausalLmTask::predict(const ModelOutput& output, const Batch& batch) const {
  const at::Tensor logits = output.logits.to(at::kFloat);
  const at::Tensor target = shifted_labels(batch.token_labels, logits.device());
  const at::Tensor per_token =
      at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), target.reshape({-1}), {}, at::Reduction::None, kIgnoreLabel)
          .reshape(target.sizes());
  const at::Tensor counted = target.ne(kIgnoreLabel);
  const at::Tensor mean = (per_token.sum(1) / counted.sum(1).to(at::kFloat)).to(at::kCPU, at::kDouble).contiguous();
  return std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
}

double CausalLmTask::split_loss(const TaskEvalContext& ctx) const {
  LP_CHECK(ctx.model != nullptr && ctx.batcher != nullptr, spec_.name, ": evaluation needs a model and a batcher");
  const auto device = ctx.model->parameters().front().device();
  double sum = 0.0;
  int64_t count = 0;
  auto stream = ctx.batcher->stream(/*epoch=*/0);
  while (auto batch = stream.next()) {
    ModelInputs in = causal_lm_inputs(*batch, device);
    prepare_inputs(in, *batch);  // the head's loss over the labelled positions only
    const auto n = in.loss_targets.size(0);
    if (n == 0) continue;
    const ModelOutput out = ctx.model->forward(in, ctx.masks);
    sum += loss(out, *batch).item<double>() * static_cast<double>(n);
    count += n;
  }
  LP_CHECK(count > 0, spec_.name, ": the split has no response token to compute a loss on");
  return sum / static_cast<double>(count);
}

std::vector<std::string> CausalLmTask::generate_responses(const std::vector<std::vector<int64_t>>& prompts,
                                                          const TaskEvalContext& ctx, int64_t max_new_tokens) const {
  LP_CHECK(ctx.model != nullptr && ctx.tokenizer != nullptr, spec_.name, ": generation needs a model and a tokenizer");
  GenerationConfig config;
  config.max_new_tokens = max_new_tokens;
  std::vector<std::string> out;
  out.reserve(prompts.size());
  const auto step = static_cast<size_t>(std::max<int64_t>(ctx.batch_size, 1));
  for (size_t start = 0; start < prompts.size(); start += step) {
    const std::vector<std::vector<int64_t>> batch(prompts.begin() + static_cast<std::ptrdiff_t>(start),
                                                  prompts.begin() + static_cast<std::ptrdiff_t>(std::min(prompts.size(), start + step)));
    for (const auto& tokens : generate(*ctx.model, batch, config).tokens)
      out.push_back(ctx.tokenizer->decode(tokens, /*skip_special_tokens=*/true));
  }
  return out;
}

TaskEvaluation CausalLmTask::evaluate_split(const EncodedSplit& split, const TaskEvalContext& ctx) const {
  const auto* kept = dynamic_cast<const CausalLmRows*>(split.rows.get());
  LP_CHECK(kept != nullptr, spec_.name, ": the split was not encoded by this task");
  TaskEvaluation r;
  r.loss = split_loss(ctx);
  r.examples = static_cast<int64_t>(kept->prompts.size());
  r.metrics.values["negative_loss"] = -r.loss;
  r.metrics.values["perplexity"] = std::exp(r.loss);
  r.metrics.headline = "negative_loss";
  if (ctx.predictions) {
    const std::vector<std::string> responses = generate_responses(kept->prompts, ctx, options_.max_new_tokens);
    for (size_t i = 0; i < responses.size(); ++i) {
      const nlohmann::json row = {{"index", kept->index[i]}, {"response", responses[i]}, {"reference", kept->references[i]}};
      r.rows.push_back(row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  return r;
}

}  // namespace lightpeft
