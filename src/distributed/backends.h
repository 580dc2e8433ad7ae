#pragma once
// The c10d backends lightpeft creates (private to src/distributed). Each lives in its own file:
// Gloo needs gloo's headers (Debian's libgloo-dev; torch's wheel ships the library, not them), NCCL
// needs CUDA and nccl.h; a build without them reports a clear error at run time instead.
#include <chrono>
#include <string>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace lightpeft::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                    int size, std::chrono::milliseconds timeout,
                                                    const std::string& master_addr);
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                    int size, std::chrono::milliseconds timeout);

}  // namespace lightpeft::dist::detail
