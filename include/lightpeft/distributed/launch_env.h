#pragma once
// The launch contract of a data-parallel job, read from the environment as cluster launchers set it:
//   torchrun / `lightpeft train --nproc N`:  RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
//   SLURM (srun, one task per GPU), used where RANK / WORLD_SIZE are absent:
//                                            SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
// MASTER_ADDR / MASTER_PORT are always needed for more than one process (rank 0 serves the
// rendezvous store there); an sbatch script sets them (docs/distributed.md). Nothing set, or a world
// of one, means a plain single-process run.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace lightpeft::dist {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // which device of this node (cuda:<local_rank>)
  std::string master_addr;
  int master_port = 0;
  std::string source;  // "torchrun" (RANK/WORLD_SIZE) or "slurm", for messages
};

// getenv by default; tests pass a map lookup.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
std::optional<std::string> process_env(const std::string& name);

// nullopt when the environment describes no multi-process job (no RANK/WORLD_SIZE, no SLURM task
// variables, or a world of one). Throws lightpeft::Error naming the variable for anything
// inconsistent: a non-integer, RANK >= WORLD_SIZE, RANK without WORLD_SIZE, a missing MASTER_ADDR or
// MASTER_PORT, a port outside 1..65535.
std::optional<LaunchEnv> read_launch_env(const EnvLookup& env = process_env);

}  // namespace lightpeft::dist
