// Shapes, per-layer head/FFN sizes, physical pruning equivalent to masking, and init-model files
// that load back bit-exactly.
#include <gtest/gtest.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/models/bert.h"
#include "test_support.h"

namespace lightpeft {
namespace {

ModelConfig tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 50;
  c.hidden_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 3;
  c.intermediate_size = 20;
  c.attention_units_per_layer = {3, 3};
  c.intermediate_per_layer = {20, 20};
  c.max_position_embeddings = 32;
  c.pad_token_id = type == "roberta" ? 1 : 0;
  c.num_labels = 2;
  return c;
}

ModelInputs random_inputs(int64_t batch, int64_t seq, int64_t vocab) {
  ModelInputs in;
  in.input_ids = at::randint(2, vocab, {batch, seq}, at::kLong);
  in.attention_mask = at::ones({batch, seq}, at::kLong);
  in.attention_mask.index_put_({1, torch::indexing::Slice(seq - 3, seq)}, 0);
  return in;
}

TEST(ModelStructure, OutputShapesForBothArchitectures) {
  torch::manual_seed(0);
  for (auto type : {"bert", "roberta"}) {
    auto model = make_task_model(tiny(type), HeadKind::sequence_classification);
    model->eval();
    auto out = model->forward(random_inputs(2, 7, 50), {}, true);
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 2}));
    ASSERT_EQ(out.hidden_states.size(), 3u);
    EXPECT_EQ(out.hidden_states.back().sizes(), (std::vector<int64_t>{2, 7, 24}));
  }
}

