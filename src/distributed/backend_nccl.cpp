// ProcessGroupNCCL for CUDA tensors (LIGHTPEFT_WITH_NCCL: a CUDA build of torch and nccl.h found);
// torch's wheel exports it from libtorch_cuda.so.
#include "backends.h"

#include "lightpeft/core/error.h"

#ifdef LIGHTPEFT_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lightpeft::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                    int size, std::chrono::milliseconds timeout) {
#ifdef LIGHTPEFT_WITH_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw_error("distributed: this lightpeft was built without NCCL (no CUDA toolkit or nccl.h at build "
              "time), so it cannot all-reduce CUDA tensors; rebuild on a machine with CUDA, or train "
              "on the CPU (device: cpu) with the Gloo backend");
#endif
}

}  // namespace lightpeft::dist::detail
