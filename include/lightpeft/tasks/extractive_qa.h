#pragma once
// Extractive question answering (SQuAD v1.1 and v2.0), as HF's run_qa.py does it:
//   - encode: each question with its context, cut into windows of max_length tokens sharing
//     doc_stride context tokens (data/qa_windows.h); an item is a window, labelled with the first
//     gold answer's start and end token (the CLS position 0 when the window does not hold it all or
//     the question is unanswerable);
//   - head: span QA ("qa_outputs", start/end logits per token);
//   - loss: (CE(start logits, start) + CE(end logits, end)) / 2 over all positions of the padded
//     batch, as ...ForQuestionAnswering;
//   - evaluation and prediction: each window's logits over its own tokens, the answer per question
//     chosen over its windows as postprocess_qa_predictions (data/qa_postprocess.h), scored with
//     the official SQuAD EM/F1 (data/squad_metrics.h; v2 adds the HasAns/NoAns splits); the
//     prediction file is SQuAD's {"id": "answer text"} JSON (v2 also null_odds.json: each
//     question's null score minus its best span's).
// One difference from HF with padding (run_qa's default pad_to_max_length): HF's n-best selection
// also ranks the logits of padding positions, which can push real tokens out of its top n_best_size;
// here only the window's tokens are ranked.
#include <memory>

#include "lightpeft/data/qa_postprocess.h"
#include "lightpeft/data/qa_windows.h"
#include "lightpeft/tasks/task.h"

namespace lightpeft {

struct ExtractiveQaOptions {
  int64_t doc_stride = 128;
  // version_2_with_negative (unanswerable questions), n_best_size, max_answer_length and
  // null_score_diff_threshold.
  QaPostprocessOptions answers;
};

class ExtractiveQaTask : public Task {
 public:
  ExtractiveQaTask(TaskSpec spec, std::shared_ptr<const RowSource> source, ExtractiveQaOptions options);

  const ExtractiveQaOptions& options() const { return options_; }
  bool version_2() const { return options_.answers.version_2_with_negative; }

  HeadKind head() const override { return HeadKind::question_answering; }
  int64_t num_labels() const override { return 2; }
  // Throws lightpeft::Error naming the question when max_length leaves its windows no room.
  EncodedSplit encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                      int64_t max_length) const override;
  at::Tensor loss(const ModelOutput& output, const Batch& batch) const override;
  // Answers are chosen per question, not per item: throws (start_predictions does it).
  std::vector<double> predict(const ModelOutput& output, const Batch& batch) const override;
  std::unique_ptr<SplitPredictions> start_predictions(const EncodedSplit& split) const override;
  bool keeps_eval_predictions() const override { return true; }

 private:
  ExtractiveQaOptions options_;
};

}  // namespace lightpeft
