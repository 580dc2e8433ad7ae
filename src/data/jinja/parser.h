#pragma once
// The chat-template parser: tokens -> Program, following jinja2's grammar (jinja2/parser.py) for the
// statements and expressions chat templates use. Everything else (extends, include, import, call
// blocks, recursive loops, *args) is refused with "<origin>:<line>:<col>: ..." naming the construct,
// as are filters and tests lightpeft does not implement (outside if-branches; inside them, as in
// jinja2, only when the branch runs).
#include <string>
#include <string_view>

#include "ast.h"

namespace lightpeft::jinja {

// Nesting of brackets, operators and blocks the parser accepts; deeper templates are refused so
// that parsing and evaluation cannot overflow the stack.
constexpr int kMaxNesting = 150;
constexpr int kMaxExprDepth = 200;

Program parse_template(std::string_view source, const std::string& origin);

}  // namespace lightpeft::jinja
