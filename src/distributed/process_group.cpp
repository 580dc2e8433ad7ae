#include "lightpeft/distributed/process_group.h"

#include <cstdlib>
#include <cstring>

#include <ATen/ops/empty.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <ATen/ops/full.h>
#include <ATen/ops/from_blob.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include "backends.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft::dist {
namespace {

std::shared_ptr<ProcessGroup>& default_group_slot() {
  static std::shared_ptr<ProcessGroup> group;
  return group;
}

// c10d reports a dead peer ("Connection closed by peer", "Connection reset") or a timeout as a
// c10::Error / DistBackendError; we add where it happened and what to do.
[[noreturn]] void fail(const std::string& op, int rank, int size, std::chrono::milliseconds timeout,
                       const std::exception& e) {
  std::string what = e.what();
  if (const size_t nl = what.find("\nException raised from"); nl != std::string::npos) what.resize(nl);
  throw_error("distributed: rank ", rank, " of ", size, ": ", op,
              " failed: another worker died, hung or could not be reached within the timeout of ",
              timeout.count() / 1000.0, " s (LIGHTPEFT_DIST_TIMEOUT); the job stops. c10d said: ", what);
}

}  // namespace

std::chrono::milliseconds default_timeout() {
  if (const char* v = std::getenv("LIGHTPEFT_DIST_TIMEOUT"); v && *v) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    LP_CHECK(end && *end == '\0' && s > 0, "LIGHTPEFT_DIST_TIMEOUT='", v,
             "' is not a positive number of seconds");
    return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0));
  }
  return std::chrono::minutes(30);
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

struct ProcessGroup::Pending::Impl {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<std::vector<at::Tensor>> inputs;  // c10d takes a vector per call (kept alive here)
  std::string what;
  int rank = 0, size = 1;
  std::chrono::milliseconds timeout{0};
};

void ProcessGroup::Pending::wait() {
  if (!impl_) return;
  try {
    for (auto& w : impl_->works) w->wait(impl_->timeout);
  } catch (const std::exception& e) {
    fail(impl_->what, impl_->rank, impl_->size, impl_->timeout, e);
  }
  impl_.reset();
}

ProcessGroup::ProcessGroup(const LaunchEnv& env, c10::Device device, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), size_(env.world_size), timeout_(timeout) {
  backend_ = device.is_cuda() ? "nccl" : "gloo";
  device_ = device;
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(env.master_port);
    o.isServer = env.rank == 0;
    o.numWorkers = static_cast<size_t>(env.world_size);
    o.waitWorkers = true;
    o.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (const size_t nl = what.find("\nException raised from"); nl != std::string::npos) what.resize(nl);
    throw_error("distributed: rank ", env.rank, " of ", env.world_size, ": the rendezvous at ",
                env.master_addr, ":", env.master_port, " (MASTER_ADDR:MASTER_PORT, ", env.source,
                ") failed within ", timeout.count() / 1000.0, " s: ",
                env.rank == 0 ? "the port may be in use, or not every rank started"
                              : "rank 0 is not reachable there, or not every rank started",
                ". c10d said: ", what);
  }
  try {
    impl_->backend = device.is_cuda()
                         ? detail::make_nccl_backend(impl_->store, rank_, size_, timeout)
                         : detail::make_gloo_backend(impl_->store, rank_, size_, timeout, env.master_addr);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("creating the " + backend_ + " process group", rank_, size_, timeout, e);
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  all_reduce_sum_async(tensors, "all_reduce").wait();
}

ProcessGroup::Pending ProcessGroup::all_reduce_sum_async(std::vector<at::Tensor>& tensors,
                                                         const std::string& what) {
  Pending p;
  p.impl_ = std::make_shared<Pending::Impl>();
  p.impl_->what = what;
  p.impl_->rank = rank_;
  p.impl_->size = size_;
  p.impl_->timeout = timeout_;
  try {
    // One collective per tensor: c10d reads several tensors in one call as one tensor's replicas on
    // several devices of this process, and sums them together.
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    o.timeout = timeout_;
    p.impl_->inputs.reserve(tensors.size());
    for (auto& t : tensors) {
      p.impl_->inputs.push_back({t});
      p.impl_->works.push_back(impl_->backend->allreduce(p.impl_->inputs.back(), o));
    }
  } catch (const std::exception& e) {
    fail(what, rank_, size_, timeout_, e);
  }
  return p;
}

