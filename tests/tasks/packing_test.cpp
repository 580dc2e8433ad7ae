// The batcher's token labels and packing, and the causal LM loss: a packed batch has exactly the
// loss of its rows batched unpacked (each row keeps its positions and attends only to itself, and
// no token predicts the next row), and the loss from the labelled positions' logits only equals the
// loss from all logits.
#include <gtest/gtest.h>

#include <ATen/ops/allclose.h>
#include <torch/torch.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/batcher.h"
#include "lightpeft/models/heads.h"
#include "lightpeft/tasks/causal_lm_task.h"
#include "lightpeft/tasks/causal_lm_encoding.h"
#include "tasks_test_util.h"

namespace lightpeft {
namespace {

// Rows of different lengths with a prompt and a response.
std::vector<EncodedExample> rows_of(const Tokenizer& tok) {
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"Instruction: add 2 and 3\nResponse: ", "5"},       {"Say hi.\n", "hi there, friend"},
      {"Q: colour of the sky?\nA:", " blue"},             {"x", "yyyy"},
      {"A longer prompt that takes most of a pack\n", "ok"}, {"Q: 1+1?\nA:", " 2"},
      {"Name a fruit: ", "apple"}};
  std::vector<EncodedExample> out;
  for (const auto& [p, r] : texts) {
    LmSequence s = encode_turns(tok, {{p, r}}, 64);
    EncodedExample e;
    e.input_ids = s.ids;
    e.token_labels = s.labels;
    out.push_back(e);
  }
  return out;
}

TEST(Packing, PacksAreGreedyInOrderWithSegments) {
  testing::TempDir dir;
  testing::write_byte_tokenizer(dir.path(), false);
  auto tok = load_tokenizer(dir.path());
  const auto rows = rows_of(*tok);
  BatcherOptions o;
  o.batch_size = 2;
  o.pad_id = testing::kPad;
  o.pack_length = 64;
  Batcher packed(rows, o);
  int64_t total = 0;
  for (int64_t i = 0; i < packed.num_items(); ++i) {
    int64_t len = 0;
    for (int64_t k = packed.item_begin(i); k < packed.item_begin(i + 1); ++k) len += static_cast<int64_t>(rows[k].input_ids.size());
    EXPECT_LE(len, 64);
    // Greedy: the next row would not have fitted.
    if (i + 1 < packed.num_items()) EXPECT_GT(len + static_cast<int64_t>(rows[packed.item_begin(i + 1)].input_ids.size()), 64);
    total += packed.item_begin(i + 1) - packed.item_begin(i);
  }
  EXPECT_EQ(total, static_cast<int64_t>(rows.size()));
  EXPECT_LT(packed.num_items(), static_cast<int64_t>(rows.size()));
  const Batch b = packed.collate({0});
  ASSERT_TRUE(b.segment_ids.defined());
  ASSERT_TRUE(b.token_labels.defined());
  // Each segment's first token carries no label; segments count up; padding is a segment of its own.
  const auto seg = b.segment_ids[0];
  int64_t previous = -1;
  for (int64_t t = 0; t < seg.size(0); ++t) {
    const int64_t s = seg[t].item<int64_t>();
    if (b.attention_mask[0][t].item<int64_t>() == 0) {
      EXPECT_EQ(s, packed.item_begin(1) - packed.item_begin(0));
      continue;
    }
    if (s != previous) EXPECT_EQ(b.token_labels[0][t].item<int64_t>(), -100) << t;
    previous = s;
  }
  // Packing takes one encoding per item and a bad option is refused.
  BatcherOptions mc = o;
  mc.choices_per_example = 2;
  mc.pack_length = 64;
  EXPECT_THROW(Batcher(std::vector<EncodedExample>(rows.begin(), rows.begin() + 2), mc), Error);
}

