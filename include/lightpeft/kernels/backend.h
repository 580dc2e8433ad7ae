#pragma once
// Whether the models use lightpeft's CUDA kernels. The tensor operations of this folder
// (masked_attention.h, masked_ffn.h, pruned_linear.h, lora_linear.h, importance.h) run their CUDA
// kernel for CUDA tensors and their LibTorch reference otherwise, whoever calls them. The models
// (attention, FFN, LoRA, the importance recorders) call them only when use_fused() says so, and
// otherwise keep their own LibTorch code, which the references mirror exactly.
//
// Opt-in, because the kernels have not yet been validated on a GPU (docs/kernels.md):
//     LIGHTPEFT_KERNELS=reference   (default) the models' LibTorch code, on every device
//     LIGHTPEFT_KERNELS=fused       the kernels for CUDA tensors; CPU tensors are unaffected
// read once, at first use; set_backend() overrides it (tests, benchmarks).
#include <string>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

enum class Backend { reference, fused };

std::string to_string(Backend backend);  // "reference" | "fused"
// Throws lightpeft::Error naming `origin` for any other name.
Backend parse_backend(const std::string& name, const std::string& origin);

// The process-wide choice (thread-safe). The first call reads LIGHTPEFT_KERNELS; an invalid value
// throws lightpeft::Error naming the variable.
Backend backend();
void set_backend(Backend backend);

// True when this build has the CUDA kernels (nvcc was found: LIGHTPEFT_CUDA, docs/kernels.md).
bool compiled_with_cuda();

// What a model asks before calling an operation: backend() is fused, the kernels are compiled in,
// and `t` is a CUDA tensor.
bool use_fused(const at::Tensor& t);

// Sets the backend for a scope and restores the previous one (tests, benchmarks).
class BackendScope {
 public:
  explicit BackendScope(Backend b) : previous_(backend()) { set_backend(b); }
  ~BackendScope() { set_backend(previous_); }
  BackendScope(const BackendScope&) = delete;
  BackendScope& operator=(const BackendScope&) = delete;

 private:
  Backend previous_;
};

}  // namespace lightpeft::kernels
