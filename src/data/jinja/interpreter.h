#pragma once
// Renders a parsed chat template with jinja2's runtime semantics: scopes (a for-loop iteration and a
// macro call are scopes of their own, if-blocks are not), the Undefined value (printing it gives "",
// using it in arithmetic or reading an attribute of it is an error), Python's operators, the sandbox's
// attribute rules (obj.x tries the attribute, then obj['x']; obj['x'] the reverse).
//
// Runaway templates stop with an error: every evaluated node and loop iteration costs a step
// (Limits::max_steps), the evaluation depth (macro recursion included) is bounded, and no string,
// including the output, may grow past Limits::max_bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ast.h"
#include "value.h"

namespace lightpeft::jinja {

struct Limits {
  size_t max_bytes = size_t{64} << 20;
  int64_t max_steps = 20'000'000;
  int max_depth = 400;
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
};

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
};

class Interpreter {
 public:
  Interpreter(const Program& program, const std::string& origin, const Limits& limits);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders with `variables` as the template's context (over the global functions).
  std::string render(std::unordered_map<std::string, Value> variables);

  // ---- for the builtins (filters, tests, methods, functions) ------------------------------------
  const Limits& limits() const { return limits_; }
  // Spends `units` steps; throws TemplateError past Limits::max_steps.
  void charge(int64_t units);
  // Throws TemplateError when a string of `bytes` would exceed Limits::max_bytes.
  void check_size(size_t bytes) const;
  // jinja2's environment.getattr / getitem.
  Value get_attr(const Value& obj, const std::string& name);
  Value get_item(const Value& obj, const Value& key);
  Value call(const Value& callee, const Args& args);
  Value apply_filter(const std::string& name, const Value& input, const Args& args);
  bool apply_test(const std::string& name, const Value& input, const Args& args);
  // The items a for loop over `v` visits (dict keys, string characters); TemplateError otherwise.
  std::vector<Value> iterate(const Value& v);

 private:
  enum class Flow { normal, break_, continue_ };
  using ScopePtr = std::shared_ptr<Scope>;

  Flow exec(const Body& body, const ScopePtr& scope);
  Flow exec_stmt(const Stmt& s, const ScopePtr& scope);
  void exec_for(const Stmt& s, const ScopePtr& scope);
  void assign(const std::vector<Target>& targets, bool unpack, const Value& value, const ScopePtr& scope);
  std::string render_body(const Body& body, const ScopePtr& scope);
  void emit(const std::string& text);

  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_node(const Expr& e, const ScopePtr& scope);
  Value eval_call(const Expr& e, const ScopePtr& scope);
  Args eval_args(const Expr& e, size_t first, const ScopePtr& scope);
  Value eval_slice(const Value& obj, const Expr& slice, const ScopePtr& scope);
  Value call_macro(const Callable& macro, const Args& args);
  Value binary(const std::string& op, const Value& a, const Value& b);
  bool compare(const std::string& op, const Value& a, const Value& b);
  bool contains(const Value& container, const Value& item);

  [[noreturn]] void fail(Pos pos, const std::string& message) const;

  struct DepthGuard {
    Interpreter& in;
    explicit DepthGuard(Interpreter& i);
    ~DepthGuard() { --in.depth_; }
  };

  const Program& program_;
  const std::string& origin_;
  Limits limits_;
  int64_t steps_ = 0;
  int depth_ = 0;
  std::string* out_ = nullptr;
  std::shared_ptr<Scope> globals_;
  // Scopes captured by macros: a scope holding a macro that closes over it is a reference cycle,
  // broken when rendering ends.
  std::vector<std::weak_ptr<Scope>> captured_;
};

// Undefined values carry the message of the error their use raises.
[[noreturn]] void undefined_error(const Value& v);

}  // namespace lightpeft::jinja