TEST(Packing, PackedLossEqualsUnpackedLoss) {
  testing::TempDir dir;
  testing::write_byte_tokenizer(dir.path(), false);
  auto tok = load_tokenizer(dir.path());
  const auto rows = rows_of(*tok);
  torch::manual_seed(3);
  auto model = make_task_model(testing::tiny_llama_config(), HeadKind::causal_lm);
  model->eval();
  torch::NoGradGuard no_grad;

  BatcherOptions o;
  o.batch_size = 64;  // everything in one batch, packed or not
  o.pad_id = testing::kPad;
  Batcher plain(rows, o);
  o.pack_length = 64;
  Batcher packed(rows, o);
  std::vector<int64_t> all_plain(rows.size()), all_packed(static_cast<size_t>(packed.num_items()));
  std::iota(all_plain.begin(), all_plain.end(), 0);
  std::iota(all_packed.begin(), all_packed.end(), 0);
  const Batch a = plain.collate(all_plain), b = packed.collate(all_packed);
  EXPECT_LT(b.input_ids.size(0), a.input_ids.size(0));

  TaskSpec spec;
  spec.name = "instruction";
  const auto c10_cpu = c10::Device(c10::kCPU);
  auto loss_of = [&](const Batch& batch) {
    return causal_lm_loss(model->forward(causal_lm_inputs(batch, c10_cpu)).logits, batch.token_labels).item<double>();
  };
  const double unpacked = loss_of(a), packed_loss = loss_of(b);
  EXPECT_NEAR(packed_loss, unpacked, 1e-6 * std::abs(unpacked)) << "packed " << packed_loss << " vs " << unpacked;
  // The same tokens are counted.
  auto counted = [](const Batch& x) {
    return at::constant_pad_nd(x.token_labels, {0, 1}, -100).slice(1, 1).ne(-100).sum().item<int64_t>();
  };
  EXPECT_EQ(counted(a), counted(b));
}

TEST(Packing, LossOnLabelledPositionsOnlyEqualsTheFullLoss) {
  testing::TempDir dir;
  testing::write_byte_tokenizer(dir.path(), false);
  auto tok = load_tokenizer(dir.path());
  const auto rows = rows_of(*tok);
  torch::manual_seed(4);
  auto model = make_task_model(testing::tiny_llama_config(), HeadKind::causal_lm);
  model->train();  // the training path, with gradients
  struct NoSource : RowSource {
    void check_files(const std::vector<Split>&) const override {}
    std::vector<Example> load(Split, const LoadOptions&) const override { return {}; }
  };
  TaskSpec spec;
  spec.name = "instruction";
  CausalLmTask task(spec, std::make_shared<NoSource>());
  BatcherOptions o;
  o.batch_size = 4;
  o.pad_id = testing::kPad;
  Batcher batcher(rows, o);
  const Batch batch = batcher.collate({0, 1, 2, 3});
  ModelInputs full = causal_lm_inputs(batch, c10::Device(c10::kCPU));
  ModelInputs picked = full;
  task.prepare_inputs(picked, batch);
  const auto out_full = model->forward(full), out_picked = model->forward(picked);
  // The head computed the loss itself (fused with its product), keeping no logits.
  ASSERT_TRUE(out_picked.loss.defined());
  EXPECT_FALSE(out_picked.logits.defined());
  const at::Tensor l_full = task.loss(out_full, batch), l_picked = task.loss(out_picked, batch);
  // float32 sums in different orders (N*T logits vs the labelled rows only): 1e-6 relative
  EXPECT_NEAR(l_picked.item<double>(), l_full.item<double>(), 1e-6 * l_full.item<double>());
  EXPECT_NEAR(l_full.item<double>(), causal_lm_loss(out_full.logits, batch.token_labels).item<double>(), 1e-7);
  // Same gradients.
  auto grads = [&](const at::Tensor& loss) {
    model->zero_grad();
    loss.backward();
    return model->named_parameters()["model.layers.0.self_attn.q_proj.weight"].grad().clone();
  };
  const at::Tensor g_full = grads(l_full), g_picked = grads(l_picked);
  EXPECT_TRUE(at::allclose(g_full, g_picked, 1e-5, 1e-7));
}

}  // namespace
}  // namespace lightpeft
