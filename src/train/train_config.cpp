// The config schema: every key of TrainConfig declared once (name, rule, documentation; the default
// is the struct member's initialiser), in the order config.yaml writes them. Adding a key is a
// struct member plus one line here; docs/configuration.md is generated from these declarations
// (`lightpeft config-doc`, config_doc.cpp). The machinery is config_schema.h.
#include "lightpeft/train/train_config.h"

#include <fstream>
#include <sstream>

#include "config_schema.h"
#include "lightpeft/core/error.h"
#include "lightpeft/data/squad.h"
#include "lightpeft/data/prompt_format.h"
#include "lightpeft/data/commonsense.h"

namespace lightpeft {
namespace {
using namespace config;

const Schema<OptimConfig>& training_schema() {
  using O = OptimConfig;
  static const Schema<O> schema{
      {"training", "", "", ""},
      {key(&O::per_device_train_batch_size, "per_device_train_batch_size", positive(), "examples per training batch")
           .renamed_from({"batch_size", "train_batch_size"}),
       key(&O::per_device_eval_batch_size, "per_device_eval_batch_size", positive(), "examples per evaluation batch")
           .renamed_from({"eval_batch_size"}),
       key(&O::learning_rate, "learning_rate", above(0),
           "AdamW base rate (masks in the estimate stage: times their multipliers)")
           .renamed_from({"lr"}),
       key(&O::weight_decay, "weight_decay", at_least(0), "decoupled; never on biases and normalisation weights (LayerNorm, RMSNorm)"),
       key(&O::adam_beta1, "adam_beta1", in_unit_interval(), "as torch.optim.AdamW"),
       key(&O::adam_beta2, "adam_beta2", in_unit_interval(), "as torch.optim.AdamW"),
       key(&O::adam_epsilon, "adam_epsilon", above(0), "as torch.optim.AdamW"),
       key(&O::num_train_epochs, "num_train_epochs",
           "of the finetune stage (and of `lora`/`adapter`/`full`); may be fractional; > 0 unless `max_steps` is set")
           .renamed_from({"epochs"}),
       key(&O::max_steps, "max_steps",
           Rule<int64_t>{[](int64_t v) { return v == -1 || v > 0 ? "" : "expected a positive integer or -1 (use num_train_epochs)"; },
                         "-1 or a positive integer", ""},
           "> 0 overrides `num_train_epochs`"),
       key(&O::warmup_ratio, "warmup_ratio", ratio(), "linear warmup over this fraction of the steps"),
       key(&O::warmup_steps, "warmup_steps", at_least(0), "linear warmup steps; > 0 wins over `warmup_ratio`"),
       key(&O::lr_scheduler_type, "lr_scheduler_type", "HF's formulas").renamed_from({"scheduler"}),
       key(&O::max_grad_norm, "max_grad_norm", "global-norm clipping; <= 0 turns it off"),
       key(&O::gradient_accumulation_steps, "gradient_accumulation_steps", positive(), "micro-batches per optimizer step"),
       key(&O::group_by_length, "group_by_length", "batches of similar lengths (less padding; HF's rule)"),
       key(&O::gradient_checkpointing, "gradient_checkpointing",
           "recompute each transformer layer in backward instead of keeping its activations (HF's "
           "gradient_checkpointing: the same gradients, a lower peak, about a third more compute)")
           .only_written_if_set(),
       key(&O::logging_steps, "logging_steps", positive(), "a progress line and a metrics.jsonl entry every N steps"),
       key(&O::eval_steps, "eval_steps", at_least(0), "evaluate on dev every N steps; 0: every epoch"),
       key(&O::save_steps, "save_steps", at_least(0), "checkpoint every N steps; 0: at every evaluation"),
       key(&O::save_total_limit, "save_total_limit", positive(), "checkpoints kept (the best one is kept as well)"),
       key(&O::max_train_samples, "max_train_samples", at_least(0), "use only the first N training examples (0: all)"),
       key(&O::max_eval_samples, "max_eval_samples", at_least(0), "use only the first N dev examples (0: all)"),
       key(&O::skip_bad_rows, "skip_bad_rows", "skip malformed rows with a counted warning instead of failing"),
       key(&O::nonfinite_loss, "nonfinite_loss",
           "a step whose loss is inf or NaN: `stop` ends the run with an error naming the step, before the step "
           "touches the weights (the last checkpoint stays the newest, and a resume starts from it); `skip` skips "
           "the step with a warning (the schedule still advances)")
           .only_written_if_set()},
      [](const Reader& r, const O& t) {
        if (!(t.num_train_epochs > 0) && t.max_steps <= 0)
          r.fail_key("num_train_epochs", "expected > 0 (or set max_steps)");
      }};
  return schema;
}

const Schema<LoraSection>& lora_schema() {
  using L = LoraSection;
  static const Schema<L> schema{
      {"lora", "(methods `lora` and `light-peft` with `peft: lora`)", "", ""},
      {key(&L::r, "r", positive("rank"), "rank"),
       key(&L::alpha, "alpha", above(0), "scaling = alpha / r (kept at this value after rank pruning, as the official code)"),
       key(&L::dropout, "dropout", ratio(), "on the LoRA input"),
       key(&L::target_modules, "target_modules",
           Rule<std::vector<std::string>>{
               [](const auto& v) { return v.empty() ? "expected at least one module name" : ""; }, "at least one name", ""},
           "HF PEFT semantics: exact name or `.name` suffix; `all-linear`: every linear of a layer (BERT: query, "
           "key, value, attention.output.dense, intermediate.dense, output.dense; LLaMA: q/k/v/o_proj, gate/up/"
           "down_proj); `default`: HF PEFT's per-family default, the plain-LoRA baseline (`[query, value]`, "
           "`[q_proj, v_proj]`)"),
       key(&L::use_rslora, "use_rslora", "scaling alpha / sqrt(r)")}};
  return schema;
}

const Schema<AdapterSection>& adapter_schema() {
  using A = AdapterSection;
  static const Schema<A> schema{
      {"adapter", "(method `adapter`, or `light-peft` with `peft: adapter`)", "", ""},
      {key(&A::bottleneck_size, "bottleneck_size", positive(), "width of the bottleneck"),
       key(&A::non_linearity, "non_linearity", "the bottleneck's activation"),
       key(&A::dropout, "dropout", ratio(), "on the adapter's input"),
       key(&A::scaling, "scaling", "multiplies the adapter's output"),
       key(&A::placement, "placement", "`houlsby`: after the attention output and the FFN output; `pfeiffer`: "
                                       "after the FFN output only"),
       key(&A::init, "init", "`bert`: both weights N(0, 0.02); `zero_up`: the up projection zero, so the adapter "
                             "starts as the identity")}};
  return schema;
}

const Schema<LightPeftSection>& light_peft_schema() {
  using P = LightPeftSection;
  static const Schema<P> schema{
      {"light_peft", "", "",
       "The rule everywhere: `threshold = quantile(scores, ratio)` with numpy's linear interpolation\n"
       "(computed in float64), keep `score > threshold`; a ratio of 0 prunes nothing."},
      {key(&P::peft, "peft", "the PEFT that is estimated and pruned"),
       key(&P::estimate_steps, "estimate_steps",
           Rule<StepsOrAuto>{[](const StepsOrAuto& s) {
                               return s.automatic || s.steps >= 1 ? std::string()
                                                                  : "expected a positive number of steps or `auto`, got " +
                                                                        std::to_string(s.steps);
                             },
                             "a positive integer or `auto`", ""},
           "optimizer steps of the estimate stage; `auto`: until the pruning decisions stop changing (the keys "
           "below)"),
       key(&P::estimate_check_steps, "estimate_check_steps", positive("number of steps"),
           "with `auto`: steps between two looks at the decisions (the kept heads, neurons, modules and ranks "
           "the ratios would give now)")
           .only_written_if_set(),
       key(&P::estimate_patience, "estimate_patience", positive("number of checks"),
           "with `auto`: stop after this many checks in a row whose decisions agree with the previous ones enough")
           .only_written_if_set(),
       key(&P::estimate_agreement, "estimate_agreement", Range{0, 1, false, false, "a number in [0, 1]"},
           "with `auto`: in each granularity (heads, neurons, PEFT modules, ranks), the fraction of candidates whose "
           "keep/prune decision must be unchanged since the previous check (1 - Early-Bird's mask distance; one "
           "swapped unit of n costs 2/n)")
           .only_written_if_set(),
       key(&P::estimate_overlap, "estimate_overlap", Range{0, 1, false, false, "a number in [0, 1]"},
           "with `auto`: the Jaccard overlap each kept set must also reach (0: not required; on a kept set of k "
           "units one swap costs 2/(k+1), so a high value asks small sets not to change at all)")
           .only_written_if_set(),
       key(&P::estimate_min_steps, "estimate_min_steps", positive("number of steps"), "with `auto`: never stop before")
           .only_written_if_set(),
       key(&P::estimate_max_steps, "estimate_max_steps", positive("number of steps"),
           "with `auto`: stop at the latest here (also the horizon of the estimate's learning-rate schedule)")
           .only_written_if_set(),
       key(&P::estimate_gradient_checkpointing, "estimate_gradient_checkpointing",
           "activation checkpointing in the estimate stage only (the same gradients and pruning plan, up to "
           "rounding; a lower peak memory; about a third more compute in that stage)")
           .only_written_if_set(),
       key(&P::estimate_base_dtype, "estimate_base_dtype",
           "`bf16` stores the frozen base weights in bf16 in the estimate stage only (bf16 GEMMs: for CUDA and CPUs "
           "with bf16 units; the main job's run took 0.95x fp32's time on an AVX512-BF16 CPU, 0.86x on one with AMX, "
           "docs/benchmarks.md); the pruned model is built from the checkpoint's weights, so the finetune keeps "
           "`base_dtype`")
           .only_written_if_set(),
       key(&P::l1_lambda, "l1_lambda", at_least(0), "weight of the plain sum of |mask| over all head and neuron masks"),
       key(&P::head_mask_lr_multiplier, "head_mask_lr_multiplier", above(0),
           "head masks' learning rate = learning_rate x multiplier"),
       key(&P::ffn_mask_lr_multiplier, "ffn_mask_lr_multiplier", above(0),
           "FFN neuron masks' learning rate = learning_rate x multiplier"),
       key(&P::head_pruning_ratio, "head_pruning_ratio", ratio(), "quantile of head scores pruned"),
       key(&P::head_pruning_scope, "head_pruning_scope", "the quantile over each layer's heads, or over all heads"),
       key(&P::ffn_pruning_ratio, "ffn_pruning_ratio", ratio(), "quantile of FFN neuron scores pruned"),
       key(&P::ffn_pruning_scope, "ffn_pruning_scope", "the quantile over each layer's neurons, or over all neurons"),
       key(&P::module_pruning_ratio, "module_pruning_ratio", ratio(), "quantile of PEFT modules removed (global)"),
       key(&P::rank_pruning_ratio, "rank_pruning_ratio", ratio(),
           "quantile of ranks removed (global, over surviving modules)"),
       key(&P::importance, "importance",
           "foundation scores: `mask` (mask values, the official rule) or `taylor` (accumulated abs(dL/dm), "
           "per-layer L2-normalised)")},
      [](const Reader& r, const P& p) {
        if (p.estimate_steps.automatic && p.estimate_min_steps > p.estimate_max_steps)
          r.fail_key("estimate_min_steps", "expected at most estimate_max_steps (" +
                                               std::to_string(p.estimate_max_steps) + "), got " +
                                               std::to_string(p.estimate_min_steps));
      }};
  return schema;
}

const Schema<UserTaskSection>& user_task_schema() {
  using U = UserTaskSection;
  static const Schema<U> schema{
      {"user_task", "(with `task: user`)", "", ""},
      {key(&U::format, "format", "`csv` and `tsv` have a header line and honour quotes"),
       key(&U::train_file, "train_file", required("for task: user"), "the training examples"),
       key(&U::dev_file, "dev_file", required("for task: user"), "the dev examples (evaluation)"),
       key(&U::test_file, "test_file", "for `lightpeft predict` (a label column, if present, is ignored)"),
       key(&U::text_column, "text_column", "the column of the text"),
       key(&U::text_pair_column, "text_pair_column", "the column of a pair's second text; empty: single texts")
           .shown_default("(none)"),
       key(&U::label_column, "label_column", "the column of the label"),
       key(&U::labels, "labels", "label names in class-id order").shown_default("(required for classification)"),
       key(&U::regression, "regression", "a 1-output regression head (MSE), without `labels`"),
       key(&U::metric, "metric", "any of `accuracy f1 matthews accuracy_f1 pearson spearman pearson_spearman`")
           .shown_default("accuracy / pearson_spearman")},
      [](const Reader& r, const U& u) {
        if (!u.regression && u.labels.size() < 2)
          r.fail_key("labels", "a classification task needs at least two label names (or regression: true)");
        if (u.regression && !u.labels.empty()) r.fail_key("labels", "a regression task has no label names");
      }};
  return schema;
}

const Schema<SquadSection>& squad_schema() {
  using Q = SquadSection;
  static const Schema<Q> schema{
      {"squad", "(with `task: squad` or `squad_v2`)",
       "SQuAD v1.1 / v2.0 JSON files and HF run_qa's options: a question with a long context becomes several "
       "windows of `max_seq_length` tokens (384 is run_qa's default), each answer is picked over its "
       "question's windows, and dev is scored with the official EM/F1 (0-100).",
       ""},
      {key(&Q::train_file, "train_file", required("for task: squad"), "the training questions (SQuAD JSON)"),
       key(&Q::dev_file, "dev_file", required("for task: squad"), "the dev questions: evaluation (EM/F1)"),
       key(&Q::test_file, "test_file", "for `lightpeft predict --split test` (answers, if present, are ignored)"),
       key(&Q::version_2_with_negative, "version_2_with_negative",
           "SQuAD v2.0: unanswerable questions and the null answer (`task: squad_v2` sets it)"),
       key(&Q::doc_stride, "doc_stride", at_least(0),
           "context tokens that consecutive windows of a long context share (below the room a window has)"),
       key(&Q::max_answer_length, "max_answer_length", positive(), "longest answer predicted, in tokens"),
       key(&Q::n_best_size, "n_best_size", positive(), "start and end candidates per window (and answers kept)"),
       key(&Q::null_score_diff_threshold, "null_score_diff_threshold",
           "v2: answer nothing when the null score exceeds the best span's score by more than this")}};
  return schema;
}

const Schema<InstructionSection>& instruction_schema() {
  using I = InstructionSection;
  static const Schema<I> schema{
      {"instruction", "(with `task: instruction`)", "",
       "Rows are JSON lists or JSON Lines of Alpaca / LLM-Adapters rows (`instruction`, `input`, `output`) or chat\n"
       "rows (`messages`), see `include/lightpeft/data/instruction_data.h`; the formats are\n"
       "`include/lightpeft/data/prompt_format.h`'s. The loss is on the response tokens only; the dev metric is the\n"
       "loss over them, with headline `negative_loss` (and `perplexity`)."},
      {key(&I::train_file, "train_file", required("for task: instruction"), "the training rows"),
       key(&I::dev_file, "dev_file", required("for task: instruction"), "the dev rows (loss and perplexity)"),
       key(&I::test_file, "test_file", "rows whose responses `lightpeft predict` generates (JSON Lines out)"),
       key(&I::format, "format",
           "`alpaca`: Stanford Alpaca's template; `chat`: the model's chat template (tokenizer_config.json or "
           "chat_template.jinja); `custom`: `template`"),
       key(&I::template_text, "template",
           "format `custom`: the text with `{instruction}`, `{input}` and `{output}`; the prompt is the text before "
           "`{output}`")
           .shown_default("(none)"),
       key(&I::template_no_input, "template_no_input", "format `custom`: the text for rows with an empty input")
           .shown_default("(`template`)"),
       key(&I::packing, "packing",
           "pack consecutive training rows into sequences of up to `max_seq_length` tokens (each row keeps its own "
           "positions and attention; the loss is that of the rows unpacked); evaluation is unpacked"),
       key(&I::all_assistant_turns, "all_assistant_turns", "format `chat`: train on every assistant turn, not the last only"),
       key(&I::system_prompt, "system_prompt", "format `chat`: the system message Alpaca rows get").shown_default("(none)"),
       key(&I::max_new_tokens, "max_new_tokens", positive(), "`lightpeft predict`: tokens generated per row (greedy)")},
      [](const Reader& r, const I& i) {
        if (i.format == PromptStyle::custom) {
          if (i.template_text.empty()) r.fail_key("template", "required with format: custom");
          try {
            PromptFormat::custom(i.template_text, "template", i.template_no_input);
          } catch (const Error& e) {
            r.fail_key("template", e.what());
          }
        } else {
          if (!i.template_text.empty()) r.fail_key("template", "is read with format: custom only");
          if (!i.template_no_input.empty()) r.fail_key("template_no_input", "is read with format: custom only");
        }
        if (i.format != PromptStyle::chat) {
          if (i.all_assistant_turns) r.fail_key("all_assistant_turns", "is read with format: chat only");
          if (!i.system_prompt.empty()) r.fail_key("system_prompt", "is read with format: chat only");
        }
      }};
  return schema;
}

const Schema<CommonsenseSection>& commonsense_schema() {
  using S = CommonsenseSection;
  static const Schema<S> schema{
      {"commonsense", "(the commonsense tasks)", "",
       "LLM-Adapters' sets (`boolq piqa social_i_qa winogrande arc_easy arc_challenge openbookqa`, from `data_dir`).\n"
       "A decoder is evaluated two ways: log-likelihood of the choices (lm-eval style; `accuracy`, the headline, and\n"
       "`accuracy_norm`) and generation with LLM-Adapters' answer extraction (`generation_accuracy`); see\n"
       "`include/lightpeft/tasks/commonsense_task.h`."},
      {key(&S::train, "train",
           "task `commonsense`: the training sets (their train.json) and/or files of LLM-Adapters rows "
           "(e.g. commonsense_170k.json)")
           .shown_default("(required for task: commonsense)"),
       key(&S::eval, "eval", "task `commonsense`: the sets evaluated (their test.json), each reported and averaged")
           .shown_default("(required for task: commonsense)"),
       key(&S::max_new_tokens, "max_new_tokens", positive(), "decoders: greedy tokens generated per question"),
       key(&S::generation_eval, "generation_eval",
           "decoders: also evaluate by generation (slow on a CPU); log-likelihood scoring always runs")}};
  return schema;
}

const Schema<TrainConfig>& train_config_schema() {
  using C = TrainConfig;
  static const Schema<C> schema{
      {"", "", "", ""},
      {key(&C::task, "task", required("(a GLUE/SuperGLUE task such as rte, squad, or user)"),
           "GLUE: `cola sst2 mrpc stsb qqp mnli qnli rte wnli`; SuperGLUE: `boolq cb copa superglue-rte wic wsc "
           "multirc`; SQuAD: `squad` (v1.1), `squad_v2`; `user`; `instruction`; LLM-Adapters' commonsense sets "
           "`boolq piqa social_i_qa winogrande arc_easy arc_challenge openbookqa` or `commonsense` (several). `boolq` "
           "is whichever BoolQ `data_dir` holds; `superglue-boolq` and `commonsense-boolq` name one"),
       key(&C::data_dir, "data_dir",
           "the task folder, a folder of task folders, or one holding `glue/` and `superglue/`; commonsense: "
           "LLM-Adapters' dataset folder or a set's folder")
           .shown_default("(required for GLUE/SuperGLUE/commonsense)"),
       key(&C::model, "model", required("(an HF-layout model directory)"),
           "HF-layout model directory (config.json, weights, tokenizer files)"),
       key(&C::output_dir, "output_dir", required(),
           "where the run writes everything; the same config there resumes, another is refused"),
       key(&C::method, "method", "what is trained (`light_peft` and `lightpeft` also mean `light-peft`)"),
       key(&C::seed, "seed", "seeds initialisation, dropout and the data order"),
       key(&C::max_seq_length, "max_seq_length", at_least(8), "pairs are truncated `longest_first`, as HF tokenizers do"),
       key(&C::device, "device",
           Rule<std::string>{[](const std::string& d) {
                               const bool ok = d == "auto" || d == "cpu" || d.rfind("cuda", 0) == 0;
                               return ok ? "" : "'" + d + "' is not one of: auto, cpu, cuda, cuda:N";
                             },
                             "`auto`, `cpu`, `cuda`, `cuda:N`", ""},
           "`auto`: CUDA when present"),
       key(&C::dtype, "dtype",
           "`bf16` autocast (CUDA, or CPUs with bf16 units: about 2x fp32 on an AVX512-BF16 CPU); `fp16` autocast "
           "on CUDA with dynamic loss scaling (torch GradScaler's rule)"),
       key(&C::base_dtype, "base_dtype",
           "how the frozen base weights are stored with `lora`, `adapter` and `light-peft`: `bf16` halves "
           "their memory (a frozen linear then computes in bf16); PEFT weights, masks, the head and the "
           "optimizer state stay fp32. With `dtype: fp32` on a CPU with AMX the main job's whole Light-PEFT "
           "run took 0.67x the fp32 run's time at the same accuracy (docs/benchmarks.md); a CPU without bf16 "
           "units is warned about")
           .only_written_if_set(),
       key(&C::threads, "threads", at_least(0), "CPU threads; 0 keeps LibTorch's default"),
       section(&C::training, training_schema()), section(&C::lora, lora_schema()),
       section(&C::adapter, adapter_schema()), section(&C::light_peft, light_peft_schema()),
       section(&C::user_task, user_task_schema()), section(&C::squad, squad_schema()),
       section(&C::instruction, instruction_schema()), section(&C::commonsense, commonsense_schema())},
      [](const Reader& r, const C& c) {
        const auto squad = squad_task_name(c.task);
        if (c.task == "user" && !c.user_task) r.fail_key("user_task", "required for task: user");
        if (squad && !c.squad) r.fail_key("squad", "required for task: " + c.task + " (train_file and dev_file)");
        if (c.squad) {
          const Reader s = r.child("squad");
          if (c.squad->doc_stride >= c.max_seq_length)
            s.fail_key("doc_stride", "expected below max_seq_length (" + std::to_string(c.max_seq_length) + "), got " +
                                         std::to_string(c.squad->doc_stride) +
                                         " (SQuAD runs set max_seq_length: 384, HF run_qa's default)");
          if (squad == "squad_v2" && s.has("version_2_with_negative") && !c.squad->version_2_with_negative)
            s.fail_key("version_2_with_negative", "task squad_v2 is SQuAD v2.0: remove the key or set it true");
        }
        if (c.task == "instruction" && !c.instruction) r.fail_key("instruction", "required for task: instruction");
        if (c.task != "instruction" && c.instruction)
          r.fail_key("instruction", "is read with task: instruction only (the task is '" + c.task + "')");
        const bool all_sets = c.task == "commonsense";
        if (all_sets && (!c.commonsense || c.commonsense->train.empty() || c.commonsense->eval.empty()))
          r.fail_key("commonsense", "task commonsense needs commonsense.train (sets or files) and commonsense.eval (sets)");
        if (!all_sets && c.commonsense && (!c.commonsense->train.empty() || !c.commonsense->eval.empty()))
          r.fail_key("commonsense", "train and eval lists are read with task: commonsense only (the task is '" + c.task + "')");
        // (tasks/registry.h's is_commonsense_task, from the data layer: the fuzzers link no tasks)
        if (c.commonsense && c.task != "commonsense" && !find_commonsense_set(c.task))
          r.fail_key("commonsense", "is read with the commonsense tasks only (the task is '" + c.task + "')");
        if (c.task != "user" && c.task != "instruction" && !squad && c.data_dir.empty())
          r.fail_key("data_dir", "required for GLUE/SuperGLUE and commonsense tasks");
        if (c.base_dtype == BaseDtype::bf16 && c.method == Method::full)
          r.fail_key("base_dtype", "bf16 stores frozen weights; method full trains them all (use dtype: bf16)");
      }};
  return schema;
}

}  // namespace

const config::SectionDoc& config::train_config_doc() { return train_config_schema().doc; }

TrainConfig parse_train_config(const std::string& yaml_text, const std::string& origin,
                               const ConfigOverrides& overrides) {
  // Every check throws lightpeft::Error; this catches a yaml-cpp conversion that slipped through
  // them (the fuzzer found one), so that bad YAML never surfaces as a yaml-cpp exception.
  try {
    TrainConfig c = parse_with(train_config_schema(), yaml_text, origin, overrides);
    c.source = origin;
    // task: squad_v2 means version_2_with_negative; config.yaml records it so.
    if (c.squad && squad_task_name(c.task) == std::optional<std::string>("squad_v2")) c.squad->version_2_with_negative = true;
    return c;
  } catch (const YAML::Exception& e) {
    throw_error(origin, ":", e.mark.line + 1, ": ", e.msg);
  }
}

TrainConfig load_train_config(const std::filesystem::path& file, const ConfigOverrides& overrides) {
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in.good(), file.string(), ": cannot open the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_train_config(ss.str(), file.string(), overrides);
}

std::string train_config_to_yaml(const TrainConfig& config) { return write_with(train_config_schema(), config); }

}  // namespace lightpeft
