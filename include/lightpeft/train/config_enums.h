#pragma once
// The closed sets of values the training config takes, as enums with one name table each
// (core/enum_names.h): the config schema reads, checks, writes and documents them from these tables,
// and code compares enums (`c.adapter.placement == AdapterPlacement::pfeiffer`), never strings.
#include "lightpeft/core/enum_names.h"
#include "lightpeft/data/prompt_format.h"
#include "lightpeft/data/user_task.h"
#include "lightpeft/pruning/pruning_scope.h"

namespace lightpeft {

enum class Method { lora, adapter, light_peft, full };
LP_ENUM_NAMES(Method, {Method::lora, "lora"}, {Method::adapter, "adapter"}, {Method::light_peft, "light-peft"},
              {Method::full, "full"}, {Method::light_peft, "light_peft"}, {Method::light_peft, "lightpeft"});

enum class LrScheduler { linear, cosine, constant };  // HF's get_*_schedule_with_warmup
LP_ENUM_NAMES(LrScheduler, {LrScheduler::linear, "linear"}, {LrScheduler::cosine, "cosine"},
              {LrScheduler::constant, "constant"});

enum class NonfiniteLoss { stop, skip };  // what a step with an inf/NaN loss does
LP_ENUM_NAMES(NonfiniteLoss, {NonfiniteLoss::stop, "stop"}, {NonfiniteLoss::skip, "skip"});

enum class AdapterPlacement { houlsby, pfeiffer };
LP_ENUM_NAMES(AdapterPlacement, {AdapterPlacement::houlsby, "houlsby"}, {AdapterPlacement::pfeiffer, "pfeiffer"});

enum class AdapterInit { bert, zero_up };  // the names are AdapterConfig::init_weights'
LP_ENUM_NAMES(AdapterInit, {AdapterInit::bert, "bert"}, {AdapterInit::zero_up, "zero_up"});

// The config offers two of the adapter's non-linearities (peft/bottleneck_adapter.h has more).
enum class AdapterActivation { relu, gelu };
LP_ENUM_NAMES(AdapterActivation, {AdapterActivation::relu, "relu"}, {AdapterActivation::gelu, "gelu"});

enum class PeftKind { lora, adapter };  // which PEFT light-peft estimates and prunes
LP_ENUM_NAMES(PeftKind, {PeftKind::lora, "lora"}, {PeftKind::adapter, "adapter"});

enum class FoundationImportance { mask, taylor };  // pruning/foundation_importance.h
LP_ENUM_NAMES(FoundationImportance, {FoundationImportance::mask, "mask"}, {FoundationImportance::taylor, "taylor"});

enum class Dtype { fp32, bf16, fp16 };  // the compute dtype (bf16/fp16: autocast)
LP_ENUM_NAMES(Dtype, {Dtype::fp32, "fp32"}, {Dtype::bf16, "bf16"}, {Dtype::fp16, "fp16"});

// How the frozen base weights are stored: bf16 halves their memory; LoRA, adapters, masks, the head
// and the optimizer state stay in fp32, and a frozen linear computes in bf16 on bf16 units.
enum class BaseDtype { fp32, bf16 };
LP_ENUM_NAMES(BaseDtype, {BaseDtype::fp32, "fp32"}, {BaseDtype::bf16, "bf16"});

// A config names its user files' format (auto_detect, by extension, is the loader's own default).
LP_ENUM_NAMES(UserFileFormat, {UserFileFormat::csv, "csv"}, {UserFileFormat::tsv, "tsv"},
              {UserFileFormat::jsonl, "jsonl"});

// How instruction rows become prompt/response text (data/prompt_format.h).
LP_ENUM_NAMES(PromptStyle, {PromptStyle::alpaca, "alpaca"}, {PromptStyle::chat, "chat"}, {PromptStyle::custom, "custom"});

}  // namespace lightpeft
