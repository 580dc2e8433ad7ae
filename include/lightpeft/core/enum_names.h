#pragma once
// Closed sets of names (a config's `lr_scheduler_type: linear | cosine | constant`) are enums with
// one name table each, declared beside the enum; printing, parsing, "one of" messages and the
// generated docs all read that table, so a name is never spelt twice:
//
//   enum class LrScheduler { linear, cosine, constant };
//   LP_ENUM_NAMES(LrScheduler, {LrScheduler::linear, "linear"}, {LrScheduler::cosine, "cosine"}, ...);
//
// The first name of a value is its canonical one (what to_string prints and messages list); later
// names of the same value are accepted spellings (`method: light_peft` for light-peft).
#include <optional>
#include <string>
#include <string_view>

namespace lightpeft {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// Specialised by LP_ENUM_NAMES; the primary template has no table (not a named enum).
template <typename E>
struct EnumNames {};

#define LP_ENUM_NAMES(E, ...)                                    \
  template <>                                                    \
  struct EnumNames<E> {                                          \
    static constexpr EnumName<E> table[] = {__VA_ARGS__};        \
  }

template <typename E, typename = void>
inline constexpr bool has_enum_names = false;
template <typename E>
inline constexpr bool has_enum_names<E, std::void_t<decltype(EnumNames<E>::table)>> = true;

template <typename E, typename = std::enable_if_t<has_enum_names<E>>>
std::string to_string(E value) {
  for (const auto& n : EnumNames<E>::table)
    if (n.value == value) return n.name;
  return "?";  // a value the table lacks: only a cast integer can be one
}

template <typename E>
std::optional<E> parse_enum(std::string_view name) {
  for (const auto& n : EnumNames<E>::table)
    if (name == n.name) return n.value;
  return std::nullopt;
}

// The canonical names in table order, joined: "linear, cosine, constant" (`quote`: "`linear`, ...").
template <typename E>
std::string enum_names(const char* quote = "") {
  std::string out;
  for (const auto& n : EnumNames<E>::table)
    if (to_string(n.value) == n.name) out += (out.empty() ? "" : ", ") + std::string(quote) + n.name + quote;
  return out;
}

}  // namespace lightpeft
