#pragma once
// A causal LM's head and loss in one: the mean cross-entropy of logits = hidden @ weight^T against
// target ids, without keeping the logits.
//
//     loss = mean over counted rows n of  logsumexp(logits[n]) - logits[n, target[n]]
//
// HF computes the (N, vocab) logits, their float32 log-softmax and, in the backward, the same size
// again twice (the log-softmax's and the NLL's zero-filled gradient): at SmolLM2's 49,152 words and
// batch 8 x 128, 200 MB each. Here the rows go in chunks (about 1,000 rows of a 50k vocabulary): each chunk's logits are
// computed into one reused buffer, turned in place into their gradient, softmax - one-hot, over the
// count (a row of the vocabulary fits the L2 cache, so max, exp-sum and scaling read it from
// there), and multiplied by the weight at once into the hidden states' gradient (and, when the
// weight is trained, added into its gradient). The backward only scales those by the loss's
// gradient. The matrix products are HF's, in its dtype (the autocast dtype under autocast, else
// the weight's, as the LM head's linear); the softmax in float32 as HF's loss.
//
// Rows whose target is `ignore_index` count for nothing (the loss is NaN when no row counts, as
// HF's). A target outside [0, vocab) throws lightpeft::Error. The CPU runs this; other devices
// run the reference.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// At most this many logits are held at once (rows per chunk = this / vocab, at least one): 200 MB
// of float32. Fewer rows per product cost time: SmolLM2's head product took 158 ms forward in
// chunks of 256 rows, 131 ms over 1,024 rows at once (torch.mm into a kept buffer, timed alone, 2
// threads, the Intel Xeon of docs/benchmarks.md). An instruction batch's response tokens are
// usually fewer than a chunk.
inline constexpr int64_t kLinearCrossEntropyChunkElements = int64_t{1024} * 49152;

// hidden (N, H), weight (V, H), targets (N) int64 -> a 0-dim float32 loss.
at::Tensor linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t ignore_index = -100,
                                int64_t chunk_elements = kLinearCrossEntropyChunkElements);

namespace reference {
// at::cross_entropy(at::linear(hidden, weight).float(), targets), HF's loss on HF's logits.
at::Tensor linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t ignore_index = -100);
}  // namespace reference

}  // namespace lightpeft::kernels
