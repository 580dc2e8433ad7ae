// Batching: shapes, padding, masks, labels, deterministic shuffling, resume at batch k, drop_last,
// length grouping and multiple choice.
#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/batcher.h"

namespace lightpeft {
namespace {

std::vector<int64_t> values(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// n examples whose ids are (i*1000 + position) and whose lengths are drawn in [1, max_len].
std::vector<EncodedExample> synthetic(int64_t n, int64_t max_len, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::vector<EncodedExample> out;
  for (int64_t i = 0; i < n; ++i) {
    EncodedExample e;
    const int64_t len = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_len));
    for (int64_t t = 0; t < len; ++t) e.input_ids.push_back(i * 1000 + t + 1);
    e.label = static_cast<float>(i % 3);
    out.push_back(std::move(e));
  }
  return out;
}

TEST(Batcher, PaddingMasksAndTypes) {
  std::vector<EncodedExample> ex(3);
  ex[0] = {{101, 7, 102}, {0, 0, 1}, 1.0f};
  ex[1] = {{101}, {}, 0.0f};
  ex[2] = {{101, 8}, {}, 2.0f};
  BatcherOptions o;
  o.batch_size = 3;
  o.pad_id = 9;
  Batcher b(ex, o);
  EXPECT_EQ(b.num_batches(), 1);
  const Batch batch = b.collate({0, 1, 2});
  EXPECT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(batch.input_ids.scalar_type(), at::kLong);
  EXPECT_EQ(values(batch.input_ids), (std::vector<int64_t>{101, 7, 102, 101, 9, 9, 101, 8, 9}));
  EXPECT_EQ(values(batch.attention_mask), (std::vector<int64_t>{1, 1, 1, 1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(values(batch.token_type_ids), (std::vector<int64_t>{0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(values(batch.labels), (std::vector<int64_t>{1, 0, 2}));
  // Padded to the batch's longest, not a global maximum.
  EXPECT_EQ(b.collate({1, 2}).input_ids.size(1), 2);
}

// Extractive QA's start/end token labels: one row per item, in the batch's order; every encoding must
// have as many as the first.
TEST(Batcher, LabelPositionsFollowTheBatchOrder) {
  std::vector<EncodedExample> ex(3);
  for (int64_t i = 0; i < 3; ++i) {
    ex[static_cast<size_t>(i)].input_ids = {101, 5, 102};
    ex[static_cast<size_t>(i)].label_positions = {i, 10 + i};
  }
  BatcherOptions o;
  o.batch_size = 3;
  const Batch batch = Batcher(ex, o).collate({2, 0, 1});
  ASSERT_TRUE(batch.label_positions.defined());
  EXPECT_EQ(batch.label_positions.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values(batch.label_positions), (std::vector<int64_t>{2, 12, 0, 10, 1, 11}));
  EXPECT_FALSE(Batcher(synthetic(3, 4), o).collate({0, 1, 2}).label_positions.defined());
  ex[1].label_positions = {4};
  EXPECT_THROW(Batcher(ex, o), Error);
}

TEST(Batcher, RegressionLabelsAreFloat) {
  std::vector<EncodedExample> ex = {{{1, 2}, {}, 4.75f}, {{3}, {}, 0.5f}};
  BatcherOptions o;
  o.regression = true;
  const Batch batch = Batcher(ex, o).collate({0, 1});
  ASSERT_EQ(batch.labels.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(batch.labels.data_ptr<float>()[0], 4.75f);
  EXPECT_FLOAT_EQ(batch.labels.data_ptr<float>()[1], 0.5f);
}

TEST(Batcher, ShuffleDependsOnlyOnSeedAndEpoch) {
  BatcherOptions o;
  o.batch_size = 4;
  o.shuffle = true;
  o.seed = 42;
  Batcher a(synthetic(37, 20), o), b(synthetic(37, 20), o);
  EXPECT_EQ(a.batches(3), b.batches(3));
  EXPECT_NE(a.batches(0), a.batches(1));
  o.seed = 43;
  EXPECT_NE(Batcher(synthetic(37, 20), o).batches(3), a.batches(3));
  // Every epoch is a permutation of all items.
  std::vector<int64_t> seen;
  for (const auto& batch : a.batches(5)) seen.insert(seen.end(), batch.begin(), batch.end());
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(37);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
  // Pinned: the order must not change across standard libraries or releases (resume safety).
  EXPECT_EQ(Batcher::permutation(10, 42, 0), (std::vector<int64_t>{9, 6, 2, 0, 1, 4, 3, 8, 5, 7}));
}

TEST(Batcher, ResumeAtBatchKSeesTheSameBatches) {
  BatcherOptions o;
  o.batch_size = 5;
  o.shuffle = true;
  o.group_by_length = true;
  o.mega_batch_mult = 2;
  o.seed = 1234;
  const Batcher b(synthetic(53, 30), o);
  std::vector<Batch> full;
  auto s = b.stream(2);
  while (auto batch = s.next()) full.push_back(*batch);
  ASSERT_EQ(static_cast<int64_t>(full.size()), b.num_batches());
  // A "new process": a fresh batcher from the same inputs, resumed at batch 4 of epoch 2.
  const Batcher resumed(synthetic(53, 30), o);
  auto r = resumed.stream(2, 4);
  EXPECT_EQ(r.position(), 4);
  for (size_t k = 4; k < full.size(); ++k) {
    auto batch = r.next();
    ASSERT_TRUE(batch);
    EXPECT_EQ(batch->indices, full[k].indices);
    EXPECT_EQ(values(batch->input_ids), values(full[k].input_ids));
    EXPECT_EQ(values(batch->labels), values(full[k].labels));
  }
  EXPECT_FALSE(r.next());
  EXPECT_THROW(resumed.stream(2, 99), Error);
}

TEST(Batcher, DropLast) {
  BatcherOptions o;
  o.batch_size = 4;
  EXPECT_EQ(Batcher(synthetic(10, 5), o).num_batches(), 3);
  EXPECT_EQ(Batcher(synthetic(10, 5), o).batches(0).back().size(), 2u);
  o.drop_last = true;
  o.shuffle = true;
  const Batcher b(synthetic(10, 5), o);
  EXPECT_EQ(b.num_batches(), 2);
  const auto plan = b.batches(0);
  ASSERT_EQ(plan.size(), 2u);
  for (const auto& batch : plan) EXPECT_EQ(batch.size(), 4u);
}

TEST(Batcher, NoShuffleKeepsFileOrder) {
  BatcherOptions o;
  o.batch_size = 3;
  const auto plan = Batcher(synthetic(7, 5), o).batches(0);
  EXPECT_EQ(plan, (std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
}

// Padding tokens over an epoch: what length grouping is for.
int64_t padding(const Batcher& b, const std::vector<EncodedExample>& ex, int64_t epoch) {
  int64_t pad = 0;
  for (const auto& batch : b.batches(epoch)) {
    size_t longest = 0;
    for (int64_t i : batch) longest = std::max(longest, ex[i].input_ids.size());
    for (int64_t i : batch) pad += static_cast<int64_t>(longest - ex[i].input_ids.size());
  }
  return pad;
}

TEST(Batcher, LengthGroupingGroups) {
  const auto ex = synthetic(2000, 128);
  BatcherOptions o;
  o.batch_size = 8;
  o.shuffle = true;
  const Batcher plain(ex, o);
  o.group_by_length = true;
  const Batcher grouped(ex, o);
  const int64_t p_plain = padding(plain, ex, 0), p_grouped = padding(grouped, ex, 0);
  EXPECT_LT(p_grouped * 10, p_plain) << p_grouped << " vs " << p_plain;
  const auto plan = grouped.batches(0);
  // The longest item comes first; within a mega-batch (50 x 8) lengths do not increase (apart from
  // the swapped-in longest item at position 0).
  size_t longest = 0;
  for (const auto& e : ex) longest = std::max(longest, e.input_ids.size());
  EXPECT_EQ(ex[plan[0][0]].input_ids.size(), longest);
  std::vector<int64_t> order;
  for (const auto& batch : plan) order.insert(order.end(), batch.begin(), batch.end());
  for (size_t i = 2; i < 400; ++i) {
    EXPECT_GE(ex[order[i - 1]].input_ids.size(), ex[order[i]].input_ids.size()) << i;
  }
  // Still a permutation, and still reshuffled per epoch.
  std::set<int64_t> unique(order.begin(), order.end());
  EXPECT_EQ(unique.size(), ex.size());
  EXPECT_NE(grouped.batches(0), grouped.batches(1));
}

TEST(Batcher, MultipleChoice) {
  std::vector<EncodedExample> ex = {{{1, 2}, {}, 1.0f}, {{1, 3, 4}, {}, 1.0f},
                                    {{5}, {}, 0.0f},     {{5, 6}, {}, 0.0f}};
  BatcherOptions o;
  o.choices_per_example = 2;
  o.batch_size = 2;
  const Batcher b(ex, o);
  EXPECT_EQ(b.num_items(), 2);
  const Batch batch = b.collate({0, 1});
  EXPECT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(values(batch.labels), (std::vector<int64_t>{1, 0}));
  EXPECT_THROW(Batcher(std::vector<EncodedExample>(ex.begin(), ex.begin() + 3), o), Error);
}

TEST(Batcher, RejectsBadInput) {
  BatcherOptions o;
  EXPECT_THROW(Batcher({{{}, {}, 0.0f}}, o), Error);
  EXPECT_THROW(Batcher({{{1, 2}, {0}, 0.0f}}, o), Error);
  o.batch_size = 0;
  EXPECT_THROW(Batcher({{{1}, {}, 0.0f}}, o), Error);
}

}  // namespace
}  // namespace lightpeft
