#include "lightpeft/pruning/unit_padding.h"

#include <algorithm>

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/peft/peft_layer.h"

namespace lightpeft {
namespace {

std::vector<int64_t> all_units(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

bool stored_transposed(const LinearPtr& linear) {
  if (auto* dense = dynamic_cast<const DenseImpl*>(linear.get())) return dense->fan_in_fan_out();
  if (auto* peft = dynamic_cast<const PeftLayer*>(linear.get())) return peft->base_layer->fan_in_fan_out();
  throw_error("unit padding: the linear is neither a Dense nor a PEFT wrapper of one");
}

// The kept units of layer `l` for one granularity: the plan's, or all of them without a plan.
std::vector<int64_t> kept_units(const PruningPlan& plan, size_t l, bool attention, int64_t count) {
  if (plan.layers.empty()) return all_units(count);
  const UnitDecision& d = attention ? plan.layers[l].heads : plan.layers[l].neurons;
  LP_CHECK(d.size() == count, "unit padding: layer ", l, ": the plan has ", d.size(),
           attention ? " attention units" : " MLP neurons", ", the unpruned model ", count);
  return d.kept;
}

void check_plan_layers(const std::vector<LayerUnits>& layers, const PruningPlan& plan) {
  LP_CHECK(plan.layers.empty() || plan.layers.size() == layers.size(), "unit padding: the plan has ",
           plan.layers.size(), " layers, the model ", layers.size());
}

// kept plus the lowest-numbered other units up to `width` units (ascending).
std::vector<int64_t> widen(const std::vector<int64_t>& kept, int64_t width) {
  std::vector<int64_t> target = kept;
  std::set<int64_t> have(kept.begin(), kept.end());
  for (int64_t u = 0; static_cast<int64_t>(target.size()) < width; ++u)
    if (!have.count(u)) target.push_back(u);
  std::sort(target.begin(), target.end());
  return target;
}

int64_t position_of(const std::vector<int64_t>& sorted, int64_t value) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), value);
  LP_CHECK(it != sorted.end() && *it == value, "unit padding: index ", value, " of a kept unit is not in the target");
  return static_cast<int64_t>(it - sorted.begin());
}

// Pads `t` along `dim`: a zero tensor of `size` there, with t's slices at `positions`.
at::Tensor pad_along(const at::Tensor& t, int64_t dim, int64_t size, const std::vector<int64_t>& positions,
                     const std::string& key) {
  LP_CHECK(t.dim() > dim && t.size(dim) == static_cast<int64_t>(positions.size()), "unit padding: '", key,
           "' has shape ", t.sizes(), " but the pruned model's ", dim == 0 ? "rows" : "columns", " along dim ",
           dim, " number ", positions.size());
  auto sizes = t.sizes().vec();
  sizes[static_cast<size_t>(dim)] = size;
  at::Tensor out = at::zeros(sizes, t.options());
  out.index_copy_(dim, at::tensor(positions, at::kLong).to(t.device()), t);
  return out;
}

}  // namespace

std::vector<LayerUnits> layer_units(const TaskModelImpl& model) {
  std::vector<LayerUnits> out(static_cast<size_t>(model.num_layers()));
  // Each layer's module path: the module that is that layer.
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* layer = dynamic_cast<const PrunableLayer*>(item.value().get());
    if (layer == nullptr) continue;
    for (int64_t l = 0; l < model.num_layers(); ++l)
      if (&model.layer(l) == layer) out[static_cast<size_t>(l)].path = item.key();
  }
  for (int64_t l = 0; l < model.num_layers(); ++l) {
    LayerUnits& u = out[static_cast<size_t>(l)];
    LP_CHECK(!u.path.empty(), "unit padding: layer ", l, " is not a module of the model");
    u.attention = model.layer(l).attention_units();
    u.mlp = model.layer(l).mlp_neurons();
    for (const auto* s : {&u.attention, &u.mlp})
      for (const UnitSlice& slice : s->slices)
        if (stored_transposed(find_linear_slot(model, u.path + "." + slice.linear).get()))
          u.transposed.insert(slice.linear);
  }
  return out;
}

std::vector<LayerSelection> pad_to_unpruned(const std::vector<LayerUnits>& layers, const PruningPlan& plan) {
  check_plan_layers(layers, plan);
  std::vector<LayerSelection> out(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    out[l].attention = {kept_units(plan, l, true, layers[l].attention.count), all_units(layers[l].attention.count)};
    out[l].mlp = {kept_units(plan, l, false, layers[l].mlp.count), all_units(layers[l].mlp.count)};
  }
  return out;
}

