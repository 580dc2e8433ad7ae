#pragma once
// Zero padding: a pruned model's weights written back at the shapes of a wider model, the pruned
// attention units and MLP neurons as zero rows/columns (and zero bias entries) at their positions.
// What `lightpeft export --format hf` writes (every unit back, so HF transformers' shapes hold) and
// what the GGUF export uses to give every layer the widest layer's shapes (llama.cpp's llama graph
// takes one head count and one FFN width for all layers).
//
// Why the padded model computes what the pruned one does, for every family and activation: a padded
// unit's input rows (and biases) are zero and its output columns are zero, so whatever the unit
// computes in between is multiplied by zero columns. For that product to be 0 the in-between must
// be finite, and it is exactly 0 anyway: an MLP neuron gets act(0) (= 0 for gelu, gelu_new, relu,
// silu, and SwiGLU's act(0) * 0), an attention unit gets q = k = 0, so uniform softmax weights over
// v = 0 rows: a zero context. Output biases are kept whole by pruning, so nothing else changes.
// (tests/pruning/test_unit_padding.cpp checks both on every family.)
//
// The padding is written once, over the families' own description of what each unit spans
// (models/prunable.h), recorded from the model before it was pruned: no family is named here.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lightpeft/io/state_dict.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/prunable.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/pruning/pruning_plan.h"

namespace lightpeft {

// One layer of a model before pruning: where it is and what its units span.
struct LayerUnits {
  std::string path;  // module path of the layer ("bert.encoder.layer.3", "model.layers.0")
  UnitStructure attention, mlp;
  // Linears (paths relative to the layer) whose weight is stored (in, out): GPT-2's Conv1D.
  std::set<std::string> transposed;
};
// Every layer of `model` (read before it is pruned: the offsets of fused linears depend on the
// unit count).
std::vector<LayerUnits> layer_units(const TaskModelImpl& model);

// Per layer and granularity: the units (of the unpruned layer) the pruned model kept, and the
// units the padded model has; kept is a subset of target, both ascending.
struct UnitSelection {
  std::vector<int64_t> kept, target;
};
struct LayerSelection {
  UnitSelection attention, mlp;
};

// The plan's kept units, padded back to every unit of the unpruned layers (HF's shapes). A plan
// without layer decisions (a run that pruned no units) keeps everything.
std::vector<LayerSelection> pad_to_unpruned(const std::vector<LayerUnits>& layers, const PruningPlan& plan);
// The plan's kept units, each layer padded to the widest layer's count (at least 1: no zero-size
// weights), the neurons' count rounded up to a multiple of `neuron_multiple` where the unpruned
// layers have that many (so a block-quantized down projection stays quantizable). The extra units
// are the lowest-numbered pruned ones (they are zeros; which ones does not matter).
std::vector<LayerSelection> pad_to_widest(const std::vector<LayerUnits>& layers, const PruningPlan& plan,
                                          int64_t neuron_multiple = 1);
// No padding, except that a layer that kept no unit gets one zero unit (no zero-size weights).
std::vector<LayerSelection> pad_empty_layers(const std::vector<LayerUnits>& layers, const PruningPlan& plan);

// Where a pruned linear's rows (dim 0) or columns (dim 1) go in the padded one: its index i
// becomes `positions[i]` of `size`.
struct DimPadding {
  int64_t dim = 0;
  int64_t size = 0;
  std::vector<int64_t> positions;
};
struct LinearPadding {
  bool transposed = false;  // weight stored (in, out)
  std::vector<DimPadding> dims;
};
// By the linear's full module path ("model.layers.0.self_attn.q_proj").
using UnitPadding = std::map<std::string, LinearPadding>;

// The padding of every linear a unit spans. Throws lightpeft::Error when a selection does not fit
// its layer (counts, kept not within target) or one linear's dim is spanned by both granularities.
UnitPadding make_unit_padding(const std::vector<LayerUnits>& layers, const std::vector<LayerSelection>& selections);

// A pruned model's weights (HF keys) padded: "<linear>.weight" (transposed ones along the stored
// dim) and "<linear>.bias" for rows; everything else as it is. Every padded linear's weight must be
// there (lightpeft::Error naming the key otherwise).
StateDict pad_model_weights(const StateDict& weights, const UnitPadding& padding);
// A LoRA adapter's weights (adapter_model.safetensors keys: "base_model.model.<linear>.lora_A.weight"
// (r, in) and ".lora_B.weight" (out, r)) padded to the padded base: zero A columns for padded input
// columns, zero B rows for padded output rows, so B A has the padded base's shape and zeros at the
// padded positions. Modules without LoRA (pruned modules) and other keys are left as they are.
StateDict pad_lora_weights(const StateDict& adapter, const UnitPadding& padding);

// `config` (the pruned model's) with the per-layer counts of the padded model.
ModelConfig padded_config(ModelConfig config, const std::vector<LayerSelection>& selections);

}  // namespace lightpeft
