#pragma once
// The chat-template lexer: template text -> tokens, with jinja2's lexing rules as transformers
// configures them (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False): newlines
// are normalised to "\n" and one trailing newline is dropped; "{%-"/"-%}" (and the "{{"/"{#" forms)
// strip whitespace; "{%+"/"+%}" keep it; a block or comment tag alone on its line takes the
// line's indentation and newline with it; "{% raw %}...{% endraw %}" is text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lightpeft::jinja {

struct Pos {
  int line = 1;
  int col = 1;  // in code points, 1-based
};

enum class Tok { data, var_begin, var_end, block_begin, block_end, name, string, integer, floating, op, eof };

struct Token {
  Tok type = Tok::eof;
  std::string text;  // data, name, decoded string literal or operator
  int64_t ival = 0;
  double fval = 0;
  Pos pos;
};

// "<origin>:<line>:<col>: <message>"
std::string located(const std::string& origin, Pos pos, const std::string& message);

// Throws lightpeft::Error "<origin>:<line>:<col>: ..." for text that is not valid UTF-8, unclosed
// tags, comments, raw blocks and string literals, bad escapes, unbalanced brackets and characters
// that start no token.
std::vector<Token> tokenize(std::string_view source, const std::string& origin);

}  // namespace lightpeft::jinja
