#include "lightpeft/train/stages/session.h"

#include <ATen/Parallel.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/allocator.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/models/hf_checkpoint.h"

namespace lightpeft {

bool is_random_init(const std::filesystem::path& model_dir) {
  return load_model_config(model_dir).is_random_init();
}

Session make_session(const TrainConfig& config, const SessionOptions& options) {
  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  Session session;
  session.config = config;
  session.runtime = make_runtime(config);
  // Read LIGHTPEFT_KERNELS now, so that a bad value fails before any data or model is loaded (the
  // models consult it only for CUDA tensors), and say what a CUDA run will use.
  const auto kernels = kernels::backend();
  if (session.runtime.device.is_cuda())
    log::info("CUDA ops: ", kernels::to_string(kernels),
              kernels == kernels::Backend::fused ? " (lightpeft kernels, LIGHTPEFT_KERNELS=fused)" : " (LibTorch)");
  session.random_init = is_random_init(config.model);
  if (session.random_init)
    log::warn("model ", config.model.string(),
              " is RANDOM-INIT (lightpeft init-model): results are not those of a pretrained model");
  session.tokenizer = load_tokenizer(resolve_model_dir(config.model));
  session.data = load_task_data(config, *session.tokenizer, TaskSplits{options.train, options.dev});
  const int64_t pad = session.tokenizer->pad_id();
  const Task& task = *session.data.task;
  if (options.train) session.train = std::make_unique<Batcher>(make_train_batcher(config, task, session.data.train, pad));
  if (options.dev) session.dev = std::make_unique<Batcher>(make_eval_batcher(config, task, session.data.dev, pad));
  if (options.metrics_log && dist::is_main_process()) session.metrics = std::make_unique<MetricsLog>(config.output_dir / "metrics.jsonl");
  log::info("device ", session.runtime.device.str(), session.runtime.autocast_dtype == c10::kBFloat16 ? " (bf16 autocast)"
            : session.runtime.autocast_dtype == c10::kHalf          ? " (fp16 autocast, loss scaling)"
                                                                     : "",
            ", threads ", at::get_num_threads(), ", malloc ", malloc_name());
  return session;
}

TaskModel load_task_model(const Session& session) {
  PretrainedOptions options;
  options.head = session.task().head();
  options.num_labels = session.task().num_labels();
  auto loaded = load_pretrained(session.config.model, options);
  loaded.model->backbone().set_gradient_checkpointing(session.config.training.gradient_checkpointing);
  // A token id past the embedding would index out of range in the first forward.
  const int64_t rows = loaded.model->config().vocab_size, tokens = session.tokenizer->vocab_size();
  LP_CHECK(tokens <= rows, session.config.model.string(), ": the tokenizer has ", tokens,
           " tokens but the model's embedding has ", rows,
           " rows (config.json vocab_size): the tokenizer files do not belong to this model");
  log::info("model: ", session.config.model.string(), ": ", loaded.report.summary());
  loaded.model->to(session.runtime.device);
  return loaded.model;
}

namespace {

// HF PEFT's keywords: "all-linear" (every linear of the layers, the head excepted) and, ours,
// "default" (HF PEFT's per-architecture default targets); anything else is a list of names.
std::vector<std::string> expand_targets(const std::vector<std::string>& names, const ModelFamily& family) {
  if (names.size() == 1 && names[0] == "all-linear") return family.all_linear_targets;
  if (names.size() == 1 && names[0] == "default") return family.default_lora_targets;
  return names;
}

// HF PEFT's task_type for the head: the head is trained and saved with the adapter for
// classification and span QA, frozen for a causal LM.
std::string peft_task_type(HeadKind head) {
  switch (head) {
    case HeadKind::causal_lm: return "CAUSAL_LM";
    case HeadKind::question_answering: return "QUESTION_ANS";
    default: return "SEQ_CLS";
  }
}

}  // namespace

LoraConfig lora_config_from(const TrainConfig& c, const ModelFamily& family, HeadKind head) {
  LoraConfig l;
  l.r = c.lora.r;
  l.lora_alpha = c.lora.alpha;
  l.lora_dropout = c.lora.dropout;
  l.target_modules = TargetModules::list(expand_targets(c.lora.target_modules, family));
  l.task_type = peft_task_type(head);
  l.modules_to_save.clear();  // the head, through task_type
  l.use_rslora = c.lora.use_rslora;
  l.base_model_name_or_path = c.model.string();
  validate_lora_config(l, c.source.string() + ": lora");
  return l;
}

AdapterConfig adapter_config_from(const TrainConfig& c, const ModelFamily& family, HeadKind head) {
  AdapterConfig a = houlsby_adapter_config();
  a.task_type = peft_task_type(head);
  a.modules_to_save.clear();
  a.target_modules = c.adapter.placement == AdapterPlacement::pfeiffer ? TargetModules::pattern(family.pfeiffer_adapter_regex)
                                                       : TargetModules::list(family.houlsby_adapter_targets);
  a.bottleneck_size = c.adapter.bottleneck_size;
  a.non_linearity = to_string(c.adapter.non_linearity);
  a.adapter_dropout = c.adapter.dropout;
  a.scaling = c.adapter.scaling;
  a.init_weights = to_string(c.adapter.init);
  a.base_model_name_or_path = c.model.string();
  validate_adapter_config(a, c.source.string() + ": adapter");
  return a;
}

PeftModel inject_peft(TaskModel model, const TrainConfig& config, bool adapters) {
  const ModelFamily& family = model->family();
  const HeadKind head = model->head_kind();
  PeftModel peft = adapters ? inject_adapters(std::move(model), adapter_config_from(config, family, head))
                            : inject_lora(std::move(model), lora_config_from(config, family, head));
  if (config.base_dtype == BaseDtype::bf16) {
    const int64_t n = store_frozen_linears_as(*peft.model, at::kBFloat16);
    log::info("base_dtype bf16: ", n, " frozen linear layers stored in bf16");
  }
  return peft;
}

StateDict trainable_state(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    if (p.value().requires_grad()) out.emplace(p.key(), p.value());
  return out;
}

void restore_state(torch::nn::Module& module, const StateDict& state, const std::string& origin) {
  auto params = module.named_parameters(/*recurse=*/true);
  torch::NoGradGuard no_grad;
  for (const auto& [name, tensor] : state) {
    auto* p = params.find(name);
    LP_CHECK(p != nullptr, origin, ": checkpoint tensor '", name, "' does not exist in the model");
    LP_CHECK(p->sizes() == tensor.sizes(), origin, ": checkpoint tensor '", name, "' has shape ",
             tensor.sizes(), ", the model's is ", p->sizes());
    p->copy_(tensor);
  }
}

}  // namespace lightpeft
