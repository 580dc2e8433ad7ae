#pragma once
// Helpers shared by the io tests.
#include <cstring>
#include <functional>
#include <string>

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"

namespace lightpeft::testing {

// Runs `fn`, expects a lightpeft::Error whose message contains every part in `parts`; returns the
// message (empty if nothing was thrown).
inline std::string expect_error(const std::function<void()>& fn,
                                std::initializer_list<std::string> parts) {
  try {
    fn();
  } catch (const lightpeft::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "message lacks '" << p << "': " << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected lightpeft::Error, got another exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected lightpeft::Error, nothing was thrown";
  return {};
}

// Exact equality: same dtype, shape and bytes (works for every dtype, NaNs included).
inline ::testing::AssertionResult same_tensor(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type())
    return ::testing::AssertionFailure() << "dtype " << a.scalar_type() << " vs " << b.scalar_type();
  if (a.sizes() != b.sizes())
    return ::testing::AssertionFailure() << "shape " << a.sizes() << " vs " << b.sizes();
  at::Tensor ca = a.cpu().contiguous(), cb = b.cpu().contiguous();
  if (ca.nbytes() && std::memcmp(ca.const_data_ptr(), cb.const_data_ptr(), ca.nbytes()) != 0)
    return ::testing::AssertionFailure() << "values differ";
  return ::testing::AssertionSuccess();
}

}  // namespace lightpeft::testing
