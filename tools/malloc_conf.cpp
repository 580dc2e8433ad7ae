// jemalloc's settings for the executables that link it (cmake/LightpeftAllocator.cmake); jemalloc
// reads this symbol at start, and MALLOC_CONF in the environment overrides it.
//
// - oversize_threshold:0 keeps blocks above 8 MiB (every activation of a batch) in the ordinary
//   arenas: jemalloc's default gives them an arena of their own that returns them to the kernel at
//   once, so each training step page-faulted its activations again (a 25-step MiniLM LoRA run
//   trained at 8.6-8.9 samples/s against glibc's 13.4 in two interleaved pairs, docs/benchmarks.md).
// - dirty_decay_ms/muzzy_decay_ms -1: freed pages stay for the next step instead of being purged
//   over ten seconds (the same faults, later: with oversize_threshold:0 alone, 6x glibc's system
//   time and 1.18x its wall time). Between stages lightpeft purges explicitly
//   (release_free_memory), so a stage's peak starts from what is live.
// What remains of jemalloc's gain is its packing by size class: the main job's pruned finetune
// stage levels off at 0.8 GiB where glibc's heap grew to 1.7 GiB.
extern "C" {
const char* malloc_conf = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