std::vector<LayerSelection> pad_to_widest(const std::vector<LayerUnits>& layers, const PruningPlan& plan,
                                          int64_t neuron_multiple) {
  check_plan_layers(layers, plan);
  LP_CHECK(neuron_multiple >= 1, "unit padding: neuron_multiple must be >= 1, got ", neuron_multiple);
  std::vector<LayerSelection> out(layers.size());
  int64_t units = 1, neurons = 1, max_units = 0, max_neurons = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    out[l].attention.kept = kept_units(plan, l, true, layers[l].attention.count);
    out[l].mlp.kept = kept_units(plan, l, false, layers[l].mlp.count);
    units = std::max<int64_t>(units, static_cast<int64_t>(out[l].attention.kept.size()));
    neurons = std::max<int64_t>(neurons, static_cast<int64_t>(out[l].mlp.kept.size()));
    max_units = l == 0 ? layers[l].attention.count : std::min(max_units, layers[l].attention.count);
    max_neurons = l == 0 ? layers[l].mlp.count : std::min(max_neurons, layers[l].mlp.count);
  }
  const int64_t rounded = (neurons + neuron_multiple - 1) / neuron_multiple * neuron_multiple;
  if (rounded <= max_neurons) neurons = rounded;
  for (auto& s : out) {
    s.attention.target = widen(s.attention.kept, std::min(units, max_units));
    s.mlp.target = widen(s.mlp.kept, std::min(neurons, max_neurons));
  }
  return out;
}

std::vector<LayerSelection> pad_empty_layers(const std::vector<LayerUnits>& layers, const PruningPlan& plan) {
  check_plan_layers(layers, plan);
  std::vector<LayerSelection> out(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    out[l].attention.kept = kept_units(plan, l, true, layers[l].attention.count);
    out[l].mlp.kept = kept_units(plan, l, false, layers[l].mlp.count);
    out[l].attention.target = widen(out[l].attention.kept, std::min<int64_t>(1, layers[l].attention.count));
    out[l].mlp.target = widen(out[l].mlp.kept, std::min<int64_t>(1, layers[l].mlp.count));
  }
  return out;
}

UnitPadding make_unit_padding(const std::vector<LayerUnits>& layers, const std::vector<LayerSelection>& selections) {
  LP_CHECK(layers.size() == selections.size(), "unit padding: ", selections.size(), " layer selections for ",
           layers.size(), " layers");
  UnitPadding padding;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerUnits& layer = layers[l];
    std::set<std::pair<std::string, int64_t>> seen;
    for (const bool attention : {true, false}) {
      const UnitStructure& structure = attention ? layer.attention : layer.mlp;
      const UnitSelection& sel = attention ? selections[l].attention : selections[l].mlp;
      const char* what = attention ? "attention units" : "MLP neurons";
      for (int64_t u : sel.kept)
        LP_CHECK(std::binary_search(sel.target.begin(), sel.target.end(), u), "unit padding: layer ", l, ": kept ",
                 what, " ", u, " is not among the padded model's");
      const UnitIndices kept = unit_slice_indices(structure, sel.kept, what);
      const UnitIndices target = unit_slice_indices(structure, sel.target, what);
      for (const auto& [key, kept_idx] : kept) {
        LP_CHECK(seen.insert(key).second, "unit padding: layer ", l, ": '", key.first, "' dim ", key.second,
                 " is spanned by both attention units and MLP neurons");
        const std::vector<int64_t>& target_idx = target.at(key);
        DimPadding d;
        d.dim = key.second;
        d.size = static_cast<int64_t>(target_idx.size());
        for (int64_t i : kept_idx) d.positions.push_back(position_of(target_idx, i));
        LinearPadding& lin = padding[layer.path + "." + key.first];
        lin.transposed = layer.transposed.count(key.first) != 0;
        lin.dims.push_back(std::move(d));
      }
    }
  }
  return padding;
}

StateDict pad_model_weights(const StateDict& weights, const UnitPadding& padding) {
  StateDict out = weights;
  for (const auto& [path, lin] : padding) {
    const std::string wkey = path + ".weight", bkey = path + ".bias";
    auto w = out.find(wkey);
    LP_CHECK(w != out.end(), "unit padding: the model's weights have no '", wkey, "'");
    for (const DimPadding& d : lin.dims) {
      w->second = pad_along(w->second, lin.transposed ? 1 - d.dim : d.dim, d.size, d.positions, wkey);
      if (d.dim != 0) continue;
      if (auto b = out.find(bkey); b != out.end()) b->second = pad_along(b->second, 0, d.size, d.positions, bkey);
    }
  }
  return out;
}

StateDict pad_lora_weights(const StateDict& adapter, const UnitPadding& padding) {
  static const std::string prefix = "base_model.model.";
  StateDict out = adapter;
  for (const auto& [path, lin] : padding) {
    for (const DimPadding& d : lin.dims) {
      // LoRA's factors are plain linears whatever the base's storage: A (r, in), B (out, r).
      const std::string key = prefix + path + (d.dim == 0 ? ".lora_B.weight" : ".lora_A.weight");
      if (auto t = out.find(key); t != out.end()) t->second = pad_along(t->second, d.dim, d.size, d.positions, key);
    }
  }
  return out;
}

ModelConfig padded_config(ModelConfig config, const std::vector<LayerSelection>& selections) {
  LP_CHECK(static_cast<int64_t>(selections.size()) == config.num_hidden_layers, "unit padding: ",
           selections.size(), " layer selections for a config of ", config.num_hidden_layers, " layers");
  for (size_t l = 0; l < selections.size(); ++l) {
    config.attention_units_per_layer[l] = static_cast<int64_t>(selections[l].attention.target.size());
    config.intermediate_per_layer[l] = static_cast<int64_t>(selections[l].mlp.target.size());
  }
  return config;
}

}  // namespace lightpeft
