#include "lightpeft/pruning/apply_plan.h"

#include <set>

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {
namespace {

bool is_peft_weight(const std::string& key) {
  for (const char* part : {".lora_A.", ".lora_B.", ".adapter_down.", ".adapter_up."})
    if (key.find(part) != std::string::npos) return true;
  return false;
}

int64_t rank_of(const PeftModel& peft, const std::string& path) { return peft.layers.at(path)->rank(); }

void check_foundation_plan_fits(const TaskModelImpl& model, const PruningPlan& plan) {
  // No layer decisions at all: a plan that prunes PEFT only.
  LP_CHECK(plan.layers.empty() || static_cast<int64_t>(plan.layers.size()) == model.num_layers(),
           "apply_plan: the plan has ", plan.layers.size(), " layers, the model ", model.num_layers());
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    const PrunableLayer& layer = model.layer(static_cast<int64_t>(l));
    const auto& d = plan.layers[l];
    const int64_t units = layer.attention_units().count, neurons = layer.mlp_neurons().count;
    LP_CHECK(d.heads.size() == units, "apply_plan: layer ", l, ": the plan has ", d.heads.size(),
             " attention units, the model ", units, " (was the model already pruned?)");
    LP_CHECK(d.neurons.size() == neurons, "apply_plan: layer ", l, ": the plan has ",
             d.neurons.size(), " MLP neurons, the model ", neurons);
  }
}

void check_peft_plan_fits(const PeftModel& peft, const PruningPlan& plan) {
  std::set<std::string> in_plan;
  for (const auto& m : plan.modules) {
    in_plan.insert(m.path);
    LP_CHECK(peft.layers.count(m.path) == 1, "apply_plan: the plan names PEFT module '", m.path,
             "', which this model does not have");
    LP_CHECK(rank_of(peft, m.path) == m.rank(), "apply_plan: module '", m.path, "' has rank ",
             rank_of(peft, m.path), " in the model but ", m.rank(), " in the plan");
  }
  for (const auto& [path, layer] : peft.layers) {
    LP_CHECK(in_plan.count(path) == 1 || layer->rank() == 0, "apply_plan: PEFT module '", path,
             "' is not in the plan (the plan was made for another model or PEFT config)");
    LP_CHECK(!layer->merged(), "apply_plan: LoRA module '", path,
             "' is merged; unmerge it first (its base weight holds the update)");
    LP_CHECK(find_linear_slot(*peft.model, path).get().get() == layer.get(),
             "apply_plan: the slot of '", path, "' does not hold its PEFT module");
  }
}

// Puts the plain base Dense back in the module's slot and forgets the PEFT layer.
void unwrap(PeftModel& peft, const std::string& path) {
  auto it = peft.layers.find(path);
  find_linear_slot(*peft.model, path).set(it->second->base_layer.ptr());
  peft.layers.erase(it);
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

void apply_foundation_plan(TaskModelImpl& model, const PruningPlan& plan) {
  check_foundation_plan_fits(model, plan);
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    PrunableLayer& layer = model.layer(static_cast<int64_t>(l));
    const auto& d = plan.layers[l];
    if (static_cast<int64_t>(d.heads.kept.size()) != d.heads.size()) layer.keep_attention_units(d.heads.kept);
    if (static_cast<int64_t>(d.neurons.kept.size()) != d.neurons.size()) layer.keep_mlp_neurons(d.neurons.kept);
  }
  model.sync_config_with_modules();
}

void apply_peft_plan(PeftModel& peft, const PruningPlan& plan) {
  check_peft_plan_fits(peft, plan);
  for (const auto& m : plan.modules) {
    if (!m.has_peft())
      unwrap(peft, m.path);
    else if (static_cast<int64_t>(m.kept_ranks.size()) != m.rank())
      peft.layers.at(m.path)->keep_ranks(m.kept_ranks);  // LoRA's scaling stays alpha / r_original
  }
  // Modules already at rank 0 hold no weights: unwrap them too.
  for (const auto& path : peft.injected_paths())
    if (rank_of(peft, path) == 0) unwrap(peft, path);
}

PruneReport apply_plan(PeftModel& peft, const PruningPlan& plan) {
  LP_CHECK(peft.model != nullptr, "apply_plan: null model");
  check_foundation_plan_fits(*peft.model, plan);  // everything checked before anything changes
  check_peft_plan_fits(peft, plan);
  PruneReport report;
  report.before = parameter_counts(peft);
  // PEFT first: modules that lose their LoRA/adapter go back to plain Dense, so the slicing of
  // attention units and neurons touches fewer tensors.
  apply_peft_plan(peft, plan);
  apply_foundation_plan(*peft.model, plan);
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
