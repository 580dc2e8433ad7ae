#pragma once
// The parsed form of a chat template: expressions and statements as jinja2's parser builds them
// (jinja2/nodes.py), reduced to the subset lightpeft renders.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lexer.h"
#include "value.h"

namespace lightpeft::jinja {

enum class ExprType {
  constant,   // value
  name,       // name
  getattr,    // args[0].name
  getitem,    // args[0][args[1]]
  slice,      // args: start, stop, step (each may be null); only as a getitem key
  call,       // args[0](args[1..], kwargs)
  filter,     // args[0] | name(args[1..], kwargs); args[0] null in filter blocks
  test,       // args[0] is [not] name(args[1..], kwargs)
  neg,        // -args[0]
  pos,        // +args[0]
  not_,       // not args[0]
  and_,       // args[0] and args[1]
  or_,        // args[0] or args[1]
  binary,     // args[0] <name> args[1]: + - * / // % **
  concat,     // args[0] ~ args[1] ~ ...
  compare,    // args[0] ops[0] args[1] ops[1] args[2] ...: == != < <= > >= in notin
  condexpr,   // args[0] if args[1] else args[2] (args[2] null without else)
  list,       // [args...]
  tuple,      // (args...)
  dict,       // {args[0]: args[1], args[2]: args[3], ...}
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprType type = ExprType::constant;
  Pos pos;
  int depth = 1;  // height of this subtree (bounded, so evaluation cannot overflow the stack)
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct MacroDef {
  std::string name;
  Pos pos;
  std::vector<std::string> frame_undefined;  // see Stmt::frame_undefined
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param; null without a default
  Body body;
};

// An assignment target: `name` or `name.attr` (a namespace attribute).
struct Target {
  std::string name;
  std::string attr;  // empty for a plain name
  Pos pos;
};

enum class StmtType {
  text,          // text
  print,         // {{ expr }}
  if_,           // conds[i] -> bodies[i], else_body
  for_,          // for targets in expr [if filter]: body else else_body
  set,           // set targets = expr
  set_block,     // set targets[0] | filters: body endset
  macro,         // macro
  break_,
  continue_,
  filter_block,  // filter filters: body endfilter
  with,          // with targets[i] = values[i]: body endwith
  scope_body,    // {% generation %}: the body, rendered as is
};

struct Stmt {
  StmtType type = StmtType::text;
  Pos pos;
  std::string text;
  ExprPtr expr;
  std::vector<ExprPtr> conds;  // if: conditions; with: values
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<Target> targets;
  bool unpack = false;  // targets came as a tuple (a, b = ...)
  ExprPtr loop_filter;
  std::vector<ExprPtr> filters;  // filter expressions with a null input
  std::unique_ptr<MacroDef> macro;
  // Statements with a body of their own frame (for, set/filter blocks, with, generation): the
  // names the frame assigns before reading them, which start undefined (scoping.h).
  std::vector<std::string> frame_undefined;
  std::vector<std::string> else_undefined;  // for: the else frame's
};

struct Program {
  Body body;
  std::vector<std::string> frame_undefined;
};

}  // namespace lightpeft::jinja
