#include "lightpeft/data/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

#include <ATen/ops/empty.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

namespace {

// splitmix64: spreads (seed, epoch) over the whole 64-bit seed space, so nearby seeds and epochs
// give unrelated streams.
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Uniform in [0, bound) by rejection (no modulo bias), using only mt19937_64's specified output.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % bound);
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % bound;
}

}  // namespace

std::vector<int64_t> Batcher::permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(epoch))));
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const auto j = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(i) + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

Batcher::Batcher(std::vector<EncodedExample> examples, BatcherOptions options)
    : examples_(std::move(examples)), options_(options) {
  LP_CHECK(options_.batch_size > 0, "batcher: batch_size must be positive, got ",
           options_.batch_size);
  LP_CHECK(options_.choices_per_example > 0, "batcher: choices_per_example must be positive");
  LP_CHECK(options_.mega_batch_mult > 0, "batcher: mega_batch_mult must be positive");
  LP_CHECK(options_.num_shards > 0 && options_.shard >= 0 && options_.shard < options_.num_shards,
           "batcher: shard ", options_.shard, " of ", options_.num_shards, " shards is out of range");
  const auto n = static_cast<int64_t>(examples_.size());
  LP_CHECK(n % options_.choices_per_example == 0, "batcher: ", n, " encodings are not a multiple of ",
           options_.choices_per_example, " choices per example");
  for (size_t i = 0; i < examples_.size(); ++i) {
    const auto& e = examples_[i];
    LP_CHECK(!e.input_ids.empty(), "batcher: example ", i, " has no tokens");
    LP_CHECK(e.token_type_ids.empty() || e.token_type_ids.size() == e.input_ids.size(),
             "batcher: example ", i, " has ", e.input_ids.size(), " input ids but ",
             e.token_type_ids.size(), " token type ids");
  }
  num_items_ = n / options_.choices_per_example;
  for (size_t i = 0; i < examples_.size(); ++i) {
    LP_CHECK(examples_[i].label_positions.size() == examples_[0].label_positions.size(), "batcher: example ", i,
             " has ", examples_[i].label_positions.size(), " label positions, example 0 has ",
             examples_[0].label_positions.size());
  }
}

int64_t Batcher::num_batches() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? num_items_ / b : (num_items_ + b - 1) / b;
}

int64_t Batcher::item_length(int64_t item) const {
  const int64_t c = options_.choices_per_example;
  size_t len = 0;
  for (int64_t k = 0; k < c; ++k) len = std::max(len, examples_[item * c + k].input_ids.size());
  return static_cast<int64_t>(len);
}

std::vector<std::vector<int64_t>> Batcher::batches(int64_t epoch) const {
  std::vector<int64_t> order;
  if (options_.shuffle) {
    order = permutation(num_items_, options_.seed, epoch);
  } else {
    order.resize(static_cast<size_t>(num_items_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  const auto b = static_cast<size_t>(options_.batch_size);
  if (options_.group_by_length && !order.empty()) {
    // Sort each mega-batch by length, longest first (stable: ties keep the shuffled order).
    const size_t mega = b * static_cast<size_t>(options_.mega_batch_mult);
    auto longer = [&](int64_t x, int64_t y) { return item_length(x) > item_length(y); };
    for (size_t start = 0; start < order.size(); start += mega) {
      const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + mega));
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(start), end, longer);
    }
    // Bring the longest item to the front (HF does the same), so the largest batch comes first.
    size_t longest = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      if (item_length(order[i]) > item_length(order[longest])) longest = i;
    }
    std::swap(order[0], order[longest]);
  }
  std::vector<std::vector<int64_t>> out;
  for (size_t start = 0; start < order.size(); start += b) {
    const size_t end = std::min(order.size(), start + b);
    if (options_.drop_last && end - start < b) break;
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                     order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return out;
}

Batch Batcher::collate(const std::vector<int64_t>& items) const {
  LP_CHECK(!items.empty(), "batcher: empty batch");
  const int64_t c = options_.choices_per_example;
  const auto rows = static_cast<int64_t>(items.size()) * c;
  int64_t width = 0;
  for (int64_t item : items) {
    LP_CHECK(item >= 0 && item < num_items_, "batcher: item ", item, " out of range [0, ", num_items_,
             ")");
    width = std::max(width, item_length(item));
  }
  Batch batch;
  batch.indices = items;
  batch.input_ids = at::empty({rows, width}, at::kLong);
  batch.attention_mask = at::empty({rows, width}, at::kLong);
  batch.token_type_ids = at::empty({rows, width}, at::kLong);
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* types = batch.token_type_ids.data_ptr<int64_t>();
  int64_t row = 0;
  for (int64_t item : items) {
    for (int64_t k = 0; k < c; ++k, ++row) {
      const EncodedExample& e = examples_[item * c + k];
      const auto len = static_cast<int64_t>(e.input_ids.size());
      for (int64_t t = 0; t < width; ++t) {
        const bool real = t < len;
        ids[row * width + t] = real ? e.input_ids[t] : options_.pad_id;
        mask[row * width + t] = real ? 1 : 0;
        types[row * width + t] = (real && !e.token_type_ids.empty()) ? e.token_type_ids[t] : 0;
      }
    }
  }
  const auto b = static_cast<int64_t>(items.size());
  if (options_.regression) {
    batch.labels = at::empty({b}, at::kFloat);
    float* labels = batch.labels.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) labels[i] = examples_[items[i] * c].label;
  } else {
    batch.labels = at::empty({b}, at::kLong);
    int64_t* labels = batch.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) labels[i] = static_cast<int64_t>(examples_[items[i] * c].label);
  }
  const auto k = static_cast<int64_t>(examples_[0].label_positions.size());
  if (k > 0) {
    batch.label_positions = at::empty({b, k}, at::kLong);
    int64_t* positions = batch.label_positions.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) {
      const auto& p = examples_[items[i] * c].label_positions;
      std::copy(p.begin(), p.end(), positions + i * k);
    }
  }
  return batch;
}

Batcher::Stream Batcher::stream(int64_t epoch, int64_t start_batch) const {
  auto plan = batches(epoch);
  LP_CHECK(start_batch >= 0 && start_batch <= static_cast<int64_t>(plan.size()), "batcher: start batch ",
           start_batch, " outside the epoch's ", plan.size(), " batches");
  return Stream(this, std::move(plan), static_cast<size_t>(start_batch));
}

std::pair<int64_t, int64_t> shard_range(int64_t n, int64_t shard, int64_t num_shards) {
  const int64_t base = n / num_shards, extra = n % num_shards;
  const int64_t begin = shard * base + std::min(shard, extra);
  return {begin, begin + base + (shard < extra ? 1 : 0)};
}

std::optional<Batch> Batcher::Stream::next() {
  if (next_ >= plan_.size()) return std::nullopt;
  const std::vector<int64_t>& global = plan_[next_++];
  const auto n = static_cast<int64_t>(global.size());
  const BatcherOptions& o = owner_->options_;
  if (o.num_shards == 1) {
    Batch b = owner_->collate(global);
    b.global_items = n;
    return b;
  }
  const auto [begin, end] = shard_range(n, o.shard, o.num_shards);
  Batch b;
  if (end > begin) b = owner_->collate(std::vector<int64_t>(global.begin() + begin, global.begin() + end));
  b.global_items = n;
  return b;
}

}  // namespace lightpeft
