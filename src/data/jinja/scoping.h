#pragma once
// jinja2 resolves names per frame at compile time (jinja2/idtracking.py), and one consequence is
// visible in output: a name a frame (the template, a loop body, a macro, a block) assigns
// unconditionally before any read of it in that frame starts out undefined there, shadowing the
// value passed in or held by an enclosing frame, so that a loop or macro running before the
// assignment sees it undefined:
//
//   {% for m in messages %}{{ system }}{% endfor %}{% set system = 'x' %}   -> prints nothing
//
// Every other read finds the innermost frame that has the name, as a scope chain does. This pass
// computes, per frame, the names that start undefined; the interpreter binds them on entry.
#include "ast.h"

namespace lightpeft::jinja {

void analyze_scopes(Program& program);

}  // namespace lightpeft::jinja
