#pragma once
// The one exception type lightpeft throws for bad input: it always says where (file, line or key)
// and what was expected, so a user can fix the input without reading our code.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace lightpeft {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Builds a message from streamable parts: throw_error("config.json: key 'hidden_size': expected ...").
template <typename... Args>
[[noreturn]] void throw_error(Args&&... args) {
  throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace lightpeft

// LP_CHECK(cond, parts...) throws lightpeft::Error with the parts when cond is false.
#define LP_CHECK(cond, ...)                          \
  do {                                               \
    if (!(cond)) ::lightpeft::throw_error(__VA_ARGS__); \
  } while (0)
