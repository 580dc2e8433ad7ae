// Zero padding (pruning/unit_padding.h) on every family: a pruned model's weights padded back to
// the unpruned shapes (and to the widest layer's) compute what the pruned model computes, the
// padded positions hold zeros, and the argument behind it holds for every activation.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/kernels/activation.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/unit_padding.h"
#include "pruning_test_util.h"
#include "test_support.h"

namespace lightpeft {
namespace {

ModelConfig tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 50;
  c.hidden_size = 24;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 6;
  const bool llama = type == "llama" || type == "mistral";
  c.num_key_value_heads = llama ? 3 : 0;  // GQA: units are KV groups of 2 query heads
  c.intermediate_size = 20;
  c.attention_units_per_layer.assign(3, llama ? 3 : 6);
  c.intermediate_per_layer.assign(3, 20);
  c.max_position_embeddings = 32;
  c.hidden_act = llama ? "silu" : type == "gpt2" ? "gelu_new" : type == "opt" ? "relu" : "gelu";
  c.hidden_dropout_prob = 0.0;
  c.attention_probs_dropout_prob = 0.0;
  c.attention_bias = llama;  // q/k/v biases: padded entries must be zero too
  c.mlp_bias = llama;
  c.pad_token_id = type == "roberta" ? 1 : 0;
  c.num_labels = 3;
  return c;
}

HeadKind head_of(const std::string& type) {
  return type == "bert" || type == "roberta" ? HeadKind::sequence_classification : HeadKind::causal_lm;
}

UnitDecision decision(int64_t n, std::vector<int64_t> kept) {
  UnitDecision d;
  d.scores.assign(static_cast<size_t>(n), 0.0f);
  d.kept = std::move(kept);
  return d;
}

// Layer 0 keeps some units, layer 1 none of its attention units and few neurons, layer 2 everything
// but one neuron: every case of the padding.
PruningPlan plan_for(const ModelConfig& c) {
  const int64_t u = c.key_value_heads(), n = c.intermediate_size;
  PruningPlan plan;
  plan.layers.resize(3);
  plan.layers[0].heads = decision(u, u == 3 ? std::vector<int64_t>{0, 2} : std::vector<int64_t>{1, 2, 4});
  plan.layers[0].neurons = decision(n, {0, 3, 4, 9, 15, 19});
  plan.layers[1].heads = decision(u, {});
  plan.layers[1].neurons = decision(n, {7, 8});
  std::vector<int64_t> all;
  for (int64_t i = 0; i < u; ++i) all.push_back(i);
  plan.layers[2].heads = decision(u, all);
  std::vector<int64_t> most;
  for (int64_t i = 0; i < n; ++i)
    if (i != 11) most.push_back(i);
  plan.layers[2].neurons = decision(n, most);
  return plan;
}

ModelInputs inputs(const ModelConfig& c) {
  torch::manual_seed(11);
  ModelInputs in;
  in.input_ids = at::randint(2, c.vocab_size, {2, 7}, at::kLong);
  in.attention_mask = at::ones({2, 7}, at::kLong);
  in.attention_mask.index_put_({1, torch::indexing::Slice(4, 7)}, 0);
  return in;
}

TaskModel model_with(const ModelConfig& c, HeadKind head, const StateDict& weights) {
  auto m = std::make_shared<TaskModelImpl>(c, head);
  load_weights(*m, weights, m->base_model_prefix(), /*strict=*/true, "padded weights");
  m->eval();
  return m;
}

const char* const kFamilies[] = {"bert", "roberta", "llama", "mistral", "opt", "gpt2"};

TEST(UnitPadding, PaddedToTheUnprunedShapesComputesWhatThePrunedModelDoes) {
  torch::NoGradGuard no_grad;
  for (const std::string type : kFamilies) {
    SCOPED_TRACE(type);
    const ModelConfig c = tiny(type);
    torch::manual_seed(5);
    TaskModel model = make_task_model(c, head_of(type));
    {  // nonzero biases everywhere (HF inits them to zero, which would hide unpadded biases)
      for (auto& p : model->named_parameters())
        if (p.key().size() > 5 && p.key().compare(p.key().size() - 5, 5, ".bias") == 0) p.value().normal_(0.0, 0.5);
    }
    model->eval();
    const std::vector<LayerUnits> units = layer_units(*model);
    const at::Tensor unpruned_logits = model->forward(inputs(c)).logits;
    const PruningPlan plan = plan_for(c);
    apply_foundation_plan(*model, plan);
    const at::Tensor pruned_logits = model->forward(inputs(c)).logits;

    const auto selections = pad_to_unpruned(units, plan);
    const UnitPadding padding = make_unit_padding(units, selections);
    const StateDict padded = pad_model_weights(module_state_dict(*model), padding);
    const ModelConfig padded_c = padded_config(model->config(), selections);
    EXPECT_FALSE(padded_c.is_pruned());
    TaskModel back = model_with(padded_c, head_of(type), padded);
    const at::Tensor padded_logits = back->forward(inputs(c)).logits;
    EXPECT_TRUE(at::allclose(padded_logits, pruned_logits, 1e-5, 1e-5))
        << (padded_logits - pruned_logits).abs().max().item<float>();
    EXPECT_GT((unpruned_logits - pruned_logits).abs().max().item<float>(), 1e-4) << "the plan changed nothing";

    // Padded rows/columns are zero, and so are the biases of padded rows.
    for (const auto& [path, lin] : padding) {
      at::Tensor w = padded.at(path + ".weight");
      if (lin.transposed) w = w.t();
      for (const DimPadding& d : lin.dims) {
        at::Tensor keep = at::zeros({d.size}, at::kBool);
        for (int64_t p : d.positions) keep[p] = true;
        const at::Tensor dropped = w.index_select(d.dim, at::nonzero(keep.logical_not()).flatten());
        EXPECT_EQ(dropped.abs().sum().item<float>(), 0.0f) << path;
        if (d.dim == 0 && padded.count(path + ".bias"))
          EXPECT_EQ(padded.at(path + ".bias").masked_select(keep.logical_not()).abs().sum().item<float>(), 0.0f) << path;
      }
    }
  }
}

TEST(UnitPadding, PaddedToTheWidestLayerComputesTheSame) {
  torch::NoGradGuard no_grad;
  for (const std::string type : kFamilies) {
    SCOPED_TRACE(type);
    const ModelConfig c = tiny(type);
    torch::manual_seed(6);
    TaskModel model = make_task_model(c, head_of(type));
    model->eval();
    const std::vector<LayerUnits> units = layer_units(*model);
    const PruningPlan plan = plan_for(c);
    apply_foundation_plan(*model, plan);
    const at::Tensor pruned_logits = model->forward(inputs(c)).logits;
    // Widest: layer 2's count (19 neurons); a multiple of 4 rounds them up to 20, one of 8 leaves
    // them at 19 (24 would exceed the 20 the unpruned layers have).
    for (int64_t multiple : {1, 4, 8}) {
      const auto selections = pad_to_widest(units, plan, multiple);
      for (const auto& s : selections) {
        EXPECT_EQ(s.attention.target.size(), static_cast<size_t>(c.key_value_heads()));
        EXPECT_EQ(s.mlp.target.size(), multiple == 4 ? 20u : 19u) << "multiple " << multiple;
      }
      const ModelConfig padded_c = padded_config(model->config(), selections);
      const StateDict padded = pad_model_weights(module_state_dict(*model), make_unit_padding(units, selections));
      EXPECT_TRUE(at::allclose(model_with(padded_c, head_of(type), padded)->forward(inputs(c)).logits, pruned_logits,
                               1e-5, 1e-5));
    }
    // Only the layer without attention units gets one (zero) unit.
    const auto empty = pad_empty_layers(units, plan);
    EXPECT_EQ(empty[1].attention.target, (std::vector<int64_t>{0}));
    EXPECT_EQ(empty[0].attention.target, empty[0].attention.kept);
    const StateDict padded = pad_model_weights(module_state_dict(*model), make_unit_padding(units, empty));
    EXPECT_TRUE(at::allclose(model_with(padded_config(model->config(), empty), head_of(type), padded)
                                 ->forward(inputs(c)).logits,
                             pruned_logits, 1e-5, 1e-5));
  }
}

// LoRA on a pruned model, padded with the base: the padded adapter on the padded base computes what
// the pruned PEFT model does (loaded through the adapter files, as an export writes them).
TEST(UnitPadding, LoraPaddedWithItsBaseComputesTheSame) {
  torch::NoGradGuard no_grad;
  for (const std::string type : {"bert", "llama", "gpt2"}) {
    SCOPED_TRACE(type);
    const ModelConfig c = tiny(type);
    torch::manual_seed(7);
    TaskModel model = make_task_model(c, head_of(type));
    const std::vector<LayerUnits> units = layer_units(*model);
    // LoRA is injected after pruning here, so no layer may be left without attention units (a LoRA
    // A of zero input columns has no initialisation; a run drops such modules with their units).
    PruningPlan plan = plan_for(c);
    plan.layers[1].heads.kept = {1};
    apply_foundation_plan(*model, plan);
    LoraConfig lc;
    lc.r = 3;
    lc.lora_alpha = 6;
    lc.target_modules = TargetModules::list(model->family().all_linear_targets);
    lc.task_type = head_of(type) == HeadKind::causal_lm ? "CAUSAL_LM" : "SEQ_CLS";
    PeftModel peft = inject_lora(model, lc);
    testing::randomise_peft(peft);
    peft.model->eval();
    const at::Tensor expected = peft.forward(inputs(c)).logits;

    const auto selections = pad_to_unpruned(units, plan);
    const UnitPadding padding = make_unit_padding(units, selections);
    const StateDict adapter = pad_lora_weights(adapter_state_dict(peft), padding);
    const LoraConfig config = effective_lora_config(peft);
    TaskModel base = unload(peft);
    TaskModel padded_base = model_with(padded_config(base->config(), selections), head_of(type),
                                       pad_model_weights(module_state_dict(*base), padding));
    testing::TempDir dir;
    std::filesystem::create_directories(dir / "adapter");
    testing::write_file(dir / "adapter" / kAdapterConfigFile, lora_config_to_json(config));
    save_safetensors(dir / "adapter" / kAdapterWeightsFile, adapter);
    PeftModel loaded = load_adapter(padded_base, dir / "adapter");
    loaded.model->eval();
    const at::Tensor got = loaded.forward(inputs(c)).logits;
    EXPECT_TRUE(at::allclose(got, expected, 1e-5, 1e-5)) << (got - expected).abs().max().item<float>();
  }
}

// The argument's premise: act(0) == 0 for every activation the families use (an MLP neuron with
// zero input rows and bias contributes act(0) times a zero column).
TEST(UnitPadding, EveryActivationMapsZeroToZero) {
  for (const char* act : {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu"}) {
    const at::Tensor y = apply_activation(act, at::zeros({4}));
    EXPECT_EQ(y.abs().sum().item<float>(), 0.0f) << act;
  }
}

TEST(UnitPadding, SelectionsThatDoNotFitAreRefused) {
  const ModelConfig c = tiny("bert");
  TaskModel model = make_task_model(c, HeadKind::sequence_classification);
  const auto units = layer_units(*model);
  EXPECT_EQ(units[1].path, "bert.encoder.layer.1");
  auto selections = pad_to_unpruned(units, plan_for(c));
  selections[0].attention.kept = {7};
  EXPECT_THROW(make_unit_padding(units, selections), Error);
  PruningPlan two_layers = plan_for(c);
  two_layers.layers.pop_back();
  EXPECT_THROW(pad_to_unpruned(units, two_layers), Error);
  EXPECT_THROW(pad_model_weights({}, make_unit_padding(units, pad_to_unpruned(units, plan_for(c)))), Error);
}

}  // namespace
}  // namespace lightpeft
