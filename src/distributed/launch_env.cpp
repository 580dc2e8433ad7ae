#include "lightpeft/distributed/launch_env.h"

#include <cstdlib>

#include "lightpeft/core/error.h"

namespace lightpeft::dist {
namespace {

int parse_int(const std::string& name, const std::string& text) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LP_CHECK(used == text.size() && !text.empty(), "distributed launch: environment variable ", name, "='",
           text, "' is not an integer");
  LP_CHECK(v >= 0 && v <= 1'000'000, "distributed launch: environment variable ", name, "=", v,
           " is out of range (expected 0..1000000)");
  return static_cast<int>(v);
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<LaunchEnv> read_launch_env(const EnvLookup& env) {
  LaunchEnv e;
  std::string rank_var, world_var, local_var;
  if (env("RANK") || env("WORLD_SIZE")) {
    rank_var = "RANK", world_var = "WORLD_SIZE", local_var = "LOCAL_RANK";
    e.source = "torchrun";
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    rank_var = "SLURM_PROCID", world_var = "SLURM_NTASKS", local_var = "SLURM_LOCALID";
    e.source = "slurm";
  } else {
    return std::nullopt;
  }
  const auto rank = env(rank_var), world = env(world_var), local = env(local_var);
  LP_CHECK(rank, "distributed launch: ", world_var, " is set but ", rank_var,
           " is not; a launcher sets both (torchrun, lightpeft train --nproc, srun)");
  LP_CHECK(world, "distributed launch: ", rank_var, " is set but ", world_var,
           " is not; a launcher sets both (torchrun, lightpeft train --nproc, srun)");
  e.rank = parse_int(rank_var, *rank);
  e.world_size = parse_int(world_var, *world);
  LP_CHECK(e.world_size >= 1, "distributed launch: ", world_var, "=", e.world_size, " must be at least 1");
  LP_CHECK(e.rank < e.world_size, "distributed launch: ", rank_var, "=", e.rank, " must be below ",
           world_var, "=", e.world_size);
  e.local_rank = local ? parse_int(local_var, *local) : e.rank;
  if (e.world_size == 1) return std::nullopt;

  const auto addr = env("MASTER_ADDR"), port = env("MASTER_PORT");
  LP_CHECK(addr && !addr->empty(), "distributed launch: MASTER_ADDR is not set (", world_var, "=",
           e.world_size, "): set it to the host name or address of rank 0's node (see docs/distributed.md)");
  LP_CHECK(port && !port->empty(), "distributed launch: MASTER_PORT is not set (", world_var, "=",
           e.world_size, "): set it to a free TCP port on rank 0's node, e.g. 29500");
  e.master_addr = *addr;
  e.master_port = parse_int("MASTER_PORT", *port);
  LP_CHECK(e.master_port >= 1 && e.master_port <= 65535, "distributed launch: MASTER_PORT=", e.master_port,
           " is not a TCP port (1..65535)");
  return e;
}

}  // namespace lightpeft::dist
