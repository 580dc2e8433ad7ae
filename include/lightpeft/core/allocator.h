#pragma once
// glibc malloc settings for LibTorch's CPU tensors.
//
// LibTorch allocates every activation and gradient with malloc. glibc serves blocks above its
// mmap threshold (128 KiB at start, raised dynamically only up to what was freed before) with a
// fresh mmap and returns them with munmap, and trims the heap top back to the OS: a training or
// inference step then page-faults through its multi-MiB buffers again on every step. Measured on
// the 2-core dev machine (docs/benchmarks.md): the LoRA model's inference forward went from 1.17x
// to 0.71x HF's time with the settings below, a training step from 1.10x to 1.00x. PyTorch's own
// docs suggest jemalloc/tcmalloc for the same reason; these three mallopt calls need no extra
// library.
namespace lightpeft {

// Keeps blocks up to 32 MiB (glibc's largest threshold) on the heap, never trims it and grows it
// in 256 MiB steps. Call once at program start, before tensors exist. Does nothing when the user
// set any of glibc's MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ or
// LIGHTPEFT_MALLOC_TUNING=0; returns whether it changed the settings.
bool tune_malloc_for_tensors();

}  // namespace lightpeft