TEST(ModelStructure, PerLayerHeadsAndWidthsBuildTheRightShapes) {
  ModelConfig c = tiny("bert");
  c.attention_units_per_layer = {2, 0};
  c.intermediate_per_layer = {5, 0};
  auto model = make_task_model(c, HeadKind::sequence_classification);
  auto sd = module_state_dict(*model);
  EXPECT_EQ(sd.at("bert.encoder.layer.0.attention.self.query.weight").sizes(),
            (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(sd.at("bert.encoder.layer.0.attention.output.dense.weight").sizes(),
            (std::vector<int64_t>{24, 16}));
  EXPECT_EQ(sd.at("bert.encoder.layer.1.attention.self.key.weight").sizes(),
            (std::vector<int64_t>{0, 24}));
  EXPECT_EQ(sd.at("bert.encoder.layer.0.intermediate.dense.weight").sizes(),
            (std::vector<int64_t>{5, 24}));
  EXPECT_EQ(sd.at("bert.encoder.layer.1.output.dense.weight").sizes(),
            (std::vector<int64_t>{24, 0}));
  // A layer with no heads and no neurons still runs (it adds only the output biases).
  model->eval();
  auto out = model->forward(random_inputs(2, 5, 50));
  EXPECT_TRUE(out.logits.isfinite().all().item<bool>());
}

// Keeping heads/neurons physically gives the output of zero masks on the removed ones.
TEST(ModelStructure, PhysicalPruningEqualsZeroMasks) {
  torch::manual_seed(3);
  for (auto type : {"bert", "roberta"}) {
    ModelConfig c = tiny(type);
    auto model = make_task_model(c, HeadKind::sequence_classification);
    model->eval();
    auto in = random_inputs(2, 6, 50);
    std::vector<LayerMasks> masks(2);
    masks[0].head = at::ones({1, 3, 1, 1});
    masks[0].head.index_put_({0, 1}, 0.0);
    masks[0].neuron = at::ones({1, 20});
    for (int i : {0, 3, 4, 19}) masks[0].neuron.index_put_({0, i}, 0.0);
    masks[1].head = at::ones({1, 3, 1, 1});
    masks[1].head.index_put_({0, 0}, 0.0);
    masks[1].head.index_put_({0, 2}, 0.0);
    masks[1].neuron = at::zeros({1, 20});
    torch::NoGradGuard no_grad;
    auto masked = model->forward(in, masks).logits;

    model->layer(0).keep_attention_units({0, 2});
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < 20; ++i)
      if (i != 0 && i != 3 && i != 4 && i != 19) keep.push_back(i);
    model->layer(0).keep_mlp_neurons(keep);
    model->layer(1).keep_attention_units({1});
    model->layer(1).keep_mlp_neurons({});
    model->sync_config_with_modules();
    EXPECT_EQ(model->config().attention_units_per_layer, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(model->config().intermediate_per_layer, (std::vector<int64_t>{16, 0}));
    auto pruned = model->forward(in).logits;
    EXPECT_TRUE(at::allclose(masked, pruned, 1e-5, 1e-6)) << type << "\n"
                                                          << masked << "\n" << pruned;
  }
}

TEST(ModelStructure, KeepHeadsRejectsOutOfRangeHeads) {
  auto model = make_task_model(tiny("bert"), HeadKind::sequence_classification);
  EXPECT_THROW(model->layer(0).keep_attention_units({0, 3}), Error);
  EXPECT_THROW(model->layer(0).keep_mlp_neurons({20}), Error);
}

TEST(ModelStructure, InitMatchesHfInitialisation) {
  torch::manual_seed(1);
  ModelConfig c = tiny("roberta");
  c.hidden_size = 96;
  c.num_attention_heads = 4;
  c.attention_units_per_layer = {4, 4};
  c.intermediate_size = 200;
  c.intermediate_per_layer = {200, 200};
  auto sd = module_state_dict(*make_task_model(c, HeadKind::sequence_classification));
  auto w = sd.at("roberta.encoder.layer.0.intermediate.dense.weight");
  EXPECT_NEAR(w.std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.002);
  EXPECT_TRUE(sd.at("roberta.encoder.layer.0.intermediate.dense.bias").eq(0).all().item<bool>());
  EXPECT_TRUE(sd.at("roberta.embeddings.LayerNorm.weight").eq(1).all().item<bool>());
  // The padding rows of word and position embeddings are zero, as HF leaves them.
  EXPECT_TRUE(sd.at("roberta.embeddings.word_embeddings.weight")[1].eq(0).all().item<bool>());
  EXPECT_TRUE(sd.at("roberta.embeddings.position_embeddings.weight")[1].eq(0).all().item<bool>());
}

TEST(ModelStructure, SavePretrainedLoadsBackBitExactly) {
  torch::manual_seed(5);
  testing::TempDir dir;
  for (auto type : {"bert", "roberta"}) {
    ModelConfig c = tiny(type);
    c.attention_units_per_layer = {2, 3};  // a pruned model keeps its per-layer shapes
    auto model = make_task_model(c, HeadKind::sequence_classification);
    save_pretrained(*model, dir.path());
    auto loaded = load_pretrained(dir.path(), {HeadKind::sequence_classification, 0, true});
    EXPECT_TRUE(loaded.report.clean()) << loaded.report.summary();
    EXPECT_EQ(loaded.model->config().attention_units_per_layer, c.attention_units_per_layer);
    auto a = module_state_dict(*model), b = module_state_dict(*loaded.model);
    for (const auto& [k, v] : a) EXPECT_TRUE(v.equal(b.at(k))) << k;
  }
}

TEST(ModelStructure, LossMatchesTaskKind) {
  ModelConfig c = tiny("bert");
  auto logits = at::zeros({4, 2});
  auto ce = sequence_classification_loss(c, logits, at::zeros({4}, at::kLong));
  EXPECT_NEAR(ce.item<double>(), std::log(2.0), 1e-6);
  c.num_labels = 1;
  c.problem_type = ProblemType::regression;
  auto mse = sequence_classification_loss(c, at::ones({4, 1}), at::zeros({4}));
  EXPECT_NEAR(mse.item<double>(), 1.0, 1e-6);
}

}  // namespace
}  // namespace lightpeft
