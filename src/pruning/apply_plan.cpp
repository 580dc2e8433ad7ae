#include "lightpeft/pruning/apply_plan.h"

#include <set>

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "linear_slot.h"

namespace lightpeft {
namespace {

using pruning_detail::find_linear_slot;

bool is_peft_weight(const std::string& key) {
  for (const char* part : {".lora_A.", ".lora_B.", ".adapter_down.", ".adapter_up."})
    if (key.find(part) != std::string::npos) return true;
  return false;
}

int64_t rank_of(const PeftModel& peft, const std::string& path) {
  if (auto it = peft.lora.find(path); it != peft.lora.end()) return it->second->r();
  return peft.adapters.at(path)->bottleneck_size();
}

// Everything apply_plan needs to be true before it changes anything.
void check_plan_fits(const PeftModel& peft, const PruningPlan& plan) {
  auto enc = peft.model->encoder();
  // No layer decisions at all: a plan that prunes PEFT only.
  LP_CHECK(plan.layers.empty() || static_cast<int64_t>(plan.layers.size()) == enc->num_layers(),
           "apply_plan: the plan has ", plan.layers.size(), " layers, the model ",
           enc->num_layers());
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    auto layer = enc->layer_at(static_cast<int64_t>(l));
    const auto& d = plan.layers[l];
    LP_CHECK(d.heads.size() == layer->attention->self->num_heads(), "apply_plan: layer ", l,
             ": the plan has ", d.heads.size(), " heads, the model ",
             layer->attention->self->num_heads(), " (was the model already pruned?)");
    LP_CHECK(d.neurons.size() == layer->num_neurons(), "apply_plan: layer ", l, ": the plan has ",
             d.neurons.size(), " FFN neurons, the model ", layer->num_neurons());
  }
  std::set<std::string> in_plan;
  for (const auto& m : plan.modules) {
    in_plan.insert(m.path);
    const bool present = peft.lora.count(m.path) == 1 || peft.adapters.count(m.path) == 1;
    LP_CHECK(present, "apply_plan: the plan names PEFT module '", m.path,
             "', which this model does not have");
    LP_CHECK(rank_of(peft, m.path) == m.rank(), "apply_plan: module '", m.path, "' has rank ",
             rank_of(peft, m.path), " in the model but ", m.rank(), " in the plan");
  }
  for (const auto& path : peft.injected_paths())
    LP_CHECK(in_plan.count(path) == 1 || rank_of(peft, path) == 0, "apply_plan: PEFT module '",
             path, "' is not in the plan (the plan was made for another model or PEFT config)");
  for (const auto& kv : peft.lora)
    LP_CHECK(!kv.second->merged(), "apply_plan: LoRA module '", kv.first,
             "' is merged; unmerge it first (its base weight holds the update)");
  // Each PEFT module must sit in its slot itself (not, e.g., an attached ModuleImportance probe).
  for (const auto& path : peft.injected_paths()) {
    auto slot = find_linear_slot(*peft.model, path);
    const torch::nn::Module* wrapper = peft.lora.count(path)
                                           ? static_cast<const torch::nn::Module*>(peft.lora.at(path).get())
                                           : peft.adapters.at(path).get();
    LP_CHECK(slot.host->linear(slot.name).get() == wrapper, "apply_plan: the slot of '", path,
             "' does not hold its PEFT module (detach ModuleImportance before pruning)");
  }
}

// Puts the plain base Dense back in the module's slot and forgets the wrapper.
void unwrap(PeftModel& peft, const std::string& path) {
  auto slot = find_linear_slot(*peft.model, path);
  if (auto it = peft.lora.find(path); it != peft.lora.end()) {
    slot.host->replace_linear(slot.name, it->second->base_layer.ptr());
    peft.lora.erase(it);
  } else {
    auto a = peft.adapters.find(path);
    slot.host->replace_linear(slot.name, a->second->base_layer.ptr());
    peft.adapters.erase(a);
  }
}

}  // namespace

ParameterCounts parameter_counts(const PeftModel& peft) {
  ParameterCounts c;
  for (const auto& p : peft.model->named_parameters()) {
    const int64_t n = p.value().numel();
    c.total += n;
    (is_peft_weight(p.key()) ? c.peft : c.foundation) += n;
    if (p.value().requires_grad()) c.trainable += n;
  }
  return c;
}