void ProcessGroup::all_reduce_max(std::vector<at::Tensor>& tensors) {
  try {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    o.timeout = timeout_;
    for (auto& t : tensors) {  // one collective per tensor (see all_reduce_sum_async)
      std::vector<at::Tensor> one{t};
      impl_->backend->allreduce(one, o)->wait(timeout_);
    }
  } catch (const std::exception& e) {
    fail("all_reduce(max)", rank_, size_, timeout_, e);
  }
}

void ProcessGroup::broadcast(at::Tensor& tensor, int root) {
  try {
    std::vector<at::Tensor> t{tensor};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = timeout_;
    impl_->backend->broadcast(t, o)->wait(timeout_);
  } catch (const std::exception& e) {
    fail("broadcast from rank " + std::to_string(root), rank_, size_, timeout_, e);
  }
}

void ProcessGroup::barrier(const std::string& what) {
  try {
    c10d::BarrierOptions o;
    o.timeout = timeout_;
    impl_->backend->barrier(o)->wait(timeout_);
  } catch (const std::exception& e) {
    fail("barrier (" + what + ")", rank_, size_, timeout_, e);
  }
}

void set_default_group(std::shared_ptr<ProcessGroup> group) { default_group_slot() = std::move(group); }
ProcessGroup* default_group() { return default_group_slot().get(); }

ProcessGroup* init_default_group(c10::Device device) {
  auto env = read_launch_env();
  if (!env) return nullptr;
  if (device.is_cuda()) {  // one GPU per process: cuda:LOCAL_RANK becomes this process's current device
    device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(env->local_rank));
    c10::impl::getDeviceGuardImpl(c10::kCUDA)->setDevice(device);
  }
  const auto timeout = default_timeout();
  auto group = std::make_shared<ProcessGroup>(*env, device, timeout);
  log::info("distributed: rank ", env->rank, " of ", env->world_size, " (local rank ", env->local_rank,
            ", ", env->source, "), ", group->backend(), " via ", env->master_addr, ":", env->master_port,
            ", timeout ", timeout.count() / 1000.0, " s");
  set_default_group(group);
  return group.get();
}

int rank() { return default_group() ? default_group()->rank() : 0; }
int world_size() { return default_group() ? default_group()->size() : 1; }

void barrier(const std::string& what) {
  if (auto* g = default_group()) g->barrier(what);
}

void run_on_main_process(const std::string& what, const std::function<void()>& fn) {
  if (!default_group()) return fn();
  std::string error;
  std::exception_ptr failure;
  if (is_main_process()) {
    try {
      fn();
    } catch (const std::exception& e) {
      failure = std::current_exception();
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  broadcast_string(error);
  if (failure) std::rethrow_exception(failure);
  LP_CHECK(error.empty(), "distributed: rank 0 failed ", what, ": ", error);
}

void broadcast_string(std::string& text, int root) {
  auto* g = default_group();
  if (!g) return;
  at::Tensor length = at::full({1}, static_cast<int64_t>(text.size()), at::TensorOptions(at::kLong).device(g->device()));
  g->broadcast(length, root);
  at::Tensor bytes = at::empty({length.item<int64_t>()}, at::kByte);
  if (g->rank() == root && !text.empty()) std::memcpy(bytes.data_ptr(), text.data(), text.size());
  if (bytes.numel() > 0) {
    at::Tensor on_device = bytes.to(g->device());
    g->broadcast(on_device, root);
    bytes = on_device.to(at::kCPU);
  }
  text.assign(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(bytes.numel()));
}

double all_reduce_sum(double value) {
  auto* g = default_group();
  if (!g) return value;
  std::vector<at::Tensor> t{at::full({1}, value, at::TensorOptions(at::kDouble).device(g->device()))};
  g->all_reduce_sum(t);
  return t[0].item<double>();
}

double all_reduce_max(double value) {
  auto* g = default_group();
  if (!g) return value;
  std::vector<at::Tensor> t{at::full({1}, value, at::TensorOptions(at::kDouble).device(g->device()))};
  g->all_reduce_max(t);
  return t[0].item<double>();
}

}  // namespace lightpeft::dist
