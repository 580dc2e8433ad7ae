#pragma once
// Training checkpoints: a directory `checkpoint-<step>` holding the trainable tensors, the optimizer
// state, the CPU RNG state and `trainer_state.json` (position in the data, best metric, and a
// checksum and size of every file). It is written into `checkpoint-<step>.tmp`, each file fsynced,
// then renamed into place, so a checkpoint either exists whole or not at all; one that was cut short
// or corrupted later fails its checksums on load and the previous good one is used.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/io/state_dict.h"
#include "lightpeft/train/optimizer.h"

namespace lightpeft {

struct TrainerState {
  std::string stage;             // "estimate" or "finetune"
  int64_t global_step = 0;       // optimizer steps done
  int64_t epoch = 0;             // epoch of the next batch
  int64_t batch_in_epoch = 0;    // index of the next batch within `epoch`
  // Items per (global, over all ranks) micro-batch that batch_in_epoch counts in; with it a run
  // resumes with another world size (0: unknown, a checkpoint from before it was recorded).
  int64_t global_batch_size = 0;
  double best_metric = -1e300;   // best dev headline so far
  int64_t best_step = -1;
  std::string extra_json = "{}";  // stage-specific state (e.g. importance accumulators' step count)
};

// A resumed run whose global micro-batch differs (another world size) starts at the batch holding
// the first sample not yet seen in the epoch: batch_in_epoch * old / new, rounded down (a warning
// says so; the samples of a partly seen batch are seen again). Sets global_batch_size = new.
void convert_position_for_batch_size(TrainerState& state, int64_t global_batch_size,
                                     const std::string& stage);

// Writes output `stage_dir`/checkpoint-<global_step>; keeps the newest `keep_last` plus the best.
std::filesystem::path save_checkpoint(const std::filesystem::path& stage_dir, const TrainerState& state,
                                      const StateDict& tensors, Optimizer& optimizer, int64_t keep_last);

struct LoadedCheckpoint {
  std::filesystem::path dir;
  TrainerState state;
  StateDict tensors;
};

// The newest checkpoint in `stage_dir` whose files verify; checkpoints that fail are skipped with a
// warning naming them and the reason. Restores the optimizer (if given) and the CPU RNG state.
std::optional<LoadedCheckpoint> load_latest_checkpoint(const std::filesystem::path& stage_dir,
                                                       Optimizer* optimizer);

// 64-bit FNV-1a of a file's bytes, as hex (the checksum in trainer_state.json).
std::string file_checksum(const std::filesystem::path& file);

}  // namespace lightpeft
