#pragma once
// The commonsense suite (data/commonsense.h) as tasks, for both kinds of model:
//
// Decoders (CommonsenseLmTask, causal LM head): trained as LLM-Adapters' finetune.py trains, on the
// rows' Alpaca turns (prompt = the Alpaca template with the instruction, response = output; no loss
// on the prompt). Evaluated on the split two ways, reported together:
//   - log-likelihood scoring of the choices, lm-eval-harness style (tasks/choice_scoring.h): context
//     "Question: <question>\nAnswer:" and continuation " <choice>" (BoolQ's choices " no"/" yes");
//     WinoGrande as lm-eval's partial scoring: context = the sentence up to the blank with the
//     option in it, continuation = " " + the rest of the sentence after the blank. `accuracy` picks
//     the choice with the largest summed log-probability, `accuracy_norm` the largest log-probability
//     per UTF-8 byte of the continuation without its leading space (lm-eval's acc_norm, len(choice)).
//     Ties go to the first choice (numpy's argmax). `accuracy` is the headline.
//   - generation + answer extraction as LLM-Adapters' commonsense_evaluate.py
//     (tasks/answer_extraction.h): greedy decoding of the Alpaca prompt without its output, up to
//     max_new_tokens; `generation_accuracy`, and `generation_no_answer` (responses without a match).
//     LLM-Adapters' script decodes with 4 beams; this is greedy, as the issue asks.
//   A split joining several sets (task: commonsense) reports each set's metrics as "<set>/<metric>"
//   and their plain means over the sets (as papers average the suite) under the plain names.
//
// Encoders (multiple choice / classification heads): built by make_commonsense_encoder_task;
// multiple-choice sets are HF's ...ForMultipleChoice (text = question, pair = each choice; ARC pads
// its 3- and 4-choice questions to 5 with masked fillers), BoolQ is single-text classification of
// the question (LLM-Adapters' rows hold no passage), labels false/true.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/data/commonsense.h"
#include "lightpeft/tasks/causal_lm_task.h"
#include "lightpeft/tasks/choice_scoring.h"

namespace lightpeft {

struct CommonsenseTaskOptions {
  int64_t max_new_tokens = 32;   // LLM-Adapters' commonsense_evaluate.py
  bool generation_eval = true;   // also evaluate by generation (slow on a CPU: max_new_tokens steps)
};

// One question of a split (its choices are tokenized when the split is evaluated: a training
// split never needs them).
struct CommonsenseItem {
  CommonsenseSet set = CommonsenseSet::boolq;
  bool scored = false;         // false for rows of plain training files (no question parsed)
  std::string answer;          // the gold answer as the rows write it ("answer2")
  int64_t label = -1;          // its choice index
  std::string question;
  std::vector<std::string> choices;
};

struct CommonsenseRows : CausalLmRows {
  std::vector<CommonsenseItem> items;  // one per row, as CausalLmRows
  int64_t max_length = 0;              // max_seq_length: choice scoring cuts contexts to it
};

// The lm-eval (context, continuation) texts of each choice of a question (see above).
std::vector<std::pair<std::string, std::string>> choice_continuations(CommonsenseSet set, const std::string& question,
                                                                      const std::vector<std::string>& choices);

// Every choice of every scored item by log-likelihood (tasks/choice_scoring.h), and the picks of
// `accuracy` and `accuracy_norm`; unscored items get empty scores. What evaluation runs, exposed for
// tests against HF.
struct QuestionScores {
  std::vector<double> loglikelihoods;
  std::vector<double> per_byte;  // loglikelihood / UTF-8 bytes of the continuation without its leading space
  size_t prediction = 0, prediction_norm = 0;
};
std::vector<QuestionScores> score_questions(TaskModelImpl& model, const Tokenizer& tokenizer,
                                            const std::vector<CommonsenseItem>& items, int64_t max_length,
                                            const ScoringOptions& options);

class CommonsenseLmTask : public CausalLmTask {
 public:
  CommonsenseLmTask(TaskSpec spec, std::shared_ptr<const RowSource> source, CommonsenseTaskOptions options = {});

  EncodedSplit encode(const std::vector<Example>& rows, const Tokenizer& tokenizer,
                      int64_t max_length) const override;
  TaskEvaluation evaluate_split(const EncodedSplit& split, const TaskEvalContext& context) const override;

 private:
  CommonsenseTaskOptions commonsense_;
};

// The per-set metrics of scored (and generated) answers; exposed for tests.
struct CommonsenseOutcome {
  CommonsenseSet set = CommonsenseSet::boolq;
  bool correct = false, correct_norm = false;
  bool generated = false, generation_correct = false, generation_no_answer = false;
};
MetricResult commonsense_metrics(const std::vector<CommonsenseOutcome>& outcomes);

// An encoder's task for one set: multiple choice, or classification for BoolQ.
std::unique_ptr<Task> make_commonsense_encoder_task(CommonsenseSet set, std::shared_ptr<const RowSource> source);

}  // namespace lightpeft
