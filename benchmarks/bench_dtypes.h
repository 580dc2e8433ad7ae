#pragma once
// The step benchmarks' --dtype and --base-dtype: fp32 or bf16, by the config's own names (BaseDtype,
// the values `base_dtype:` takes; `dtype: fp16` is CUDA-only and not benchmarked on the CPU).
#include <iostream>
#include <string>

#include "lightpeft/train/config_enums.h"

namespace lightpeft::bench {

// True when both name fp32 or bf16; otherwise says so on stderr under the program's name.
inline bool check_dtypes(const char* program, const std::string& dtype, const std::string& base_dtype) {
  if (parse_enum<BaseDtype>(dtype) && parse_enum<BaseDtype>(base_dtype)) return true;
  std::cerr << program << ": --dtype and --base-dtype must be fp32 or bf16 (got '" << dtype << "' and '"
            << base_dtype << "')\n";
  return false;
}

}  // namespace lightpeft::bench