PruneReport apply_plan(PeftModel& peft, const PruningPlan& plan) {
  LP_CHECK(peft.model != nullptr, "apply_plan: null model");
  check_plan_fits(peft, plan);
  PruneReport report;
  report.before = parameter_counts(peft);

  // PEFT first: modules that lose their LoRA/adapter go back to plain Dense, so the head/neuron
  // slicing below touches fewer tensors.
  for (const auto& m : plan.modules) {
    if (!m.has_peft()) {
      unwrap(peft, m.path);
    } else if (static_cast<int64_t>(m.kept_ranks.size()) != m.rank()) {
      if (auto it = peft.lora.find(m.path); it != peft.lora.end())
        it->second->keep_ranks(m.kept_ranks);  // scaling stays alpha / r_original
      else
        peft.adapters.at(m.path)->keep_ranks(m.kept_ranks);
    }
  }
  // Modules already at rank 0 hold no weights: unwrap them too.
  for (const auto& path : peft.injected_paths())
    if (rank_of(peft, path) == 0) unwrap(peft, path);

  auto enc = peft.model->encoder();
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    auto layer = enc->layer_at(static_cast<int64_t>(l));
    const auto& d = plan.layers[l];
    if (static_cast<int64_t>(d.heads.kept.size()) != d.heads.size())
      layer->attention->keep_heads(d.heads.kept);
    if (static_cast<int64_t>(d.neurons.kept.size()) != d.neurons.size())
      layer->keep_neurons(d.neurons.kept);
  }
  peft.model->sync_config_with_modules();

  report.after = parameter_counts(peft);
  log::info("apply_plan: ", plan.summary());
  log::info("apply_plan: foundation parameters ", report.before.foundation, " -> ",
            report.after.foundation, ", PEFT parameters ", report.before.peft, " -> ",
            report.after.peft, ", trainable ", report.before.trainable, " -> ",
            report.after.trainable);
  return report;
}

std::vector<LayerMasks> plan_layer_masks(const PruningPlan& plan,
                                         const torch::TensorOptions& options) {
  std::vector<LayerMasks> out;
  auto opts = options.has_dtype() ? options : options.dtype(at::kFloat);
  for (const auto& l : plan.layers) {
    LayerMasks m;
    m.head = at::zeros({1, l.heads.size(), 1, 1}, opts);
    m.head.index_fill_(1, at::tensor(l.heads.kept, at::kLong).to(opts.device()), 1.0);
    m.neuron = at::zeros({1, l.neurons.size()}, opts);
    m.neuron.index_fill_(1, at::tensor(l.neurons.kept, at::kLong).to(opts.device()), 1.0);
    out.push_back(std::move(m));
  }
  return out;
}

void carry_over_peft_weights(const PeftModel& from, PeftModel& to) {
  LP_CHECK(from.model && to.model, "carry_over_peft_weights: null model");
  auto source = from.model->named_parameters();
  auto target = to.model->named_parameters();
  auto carried = [&](const std::string& key) {
    if (is_peft_weight(key)) return true;
    for (const auto& m : to.modules_to_save)
      if (key.rfind(m + ".", 0) == 0) return true;
    return false;
  };
  torch::NoGradGuard no_grad;
  int64_t copied = 0;
  for (const auto& item : target) {
    if (!carried(item.key())) continue;
    const auto* src = source.find(item.key());
    LP_CHECK(src != nullptr, "carry_over_peft_weights: the estimate-stage model has no parameter '",
             item.key(), "'");
    LP_CHECK(src->sizes() == item.value().sizes(), "carry_over_peft_weights: '", item.key(),
             "' has shape ", src->sizes(), " in the estimate-stage model but ",
             item.value().sizes(), " in the target");
    item.value().copy_(*src);
    ++copied;
  }
  for (const auto& item : source)
    LP_CHECK(!is_peft_weight(item.key()) || target.find(item.key()) != nullptr,
             "carry_over_peft_weights: the target model has no PEFT parameter '", item.key(), "'");
  log::debug("carry_over_peft_weights: copied ", copied, " tensors");
}

}  // namespace lightpeft
