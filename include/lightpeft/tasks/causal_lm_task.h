#pragma once
// Instruction tuning of a decoder (task: instruction): rows are (prompt, response) turns
// (data/prompt_format.h), encoded as tasks/causal_lm_encoding.h says (labels -100 on prompts), the
// loss is HF's shifted causal-LM loss over the response tokens (models/heads.h: causal_lm_loss).
//
// Evaluation (evaluate_split): the loss over every response token of the split (the token-weighted
// mean, not a mean of batch means), its perplexity exp(loss), and the headline `negative_loss`
// (= -loss: the trainer keeps the checkpoint with the larger headline, and a lower loss is better;
// perplexity ranks the same way but is reported, not compared). Predictions (`lightpeft predict`):
// one JSON object per row, {"index", "response" (the greedy generation from the row's prompt, special
// tokens skipped), "reference" (the row's own last response)}.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/tasks/task.h"

namespace lightpeft {

struct CausalLmTaskOptions {
  int64_t max_new_tokens = 128;  // generation for predictions
};

// What a causal LM task keeps of a split: per row its generation prompt and reference response.
struct CausalLmRows : SplitRows {
  std::vector<int64_t> index;                   // the rows' indices in their files
  std::vector<std::vector<int64_t>> prompts;    // the ids before the last response
  std::vector<std::string> references;          // the last response's text
};

class CausalLmTask : public Task {
 public:
  CausalLmTask(TaskSpec spec, std::shared_ptr<const RowSource> source, CausalLmTaskOptions options = {});

  HeadKind head() const override { return HeadKind::causal_lm; }
  int64_t num_labels() const override { return 0; }
  EncodedSplit encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                      int64_t max_length) const override;
  // The loss only where a label follows (a response is a few tokens of a long prompt), computed by
  // the head itself from those positions' hidden states and targets (ModelInputs::loss_targets).
  void prepare_inputs(ModelInputs& inputs, const Batch& batch) const override;
  // The head's loss when prepare_inputs asked for it; else causal_lm_loss on logits of all
  // positions, or cross-entropy on those of the labelled positions.
  at::Tensor loss(const ModelOutput& output, const Batch& batch) const override;
  // Per item: the mean loss over its response tokens (NaN without any), from logits of all positions.
  std::vector<double> predict(const ModelOutput& output, const Batch& batch) const override;

  bool evaluates_itself() const override { return true; }
  TaskEvaluation evaluate_split(const EncodedSplit& split, const TaskEvalContext& context) const override;

 protected:
  // The token-weighted loss over the batcher's items (every batch of ctx.batcher).
  double split_loss(const TaskEvalContext& context) const;
  // Greedy generation from `prompts` in batches of ctx.batch_size, decoded without special tokens.
  std::vector<std::string> generate_responses(const std::vector<std::vector<int64_t>>& prompts,
                                              const TaskEvalContext& context, int64_t max_new_tokens) const;
  // The rows of a split as CausalLmRows fills them (derived tasks add theirs).
  void encode_rows(const std::vector<Example>& rows, const Tokenizer& tokenizer, int64_t max_length,
                   EncodedSplit& out, CausalLmRows& kept) const;

  CausalLmTaskOptions options_;
};

// Moves a batch's inputs (ids, attention mask, packing segments) to `device`.
ModelInputs causal_lm_inputs(const Batch& batch, const c10::Device& device);

// Asks the model for HF's shifted causal LM loss against `labels` (B, T) (kIgnoreLabel where no
// loss is wanted) instead of logits: sets logits_mask and loss_targets, so that the head computes
// the loss from the labelled positions' hidden states alone (ModelOutput::loss).
void request_causal_lm_loss(ModelInputs& inputs, const at::Tensor& labels);

}  // namespace lightpeft
