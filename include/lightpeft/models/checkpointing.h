#pragma once
// Activation checkpointing per layer (HF's gradient_checkpointing, torch.utils.checkpoint's
// reentrant variant): the forward runs a layer without keeping its activations; in backward the
// layer runs again with the same random state (dropout masks repeat) and is differentiated, so the
// gradients equal those without checkpointing while the peak memory holds one layer's activations
// instead of all of them. Parameters inside the layer (LoRA, masks) get their gradients from the
// recomputation.
#include <functional>

#include <ATen/core/Tensor.h>

namespace lightpeft {

// fn(x) checkpointed when gradients are being recorded; plain fn(x) otherwise.
at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x);

// True while a checkpointed layer is being recomputed in backward: observers that record
// something per forward (Light-PEFT's module importance) skip the second pass.
bool is_recomputing();

}  // namespace lightpeft
