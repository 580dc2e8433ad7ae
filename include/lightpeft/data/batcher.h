#pragma once
// Turns tokenized examples into padded LibTorch batches for training and evaluation.
//
// - Dynamic padding: each batch is padded to its own longest sequence.
// - Shuffling depends only on (seed, epoch): the permutation comes from std::mt19937_64 (whose output
//   the standard fixes) seeded per epoch and a hand-written Fisher-Yates with unbiased bounded draws
//   (std::shuffle and std::uniform_int_distribution differ between standard libraries), so a resumed
//   run, on any platform, sees the same order.
// - Length grouping (HF TrainingArguments.group_by_length): the epoch's permutation is cut into
//   mega-batches of mega_batch_mult x batch_size examples, each sorted by length (longest first),
//   then cut into batches; the batch holding the longest example goes first, so out-of-memory shows
//   at step 0.
// - Resume: batches(epoch) is a pure function, so starting at batch k of an epoch is just skipping
//   k entries (stream(epoch, k)).
// - Data parallelism (a distributed sampler): with num_shards = world size, batch_size is the global
//   micro-batch (per-device batch x world size) and batches(epoch) the same seeded global batches on
//   every rank; the stream hands rank `shard` its contiguous share of each (sizes differ by at most
//   one; a rank may get none of a short last batch). The ranks together see exactly the batches a
//   single process with that batch size sees, so results match it and positions (epoch, batch) mean
//   the same for any world size.
// - Multiple choice (COPA): with choices_per_example = C, examples come in groups of C consecutive
//   encodings (one per choice, label on the first); a batch of B items has (B*C, T) inputs and B labels.
//   An item with fewer choices (ARC's 3-choice questions among 4- and 5-choice ones) is padded with
//   filler encodings; Batch::choice_mask is false on them so that the task masks their scores out.
// - Token labels (causal LM tasks): examples with token_labels give Batch::token_labels (N, T),
//   kIgnoreLabel (-100) on padding.
// - Packing (pack_length > 0, causal LM training): consecutive examples are packed, in order and
//   greedily, into sequences of at most pack_length tokens before anything else, and a pack is then
//   the item that is shuffled and batched. Batch::segment_ids says which example of its pack each
//   token is (the models restart positions and confine attention per segment, models/model_io.h);
//   the first token of each example gets label -100, so that no token predicts the next example's
//   first token: the loss of a packed batch equals that of its examples batched unpacked.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lightpeft {

struct EncodedExample {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> token_type_ids;  // empty: all zeros
  float label = 0.0f;                   // class id or regression target
  // Labels that are token positions (extractive QA: the answer's start and end token). Either every
  // encoding of a batcher has none, or all have the same number.
  std::vector<int64_t> label_positions;
  // Causal LM tasks: the label of each token (its own id where it is trained on, -100 where not;
  // the loss shifts them, models/heads.h), as long as input_ids. Empty for tasks with item labels.
  std::vector<int64_t> token_labels;
  // Multiple choice: a filler that pads an item with fewer choices than choices_per_example.
  bool filler_choice = false;
};

// The label of tokens that carry no loss (HF's -100; models/heads.h has the same constant).
inline constexpr int64_t kIgnoreTokenLabel = -100;

struct Batch {
  at::Tensor input_ids;       // int64 (N, T)
  at::Tensor attention_mask;  // int64 (N, T): 1 on tokens, 0 on padding
  at::Tensor token_type_ids;  // int64 (N, T): 0 on padding
  at::Tensor labels;          // int64 (B) for classification, float32 (B) for regression
  at::Tensor label_positions;  // int64 (B, K) when the encodings have K label positions, else undefined
  at::Tensor token_labels;    // int64 (N, T), -100 on padding; defined when the examples have token labels
  at::Tensor segment_ids;     // int64 (N, T) with packing: each token's example within its pack
  at::Tensor choice_mask;     // bool (B, C), false on filler choices; undefined when there are none
  std::vector<int64_t> indices;  // the items in this batch (positions in the batcher's input)
  // Items of the whole global batch this shard belongs to (= indices.size() without sharding). A
  // shard with no items has empty indices and undefined tensors.
  int64_t global_items = 0;
  bool empty() const { return indices.empty(); }
};

struct BatcherOptions {
  int64_t batch_size = 32;
  int64_t pad_id = 0;
  bool shuffle = false;
  bool group_by_length = false;
  bool drop_last = false;
  uint64_t seed = 42;
  bool regression = false;
  int64_t choices_per_example = 1;
  int64_t mega_batch_mult = 50;
  int64_t num_shards = 1;  // data-parallel world size
  int64_t shard = 0;       // this rank
  int64_t pack_length = 0;  // > 0: pack examples into sequences of at most this many tokens
};

// The contiguous share [begin, end) of `n` items that shard `shard` of `num_shards` takes.
std::pair<int64_t, int64_t> shard_range(int64_t n, int64_t shard, int64_t num_shards);

class Batcher {
 public:
  // Throws lightpeft::Error for empty sequences, token_type_ids or token_labels of the wrong length,
  // token labels on some examples only, a bad option, a number of encodings that is not a multiple
  // of choices_per_example, an item whose first choice is a filler, packing with several choices,
  // or label positions whose count differs between encodings.
  Batcher(std::vector<EncodedExample> examples, BatcherOptions options);

  // Items: examples, multiple-choice groups, or packs.
  int64_t num_items() const { return num_items_; }
  // The examples of item `item` are [item_begin(item), item_begin(item + 1)).
  int64_t item_begin(int64_t item) const;
  int64_t num_batches() const;
  const BatcherOptions& options() const { return options_; }

  // The items of every batch of `epoch`, in order. Depends only on (options, lengths, epoch).
  std::vector<std::vector<int64_t>> batches(int64_t epoch) const;
  // Pads and stacks the given items.
  Batch collate(const std::vector<int64_t>& items) const;

  // Iterates the batches of one epoch starting at batch `start` (resume).
  class Stream {
   public:
    // The next batch (this shard's part of it when sharded), or nullopt at the end of the epoch.
    std::optional<Batch> next();
    int64_t position() const { return static_cast<int64_t>(next_); }  // batches handed out so far

   private:
    friend class Batcher;
    Stream(const Batcher* owner, std::vector<std::vector<int64_t>> plan, size_t start)
        : owner_(owner), plan_(std::move(plan)), next_(start) {}
    const Batcher* owner_;
    std::vector<std::vector<int64_t>> plan_;
    size_t next_;
  };
  Stream stream(int64_t epoch, int64_t start_batch = 0) const;

  // The permutation of [0, n) used for `epoch` (exposed for tests and for other samplers).
  static std::vector<int64_t> permutation(int64_t n, uint64_t seed, int64_t epoch);

 private:
  int64_t item_length(int64_t item) const;

  std::vector<EncodedExample> examples_;
  BatcherOptions options_;
  int64_t num_items_ = 0;
  bool token_labels_ = false;
  std::vector<int64_t> pack_begin_;  // with packing: the first example of each pack, then the end
};

}  // namespace lightpeft
