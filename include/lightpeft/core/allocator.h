#pragma once
// The process's malloc, as LibTorch's CPU tensors see it.
//
// LibTorch allocates every CPU activation and gradient with malloc, so the C library's allocator
// decides both the step time and the resident memory of a CPU run:
// - glibc serves blocks above its mmap threshold (128 KiB at start, raised dynamically only up to
//   what was freed before) with a fresh mmap, returns them with munmap and trims the heap top: a
//   step then page-faults through its multi-MiB buffers every time. tune_malloc_for_tensors keeps
//   them on the heap instead (inference went from 1.17x to 0.71x HF's time, docs/benchmarks.md),
//   but glibc's heap then fragments: batches of different lengths and a pruned model's per-layer
//   widths ask for ever new sizes, and a Light-PEFT finetune stage's resident set grew from 0.46 to
//   1.7 GiB over 120 steps of the main job.
// - jemalloc (Debian's libjemalloc-dev) packs by size class: the same stage levelled off at
//   0.8 GiB, at glibc's speed once told to keep freed pages (tools/malloc_conf.cpp). The `lightpeft`
//   executable links it by default (CMake LIGHTPEFT_ALLOCATOR). A program that links liblightpeft
//   picks its own malloc: link jemalloc into it, or LD_PRELOAD it (docs/library.md).
// PyTorch's CPU performance guide recommends jemalloc or tcmalloc for the same reasons.
#include <cstddef>
#include <string>

namespace lightpeft {

// "jemalloc 5.3.0 (oversize_threshold 0, dirty_decay_ms -1)" when the process's malloc is jemalloc
// (linked in or LD_PRELOADed; its version and the settings that matter most here), else "glibc"
// (or "other" off glibc). Decided once, at the first call.
const std::string& malloc_name();

// With glibc: keeps blocks up to 32 MiB (glibc's largest threshold) on the heap, never trims it
// and grows it in 256 MiB steps. Call once at program start, before tensors exist. Does nothing
// under jemalloc (its own settings: MALLOC_CONF), when the user set any of glibc's
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_, or LIGHTPEFT_MALLOC_TUNING=0;
// returns whether it changed the settings.
bool tune_malloc_for_tensors();

// Gives the memory that freed tensors left in the allocator back to the kernel now (glibc's
// malloc_trim, jemalloc's purge of every arena), so that a new stage's peak resident set starts
// from what is live, not from the last stage's high-water mark.
void release_free_memory();

// The bound on jemalloc's never-decaying freed pages (tools/malloc_conf.cpp): where jemalloc holds
// more than `max_unused_bytes` of them, purges every arena (as release_free_memory) and returns
// true. Called after every optimiser step. Freed pages that are not purged are also not coalesced,
// so when a step's tensor sizes keep changing (a decoder's batches of different lengths, the
// loss's labelled positions) the retained pages are never reused: SmolLM2's resident set grew by
// 0.1-0.5 GiB a step, to 24 GiB and the OOM killer within 40 steps. A step that fits the bound
// (MiniLM at batch 32: about 0.5 GiB of activations) keeps its pages and page-faults nothing.
// glibc and other mallocs: returns false.
bool limit_free_memory(size_t max_unused_bytes);

}  // namespace lightpeft
