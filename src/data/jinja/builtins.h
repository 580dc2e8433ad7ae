#pragma once
// The filters, tests, global functions and str/dict/list methods chat templates call, with
// jinja2's and Python's semantics (transformers' environment: `tojson` is json.dumps with
// ensure_ascii=False, `raise_exception`, `strftime_now`, `namespace` and `dict` are globals).
#include <optional>
#include <string>
#include <vector>

#include "interpreter.h"
#include "value.h"

namespace lightpeft::jinja {

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
// Names jinja2 knows that lightpeft does not implement (for a clearer error than "unknown").
bool jinja2_has_filter(const std::string& name);
bool jinja2_has_test(const std::string& name);

Value call_filter(Interpreter& in, const std::string& name, const Value& input, const Args& args);
bool call_test(Interpreter& in, const std::string& name, const Value& input, const Args& args);

// The global functions, as values for the root scope.
std::vector<std::pair<std::string, Value>> global_functions();
Value call_global(Interpreter& in, const std::string& name, const Args& args);

// Python attribute names of str, dict, list/tuple and the loop object: obj.name on these is the
// (bound) method, which shadows a dict key of the same name, as in jinja2's sandbox.
bool is_method(const Value& self, const std::string& name);
Value call_method(Interpreter& in, const Value& self, const std::string& name, const Args& args);

// Binds call arguments to parameter names: positional first, then keywords. Unknown keywords,
// duplicates and surplus positional arguments throw TemplateError naming `what`.
std::vector<std::optional<Value>> bind_args(const Args& args, const std::vector<const char*>& params,
                                            const std::string& what);

}  // namespace lightpeft::jinja
