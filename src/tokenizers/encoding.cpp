#include "lightpeft/tokenizers/encoding.h"

#include "lightpeft/core/error.h"

namespace lightpeft {

Truncation parse_truncation(const std::string& name) {
  if (name == "longest_first") return Truncation::longest_first;
  if (name == "only_first") return Truncation::only_first;
  if (name == "only_second") return Truncation::only_second;
  if (name == "none" || name == "do_not_truncate") return Truncation::none;
  throw_error("truncation '", name, "': expected longest_first, only_first, only_second or none");
}

Padding parse_padding(const std::string& name) {
  if (name == "none" || name == "do_not_pad") return Padding::none;
  if (name == "longest") return Padding::longest;
  if (name == "max_length") return Padding::max_length;
  throw_error("padding '", name, "': expected none, longest or max_length");
}

}  // namespace lightpeft
