#pragma once
// All torch-free CUDA entry points of lightpeft, one header per kernel (see docs/kernels.md).
// The library's dispatcher (include/lightpeft/kernels/, src/kernels/) is their only caller.
#include "device_query.h"
#include "fused_lora.h"
#include "gpu_api.h"
#include "importance.h"
#include "masked_attention.h"
#include "masked_ffn.h"
#include "pruned_gemm.h"
