#pragma once
// What Light-PEFT masks and physically prunes in one transformer layer, described the same way for
// every family: a layer has attention units (a head for multi-head attention; for grouped-query
// attention a key/value head with the query heads that read it, so a pruned layer keeps whole
// groups and regular shapes) and MLP neurons, and each unit owns a slice of every linear it spans.
//   BERT head h:        rows [h*d, (h+1)*d) of query, key, value; the same columns of attention.output.dense
//   LLaMA KV group g:   rows of g's n_rep query heads in q_proj, rows of g in k_proj, v_proj; o_proj columns
//   GPT-2 head h:       three row slices of the fused c_attn (q, k and v parts); c_proj columns
//   SwiGLU neuron i:    row i of gate_proj and up_proj, column i of down_proj
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

namespace lightpeft {

// Unit u owns indices [offset + u * width, offset + (u + 1) * width) along `dim` (0: output rows,
// 1: input columns) of the linear at `linear`, a path relative to the layer.
struct UnitSlice {
  std::string linear;
  int64_t dim = 0;
  int64_t offset = 0;
  int64_t width = 1;
};

struct UnitStructure {
  int64_t count = 0;
  std::vector<UnitSlice> slices;
};

// A transformer layer that Light-PEFT can mask and prune (every family's layer implements it).
class PrunableLayer {
 public:
  virtual ~PrunableLayer() = default;
  virtual UnitStructure attention_units() const = 0;
  virtual UnitStructure mlp_neurons() const = 0;
  // Physically keep only these units (ascending, distinct): the linears' slices of the others go.
  virtual void keep_attention_units(const std::vector<int64_t>& kept) = 0;
  virtual void keep_mlp_neurons(const std::vector<int64_t>& kept) = 0;
};

// The indices the `units` (ascending, distinct, < structure.count: checked; `what` names them in
// errors) own in each linear they span, by (linear, dim), ascending: the rows/columns of the
// unpruned linear that a layer keeping `units` keeps, the i-th of them becoming its row/column i.
// With every unit, the indices are 0..n-1: a linear's sliced dim holds nothing but unit slices.
using UnitIndices = std::map<std::pair<std::string, int64_t>, std::vector<int64_t>>;
UnitIndices unit_slice_indices(const UnitStructure& structure, const std::vector<int64_t>& units,
                               const char* what);

// Slices every linear of `structure` under `layer` to the `kept` units (checked to be ascending,
// distinct and < structure.count). Slices of one linear along one dim are cut together, so a fused
// linear (GPT-2's c_attn) keeps its q, k and v parts in order. Biases follow their rows.
void prune_unit_slices(torch::nn::Module& layer, const UnitStructure& structure,
                       const std::vector<int64_t>& kept, const char* what);

}  // namespace lightpeft
