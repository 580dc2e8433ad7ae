// lightpeft against HF transformers + peft on the committed goldens of tools/make_golden.py
// (tests/golden/data/<arch>): a tiny random-init BERT (3 classes) and RoBERTa (regression) with an
// adapter HF PEFT saved. Checks, fp32 on CPU: hidden states of every layer and logits (1e-5
// relative), the loss and the gradients of LoRA A/B, the classifier and Light-PEFT's head/FFN masks
// (1e-4), and the weights after 3 AdamW steps as lightpeft's trainer takes them (1e-4 on the
// updates). No python at test time: the goldens are in the source tree.
#include <fstream>
#include <string>

#include <ATen/ops/abs.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/train/optimizer.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path golden(const std::string& arch) {
  return testing::source_dir() / "tests" / "golden" / "data" / arch;
}

// |actual - expected| <= atol + rtol * |expected| everywhere; the failure names the worst element.
void expect_close(const at::Tensor& actual, const at::Tensor& expected, double rtol, double atol,
                  const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": no tensor";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  auto a = actual.detach().to(at::kDouble), e = expected.to(at::kDouble);
  auto excess = (a - e).abs() - (e.abs() * rtol + atol);
  const double worst = excess.max().item<double>();
  EXPECT_LE(worst, 0.0) << what << ": max |diff| " << (a - e).abs().max().item<double>()
                        << " exceeds atol " << atol << " + rtol " << rtol << " * |expected|";
}

// Relative error of the whole tensor: ||actual - expected||_2 <= atol + rtol * ||expected||_2. For
// gradients and AdamW updates: elements that cancel to nearly zero carry the rounding of everything
// summed into them, and Adam's m / (sqrt(v) + eps) amplifies that where |grad| is near eps (HF's own
// fp32 run differs from an fp64 run by ~1e-4 element-wise there), so an element-wise bound would
// measure summation order, not correctness. A wrong decay group, schedule or clip is off by >1e-2.
void expect_close_normwise(const at::Tensor& actual, const at::Tensor& expected, double rtol,
                           double atol, const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what << ": no tensor";
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  auto a = actual.detach().to(at::kDouble), e = expected.to(at::kDouble);
  const double diff = (a - e).norm().item<double>();
  const double scale = e.norm().item<double>();
  EXPECT_LE(diff, atol + rtol * scale)
      << what << ": ||diff|| " << diff << " vs ||expected|| " << scale << " (relative "
      << diff / scale << ", allowed " << rtol << "); max |diff| " << (a - e).abs().max().item<double>();
}

struct Golden {
  std::string arch;
  StateDict t;  // expected.safetensors
  json meta;    // golden.json
  ModelInputs inputs;
};

Golden read_golden(const std::string& arch) {
  Golden g;
  g.arch = arch;
  const auto dir = golden(arch);
  if (!fs::exists(dir / "expected.safetensors"))
    throw std::runtime_error("golden files missing in " + dir.string() +
                             " (regenerate with tools/make_golden.py)");
  g.t = load_safetensors(dir / "expected.safetensors");
  g.meta = json::parse(testing::read_file(dir / "golden.json"));
  g.inputs.input_ids = g.t.at("input_ids");
  g.inputs.attention_mask = g.t.at("attention_mask");
  if (arch == "bert") g.inputs.token_type_ids = g.t.at("token_type_ids");
  return g;
}

PeftModel load_peft(const Golden& g) {
  auto base = load_pretrained(golden(g.arch) / "model", {HeadKind::sequence_classification, 0, true});
  EXPECT_TRUE(base.report.clean()) << base.report.summary();
  auto peft = load_adapter(base.model, golden(g.arch) / "adapter");
  peft.model->eval();  // the goldens are dropout-free
  return peft;
}

class HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParity, HiddenStatesAndLogitsOfTheBaseModel) {
  auto g = read_golden(GetParam());
  auto loaded = load_pretrained(golden(g.arch) / "model", {HeadKind::sequence_classification, 0, true});
  ASSERT_TRUE(loaded.report.clean()) << loaded.report.summary();
  loaded.model->eval();
  torch::NoGradGuard no_grad;
  auto out = loaded.model->forward(g.inputs, {}, /*output_hidden_states=*/true);
  ASSERT_EQ(out.hidden_states.size(),
            static_cast<size_t>(loaded.model->config().num_hidden_layers + 1));
  for (size_t i = 0; i < out.hidden_states.size(); ++i) {
    const auto key = "hidden_states." + std::to_string(i);
    expect_close(out.hidden_states[i], g.t.at(key), 1e-5, 1e-6, g.arch + " " + key);
  }
  expect_close(out.logits, g.t.at("logits"), 1e-5, 1e-6, g.arch + " logits");
}

TEST_P(HfParity, PeftSavedAdapterLoadsAndGivesPeftLogits) {
  auto g = read_golden(GetParam());
  auto peft = load_peft(g);
  EXPECT_FALSE(peft.layers.empty());
  torch::NoGradGuard no_grad;
  expect_close(peft.forward(g.inputs).logits, g.t.at("lora.logits"), 1e-5, 1e-6,
               g.arch + " base+adapter logits");
  // Every tensor of the adapter file made it in, with peft's keys.
  auto file = load_safetensors(golden(g.arch) / "adapter" / kAdapterWeightsFile);
  auto ours = adapter_state_dict(peft);
  ASSERT_EQ(ours.size(), file.size());
  for (const auto& [k, v] : file) {
    ASSERT_TRUE(ours.count(k)) << "no " << k;
    EXPECT_TRUE(ours.at(k).equal(v)) << k;
  }
}

