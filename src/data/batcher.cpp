#include "lightpeft/data/batcher.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <utility>

#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

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
  LP_CHECK(options_.pack_length >= 0, "batcher: pack_length must be >= 0, got ", options_.pack_length);
  LP_CHECK(options_.pack_length == 0 || options_.choices_per_example == 1,
           "batcher: packing takes one encoding per example, not ", options_.choices_per_example, " choices");
  const auto n = static_cast<int64_t>(examples_.size());
  LP_CHECK(n % options_.choices_per_example == 0, "batcher: ", n, " encodings are not a multiple of ",
           options_.choices_per_example, " choices per example");
  token_labels_ = !examples_.empty() && !examples_.front().token_labels.empty();
  for (size_t i = 0; i < examples_.size(); ++i) {
    const auto& e = examples_[i];
    LP_CHECK(!e.input_ids.empty(), "batcher: example ", i, " has no tokens");
    LP_CHECK(e.token_type_ids.empty() || e.token_type_ids.size() == e.input_ids.size(),
             "batcher: example ", i, " has ", e.input_ids.size(), " input ids but ",
             e.token_type_ids.size(), " token type ids");
    LP_CHECK(e.token_labels.empty() != token_labels_, "batcher: example ", i,
             token_labels_ ? " has no token labels (the first example has)" : " has token labels (the first example has none)");
    LP_CHECK(e.token_labels.empty() || e.token_labels.size() == e.input_ids.size(), "batcher: example ", i, " has ",
             e.input_ids.size(), " input ids but ", e.token_labels.size(), " token labels");
    LP_CHECK(!e.filler_choice || i % static_cast<size_t>(options_.choices_per_example) != 0, "batcher: example ", i,
             " is a filler choice in the first place of its item (the item's label rides on its first choice)");
  }
  num_items_ = n / options_.choices_per_example;
  for (size_t i = 0; i < examples_.size(); ++i) {
    LP_CHECK(examples_[i].label_positions.size() == examples_[0].label_positions.size(), "batcher: example ", i,
             " has ", examples_[i].label_positions.size(), " label positions, example 0 has ",
             examples_[0].label_positions.size());
  }
  if (options_.pack_length > 0) {
    // Greedy, in order: a pack takes the next example while the sum of lengths stays within
    // pack_length (an example longer than that is a pack of its own).
    int64_t used = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto len = static_cast<int64_t>(examples_[i].input_ids.size());
      if (pack_begin_.empty() || used + len > options_.pack_length) {
        pack_begin_.push_back(i);
        used = 0;
      }
      used += len;
    }
    pack_begin_.push_back(n);
    num_items_ = static_cast<int64_t>(pack_begin_.size()) - 1;
  }
}

int64_t Batcher::item_begin(int64_t item) const {
  return options_.pack_length > 0 ? pack_begin_[static_cast<size_t>(item)] : item * options_.choices_per_example;
}

int64_t Batcher::num_batches() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? num_items_ / b : (num_items_ + b - 1) / b;
}

int64_t Batcher::item_length(int64_t item) const {
  const int64_t begin = item_begin(item), end = item_begin(item + 1);
  size_t len = 0;
  for (int64_t k = begin; k < end; ++k) {
    const size_t n = examples_[static_cast<size_t>(k)].input_ids.size();
    len = options_.pack_length > 0 ? len + n : std::max(len, n);  // a pack is one row; choices are rows
  }
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
  const bool packed = options_.pack_length > 0;
  const int64_t c = options_.choices_per_example;
  const auto b = static_cast<int64_t>(items.size());
  const int64_t rows = packed ? b : b * c;
  int64_t width = 0;
  bool fillers = false;
  for (int64_t item : items) {
    LP_CHECK(item >= 0 && item < num_items_, "batcher: item ", item, " out of range [0, ", num_items_,
             ")");
    width = std::max(width, item_length(item));
    for (int64_t k = item_begin(item); k < item_begin(item + 1); ++k) fillers = fillers || examples_[k].filler_choice;
  }
  Batch batch;
  batch.indices = items;
  batch.input_ids = at::full({rows, width}, options_.pad_id, at::kLong);
  batch.attention_mask = at::zeros({rows, width}, at::kLong);
  batch.token_type_ids = at::zeros({rows, width}, at::kLong);
  if (token_labels_) batch.token_labels = at::full({rows, width}, kIgnoreTokenLabel, at::kLong);
  if (packed) batch.segment_ids = at::zeros({rows, width}, at::kLong);
  if (fillers) batch.choice_mask = at::ones({b, c}, at::kBool);
  int64_t* ids = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* types = batch.token_type_ids.data_ptr<int64_t>();
  int64_t* labels = token_labels_ ? batch.token_labels.data_ptr<int64_t>() : nullptr;
  int64_t* segments = packed ? batch.segment_ids.data_ptr<int64_t>() : nullptr;
  bool* choice_ok = fillers ? batch.choice_mask.data_ptr<bool>() : nullptr;
  int64_t row = 0;
  for (int64_t i = 0; i < b; ++i) {
    const int64_t item = items[static_cast<size_t>(i)];
    int64_t t = 0;  // packed: the next column of the row
    for (int64_t k = item_begin(item), segment = 0; k < item_begin(item + 1); ++k, ++segment) {
      const EncodedExample& e = examples_[static_cast<size_t>(k)];
      const auto len = static_cast<int64_t>(e.input_ids.size());
      if (!packed) t = 0;
      int64_t* at_row = ids + row * width;
      for (int64_t j = 0; j < len; ++j, ++t) {
        at_row[t] = e.input_ids[j];
        mask[row * width + t] = 1;
        if (!e.token_type_ids.empty()) types[row * width + t] = e.token_type_ids[j];
        // Packed: a segment's first token has no predecessor in its own example.
        if (labels) labels[row * width + t] = packed && j == 0 ? kIgnoreTokenLabel : e.token_labels[j];
        if (segments) segments[row * width + t] = segment;
      }
      if (choice_ok && e.filler_choice) choice_ok[i * c + (k - item_begin(item))] = false;
      if (!packed) ++row;
    }
    if (packed) {
      // Padding is a segment of its own (masked out as keys by attention_mask anyway).
      const int64_t pad_segment = item_begin(item + 1) - item_begin(item);
      for (; t < width; ++t) segments[row * width + t] = pad_segment;
      ++row;
    }
  }
  if (options_.regression) {
    batch.labels = at::empty({b}, at::kFloat);
    float* out = batch.labels.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) out[i] = examples_[item_begin(items[i])].label;
  } else {
    batch.labels = at::empty({b}, at::kLong);
    int64_t* out = batch.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) out[i] = static_cast<int64_t>(examples_[item_begin(items[i])].label);
  }
  const auto k = static_cast<int64_t>(examples_[0].label_positions.size());
  if (k > 0) {
    batch.label_positions = at::empty({b, k}, at::kLong);
    int64_t* positions = batch.label_positions.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) {
      const auto& p = examples_[static_cast<size_t>(item_begin(items[i]))].label_positions;
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
