#pragma once
// A data-parallel process group on PyTorch's c10d: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT
// (served by rank 0), then ProcessGroupGloo for CPU tensors or ProcessGroupNCCL for CUDA tensors.
// Every collective waits for its result and turns c10d's errors (a peer that died, a collective that
// did not finish within the timeout) into a lightpeft::Error that says which operation, which rank
// and what to look at, so a broken job fails instead of hanging.
//
// c10d's types stay in src/distributed (their headers pull in ATen.h and, for Gloo, gloo's headers).
//
// Like torch.distributed there is one default group per process (set by init_default_group);
// rank() / world_size() / is_main_process() / barrier() read it and behave as a world of one when
// there is none, so single-process code needs no special case.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "lightpeft/distributed/launch_env.h"

namespace lightpeft::dist {

// 30 minutes unless LIGHTPEFT_DIST_TIMEOUT (seconds) says otherwise: the longest a rank waits in a
// collective or at a barrier (rank 0's evaluation and checkpointing included) before failing.
std::chrono::milliseconds default_timeout();

class ProcessGroup {
 public:
  // Handle of a collective in flight (all_reduce_sum_async).
  class Pending {
   public:
    void wait();  // throws lightpeft::Error like the blocking calls
   private:
    friend class ProcessGroup;
    struct Impl;
    std::shared_ptr<Impl> impl_;
  };

  // Rendezvous and backend: NCCL when `device` is CUDA (device index = env.local_rank is the
  // caller's business), Gloo otherwise. Throws when the store cannot be reached or not all ranks
  // arrive within `timeout`.
  ProcessGroup(const LaunchEnv& env, c10::Device device, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& backend() const { return backend_; }  // "gloo" | "nccl"
  c10::Device device() const { return device_; }           // where its tensors must live
  std::chrono::milliseconds timeout() const { return timeout_; }

  // In place: every tensor becomes the sum over ranks (same shapes and dtypes on every rank); one
  // collective per tensor, all in flight at once.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  Pending all_reduce_sum_async(std::vector<at::Tensor>& tensors, const std::string& what);
  void all_reduce_max(std::vector<at::Tensor>& tensors);
  // In place: every rank's tensor becomes root's.
  void broadcast(at::Tensor& tensor, int root = 0);
  void barrier(const std::string& what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int size_ = 1;
  std::string backend_;
  c10::Device device_{c10::kCPU};
  std::chrono::milliseconds timeout_{0};
};

// The process's default group (null: not distributed).
void set_default_group(std::shared_ptr<ProcessGroup> group);
ProcessGroup* default_group();
// Reads the launch environment; when it describes a multi-process job, creates the default group
// on `device` (CUDA: uses cuda:<LOCAL_RANK>) and returns it. Null for a single-process run.
ProcessGroup* init_default_group(c10::Device device);

int rank();
int world_size();
inline bool is_distributed() { return world_size() > 1; }
inline bool is_main_process() { return rank() == 0; }
// Waits for every rank (no-op without a group); `what` names the point in error messages.
void barrier(const std::string& what);

// Runs `fn` on rank 0 only (writing files, evaluating) while the other ranks wait; a failure on rank 0
// is rethrown there and reported on every other rank too ("rank 0 failed <what>: ..."), so no rank
// is left waiting for a collective that will never come. Without a group: just runs `fn`.
void run_on_main_process(const std::string& what, const std::function<void()>& fn);

// Broadcast helpers on the default group (no-ops without one).
void broadcast_string(std::string& text, int root = 0);
double all_reduce_sum(double value);
double all_reduce_max(double value);

}  // namespace lightpeft::dist