TEST_P(HfParity, LossAndGradientsOfLoraAndMasks) {
  auto g = read_golden(GetParam());
  auto peft = load_peft(g);
  FoundationMasks masks(peft.model->config());
  {
    torch::NoGradGuard no_grad;
    for (int64_t l = 0; l < masks->num_layers(); ++l) {
      const auto p = "mask.layer." + std::to_string(l);
      masks->head_mask(l).copy_(g.t.at(p + ".early_attn_mask"));
      masks->neuron_mask(l).copy_(g.t.at(p + ".early_ffn_mask"));
    }
  }
  masks->set_trainable(true);
  auto out = peft.forward(g.inputs, masks->layer_masks());
  expect_close(out.logits, g.t.at("masked.logits"), 1e-5, 1e-6, g.arch + " masked logits");
  auto loss = sequence_classification_loss(peft.model->config(), out.logits, g.t.at("labels"));
  expect_close(loss.reshape({1}), g.t.at("masked.loss"), 1e-5, 0.0, g.arch + " loss");
  (loss + masks->l1_penalty() * g.meta.at("l1_lambda").get<double>()).backward();

  size_t compared = 0;
  for (const auto& [key, param] : adapter_state_dict(peft)) {
    ASSERT_TRUE(g.t.count("grad." + key)) << "HF has no gradient for " << key;
    expect_close_normwise(param.grad(), g.t.at("grad." + key), 1e-4, 0.0, g.arch + " grad " + key);
    ++compared;
  }
  EXPECT_EQ(compared, g.meta.at("trainable").size());
  for (int64_t l = 0; l < masks->num_layers(); ++l) {
    const auto p = "layer." + std::to_string(l);
    expect_close_normwise(masks->head_mask(l).grad(), g.t.at("grad." + p + ".early_attn_mask"), 1e-4, 0.0,
                 g.arch + " grad " + p + " head mask");
    expect_close_normwise(masks->neuron_mask(l).grad(), g.t.at("grad." + p + ".early_ffn_mask"), 1e-4, 0.0,
                 g.arch + " grad " + p + " FFN mask");
  }
}

TEST_P(HfParity, ThreeAdamWStepsWithLora) {
  auto g = read_golden(GetParam());
  auto peft = load_peft(g);
  const auto& o = g.meta.at("optim");
  OptimConfig optim;
  optim.learning_rate = o.at("learning_rate");
  optim.weight_decay = o.at("weight_decay");
  optim.adam_beta1 = o.at("adam_beta1");
  optim.adam_beta2 = o.at("adam_beta2");
  optim.adam_epsilon = o.at("adam_epsilon");
  optim.max_grad_norm = o.at("max_grad_norm");
  optim.lr_scheduler_type = *parse_enum<LrScheduler>(o.at("lr_scheduler_type").get<std::string>());
  optim.warmup_steps = o.at("warmup_steps");
  const int64_t total = o.at("total_steps"), steps = o.at("steps");

  StateDict before;
  for (const auto& [k, v] : adapter_state_dict(peft)) before[k] = v.detach().clone();
  Optimizer optimizer(default_param_groups(*peft.model, optim), optim);
  // The order of run_train_loop: forward, backward, schedule, clip, AdamW, zero.
  for (int64_t step = 0; step < steps; ++step) {
    auto logits = peft.forward(g.inputs).logits;
    auto loss = sequence_classification_loss(peft.model->config(), logits, g.t.at("labels"));
    expect_close(loss.detach().reshape({1}), g.t.at("step" + std::to_string(step) + ".loss"), 1e-5,
                 0.0, g.arch + " loss at step " + std::to_string(step));
    loss.backward();
    optimizer.set_lr_multiplier(
        lr_multiplier(optim.lr_scheduler_type, step, total, warmup_steps_for(optim, total)));
    optimizer.clip_grad_norm(optim.max_grad_norm);
    optimizer.step();
    optimizer.zero_grad();
  }
  size_t compared = 0;
  for (const auto& [key, param] : adapter_state_dict(peft)) {
    const auto& after = g.t.at("after." + key);
    const auto& initial = before.at(key);
    expect_close_normwise(param - initial, after - initial, 1e-4, 0.0, g.arch + " update of " + key);
    // Element-wise, each weight within 1e-4 of the largest update AdamW can make in these steps
    // (about lr per step): the rounding Adam amplifies near eps (above) stays far below that.
    expect_close(param, after, 1e-5, 1e-4 * optim.learning_rate * static_cast<double>(steps),
                 g.arch + " weights of " + key);
    ++compared;
  }
  EXPECT_EQ(compared, g.meta.at("trainable").size());
}

INSTANTIATE_TEST_SUITE_P(TinyModels, HfParity, ::testing::Values("bert", "roberta"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace lightpeft
