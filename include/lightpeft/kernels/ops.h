#pragma once
// Every tensor operation backed by lightpeft's CUDA kernels, and the switch the models use.
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/device_info.h"
#include "lightpeft/kernels/importance.h"
#include "lightpeft/kernels/lora_linear.h"
#include "lightpeft/kernels/masked_attention.h"
#include "lightpeft/kernels/masked_ffn.h"
#include "lightpeft/kernels/pruned_linear.h"
