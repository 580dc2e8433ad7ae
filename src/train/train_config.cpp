// The config schema: every key of TrainConfig declared once (name, rule, documentation; the default
// is the struct member's initialiser), in the order config.yaml writes them. Adding a key is a
// struct member plus one line here; docs/configuration.md is generated from these declarations
// (`lightpeft config-doc`, config_doc.cpp). The machinery is config_schema.h.
#include "lightpeft/train/train_config.h"

#include <fstream>
#include <sstream>

#include "config_schema.h"
#include "lightpeft/core/error.h"

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
       key(&O::weight_decay, "weight_decay", at_least(0), "decoupled; never on biases and LayerNorm parameters"),
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
           "with `auto`: stop after this many checks in a row whose decisions overlap the previous ones enough")
           .only_written_if_set(),
       key(&P::estimate_overlap, "estimate_overlap", Range{0, 1, true, false, "a number in (0, 1]"},
           "with `auto`: the Jaccard overlap each kept set (heads, neurons, modules, ranks) must reach")
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

const Schema<TrainConfig>& train_config_schema() {
  using C = TrainConfig;
  static const Schema<C> schema{
      {"", "", "", ""},
      {key(&C::task, "task", required("(a GLUE/SuperGLUE task such as rte, or user)"),
           "GLUE: `cola sst2 mrpc stsb qqp mnli qnli rte wnli`; SuperGLUE: `boolq cb copa superglue-rte wic wsc "
           "multirc`; or `user`"),
       key(&C::data_dir, "data_dir", "the task folder, a folder of task folders, or one holding `glue/` and `superglue/`")
           .shown_default("(required for GLUE/SuperGLUE)"),
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
           "optimizer state stay fp32")
           .only_written_if_set(),
       key(&C::threads, "threads", at_least(0), "CPU threads; 0 keeps LibTorch's default"),
       section(&C::training, training_schema()), section(&C::lora, lora_schema()),
       section(&C::adapter, adapter_schema()), section(&C::light_peft, light_peft_schema()),
       section(&C::user_task, user_task_schema())},
      [](const Reader& r, const C& c) {
        if (c.task == "user" && !c.user_task) r.fail_key("user_task", "required for task: user");
        if (c.task != "user" && c.data_dir.empty()) r.fail_key("data_dir", "required for GLUE/SuperGLUE tasks");
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
