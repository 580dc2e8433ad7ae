#include "interpreter.h"

#include <cmath>
#include <limits>

#include "builtins.h"
#include "lexer.h"
#include "lightpeft/core/error.h"
#include "py_text.h"

namespace lightpeft::jinja {

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// object_type_repr in jinja2's undefined messages.
std::string object_type(const Value& v) {
  if (v.is_none()) return "None";
  return type_name(v) + " object";
}

[[noreturn]] void unsupported_operands(const std::string& op, const Value& a, const Value& b) {
  throw TemplateError{"unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" +
                      type_name(b) + "'"};
}

[[noreturn]] void overflow() {
  throw TemplateError{"integer overflow: the result does not fit in 64 bits (Python's integers are unbounded)"};
}

int64_t add_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t sub_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) overflow();
  return r;
}
int64_t mul_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

// Python's float floor division and modulo (Objects/floatobject.c float_divmod).
void float_divmod(double vx, double wx, double& floordiv, double& mod) {
  if (wx == 0.0) throw TemplateError{"float division by zero"};
  mod = std::fmod(vx, wx);
  double div = (vx - mod) / wx;
  if (mod != 0.0) {
    if ((wx < 0) != (mod < 0)) {
      mod += wx;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, wx);
  }
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, vx / wx);
  }
}

Value repeat_seq(const Value& seq, int64_t n, Interpreter& in) {
  const auto& items = seq.items();
  if (n <= 0 || items.empty()) return seq.kind() == Kind::tuple ? Value::tuple({}) : Value::list({});
  // A list item costs far more than a byte: allow max_bytes / 64 items.
  const size_t max_items = std::max<size_t>(in.limits().max_bytes / 64, 1);
  if (static_cast<uint64_t>(n) > max_items / items.size()) {
    throw TemplateError{"repeating a list gives more than " + std::to_string(max_items) + " items (the limit)"};
  }
  in.charge(static_cast<int64_t>(items.size()) * n);
  std::vector<Value> out;
  out.reserve(items.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.kind() == Kind::tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

Value repeat_str(const std::string& s, int64_t n, Interpreter& in) {
  if (n <= 0 || s.empty()) return Value::string("");
  if (static_cast<uint64_t>(n) > in.limits().max_bytes / s.size()) in.check_size(SIZE_MAX);
  in.charge(static_cast<int64_t>(s.size() * static_cast<size_t>(n)) / 64);
  std::string out;
  out.reserve(s.size() * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out += s;
  return Value::string(std::move(out));
}

}  // namespace

[[noreturn]] void undefined_error(const Value& v) {
  throw TemplateError{v.str().empty() ? "a value is undefined" : v.str()};
}

void bind_undefined(Scope& scope, const std::vector<std::string>& names) {
  for (const auto& n : names) scope.vars[n] = Value::undefined(py_str_repr(n) + " is undefined");
}

std::shared_ptr<Scope> child_scope(const std::shared_ptr<Scope>& parent, const std::vector<std::string>& undefined) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  bind_undefined(*s, undefined);
  return s;
}

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Interpreter::Interpreter(const Program& program, const std::string& origin, const Limits& limits)
    : program_(program), origin_(origin), limits_(limits) {}

Interpreter::~Interpreter() {
  for (auto& weak : captured_) {
    if (auto s = weak.lock()) s->vars.clear();
  }
}

Interpreter::DepthGuard::DepthGuard(Interpreter& i) : in(i) {
  if (++in.depth_ > in.limits_.max_depth) {
    --in.depth_;
    throw TemplateError{"the template nests evaluation (macro calls included) deeper than " +
                        std::to_string(in.limits_.max_depth) + " levels"};
  }
}

void Interpreter::fail(Pos pos, const std::string& message) const {
  throw Error(located(origin_, pos, message));
}

void Interpreter::charge(int64_t units) {
  steps_ += std::max<int64_t>(units, 0);
  if (steps_ > limits_.max_steps) {
    throw TemplateError{"the template ran past the limit of " + std::to_string(limits_.max_steps) +
                        " evaluation steps (a runaway loop?)"};
  }
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > limits_.max_bytes) {
    throw TemplateError{"a string would grow past the limit of " + std::to_string(limits_.max_bytes) + " bytes"};
  }
}

std::string Interpreter::render(std::unordered_map<std::string, Value> variables) {
  globals_ = std::make_shared<Scope>();
  for (auto& [name, v] : global_functions()) globals_->vars[name] = std::move(v);
  auto context = std::make_shared<Scope>();
  context->vars = std::move(variables);
  context->parent = globals_;
  bind_undefined(*context, program_.frame_undefined);
  std::string out;
  out_ = &out;
  exec(program_.body, context);
  out_ = nullptr;
  return out;
}

void Interpreter::emit(const std::string& text) {
  if (out_->size() + text.size() > limits_.max_bytes) {
    throw TemplateError{"the output would grow past the limit of " + std::to_string(limits_.max_bytes) + " bytes"};
  }
  *out_ += text;
}

std::string Interpreter::render_body(const Body& body, const ScopePtr& scope) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  try {
    exec(body, scope);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return buffer;
}

// ---- statements ----------------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec(const Body& body, const ScopePtr& scope) {
  for (const auto& s : body) {
    const Flow f = exec_stmt(*s, scope);
    if (f != Flow::normal) return f;
  }
  return Flow::normal;
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& s, const ScopePtr& scope) {
  try {
    DepthGuard guard(*this);
    charge(1);
    switch (s.type) {
      case StmtType::text: emit(s.text); break;
      case StmtType::print: emit(to_str(eval(*s.expr, scope), limits_.max_bytes)); break;
      case StmtType::if_:
        for (size_t i = 0; i < s.conds.size(); ++i) {
          if (truthy(eval(*s.conds[i], scope))) return exec(s.bodies[i], scope);
        }
        return exec(s.else_body, scope);
      case StmtType::for_: exec_for(s, scope); break;
      case StmtType::set: assign(s.targets, s.unpack, eval(*s.expr, scope), scope); break;
      case StmtType::set_block: {
        const auto inner = child_scope(scope, s.frame_undefined);
        Value v = Value::string(render_body(s.body, inner));
        for (const auto& f : s.filters) v = apply_filter(f->name, v, eval_args(*f, 1, inner));
        assign(s.targets, false, v, scope);
        break;
      }
      case StmtType::macro: {
        auto c = std::make_shared<Callable>();
        c->type = Callable::Type::macro;
        c->name = s.macro->name;
        c->macro = s.macro.get();
        c->closure = scope;
        captured_.push_back(scope);
        scope->vars[s.macro->name] = Value::callable(std::move(c));
        break;
      }
      case StmtType::break_: return Flow::break_;
      case StmtType::continue_: return Flow::continue_;
      case StmtType::filter_block: {
        const auto inner = child_scope(scope, s.frame_undefined);
        Value v = Value::string(render_body(s.body, inner));
        for (const auto& f : s.filters) v = apply_filter(f->name, v, eval_args(*f, 1, inner));
        emit(to_str(v, limits_.max_bytes));
        break;
      }
      case StmtType::with: {
        const auto inner = child_scope(scope, s.frame_undefined);
        for (size_t i = 0; i < s.targets.size(); ++i) inner->vars[s.targets[i].name] = eval(*s.conds[i], scope);
        return exec(s.body, inner);
      }
      case StmtType::scope_body: return exec(s.body, child_scope(scope, s.frame_undefined));
    }
  } catch (const TemplateError& e) {
    fail(s.pos, e.message);
  }
  return Flow::normal;
}

void Interpreter::exec_for(const Stmt& s, const ScopePtr& scope) {
  std::vector<Value> items = iterate(eval(*s.expr, scope));
  auto bind = [&](const ScopePtr& target, const Value& item) {
    if (!s.unpack) {
      target->vars[s.targets[0].name] = item;
      return;
    }
    const std::vector<Value> parts = iterate(item);
    if (parts.size() != s.targets.size()) {
      throw TemplateError{parts.size() > s.targets.size()
                              ? "too many values to unpack (expected " + std::to_string(s.targets.size()) + ")"
                              : "not enough values to unpack (expected " + std::to_string(s.targets.size()) +
                                    ", got " + std::to_string(parts.size()) + ")"};
    }
    for (size_t i = 0; i < parts.size(); ++i) target->vars[s.targets[i].name] = parts[i];
  };
  if (s.loop_filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      charge(1);
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      bind(probe, item);
      if (truthy(eval(*s.loop_filter, probe))) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body, child_scope(scope, s.else_undefined));
    return;
  }
  auto seq = std::make_shared<Seq>();
  seq->items = std::move(items);
  for (size_t i = 0; i < seq->items.size(); ++i) {
    charge(1);
    const auto iteration = child_scope(scope, s.frame_undefined);
    bind(iteration, seq->items[i]);
    auto info = std::make_shared<LoopInfo>();
    info->items = seq;
    info->index0 = static_cast<int64_t>(i);
    iteration->vars["loop"] = Value::loop(std::move(info));
    if (exec(s.body, iteration) == Flow::break_) break;
  }
}

void Interpreter::assign(const std::vector<Target>& targets, bool unpack, const Value& value,
                         const ScopePtr& scope) {
  std::vector<Value> values;
  if (unpack) {
    values = iterate(value);
    if (values.size() != targets.size()) {
      throw TemplateError{values.size() > targets.size()
                              ? "too many values to unpack (expected " + std::to_string(targets.size()) + ")"
                              : "not enough values to unpack (expected " + std::to_string(targets.size()) +
                                    ", got " + std::to_string(values.size()) + ")"};
    }
  } else {
    values.push_back(value);
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    if (t.attr.empty()) {
      scope->vars[t.name] = values[i];
      continue;
    }
    const Value* ns = scope->find(t.name);
    if (!ns || ns->kind() != Kind::ns) {
      throw TemplateError{"cannot assign attribute '" + t.attr + "' on '" + t.name +
                          "': it is not a namespace() object"};
    }
    if (!t.attr.empty() && t.attr[0] == '_') {
      throw TemplateError{"chat templates cannot store underscore-prefixed attributes on a namespace, but got " +
                          py_str_repr(t.attr)};
    }
    if (!values[i].plain()) {
      throw TemplateError{"a namespace attribute may hold none, booleans, numbers, strings and lists or dicts of "
                          "them; lightpeft refuses a " + type_name(values[i]) + " in '" + t.name + "." + t.attr + "'"};
    }
    ns->ns().attrs.set(Value::string(t.attr), values[i]);
  }
}

// ---- expressions ---------------------------------------------------------------------------------

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
  try {
    DepthGuard guard(*this);
    charge(1);
    return eval_node(e, scope);
  } catch (const TemplateError& err) {
    fail(e.pos, err.message);
  }
}

Args Interpreter::eval_args(const Expr& e, size_t first, const ScopePtr& scope) {
  Args args;
  for (size_t i = first; i < e.args.size(); ++i) args.pos.push_back(eval(*e.args[i], scope));
  for (const auto& [k, v] : e.kwargs) args.kw.emplace_back(k, eval(*v, scope));
  return args;
}

Value Interpreter::eval_node(const Expr& e, const ScopePtr& scope) {
  switch (e.type) {
    case ExprType::constant: return e.value;
    case ExprType::name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined(py_str_repr(e.name) + " is undefined");
    }
    case ExprType::getattr: return get_attr(eval(*e.args[0], scope), e.name);
    case ExprType::getitem: {
      Value obj = eval(*e.args[0], scope);
      if (e.args[1]->type == ExprType::slice) return eval_slice(obj, *e.args[1], scope);
      return get_item(obj, eval(*e.args[1], scope));
    }
    case ExprType::slice: throw TemplateError{"a slice is only valid inside []"};
    case ExprType::call: {
      Value callee = eval(*e.args[0], scope);
      return call(callee, eval_args(e, 1, scope));
    }
    case ExprType::filter: return apply_filter(e.name, eval(*e.args[0], scope), eval_args(e, 1, scope));
    case ExprType::test: {
      const bool r = apply_test(e.name, eval(*e.args[0], scope), eval_args(e, 1, scope));
      return Value::boolean(e.negated ? !r : r);
    }
    case ExprType::neg:
    case ExprType::pos: {
      Value v = eval(*e.args[0], scope);
      if (v.is_undefined()) undefined_error(v);
      const bool neg = e.type == ExprType::neg;
      if (v.is_integral()) {
        if (!neg) return Value::integer(v.as_int());
        if (v.as_int() == std::numeric_limits<int64_t>::min()) overflow();
        return Value::integer(-v.as_int());
      }
      if (v.kind() == Kind::floating) return Value::floating(neg ? -v.as_double() : v.as_double());
      throw TemplateError{std::string("bad operand type for unary ") + (neg ? "-" : "+") + ": '" + type_name(v) + "'"};
    }
    case ExprType::not_: return Value::boolean(!truthy(eval(*e.args[0], scope)));
    case ExprType::and_: {
      Value a = eval(*e.args[0], scope);
      return truthy(a) ? eval(*e.args[1], scope) : a;
    }
    case ExprType::or_: {
      Value a = eval(*e.args[0], scope);
      return truthy(a) ? a : eval(*e.args[1], scope);
    }
    case ExprType::binary: {
      Value a = eval(*e.args[0], scope);
      Value b = eval(*e.args[1], scope);
      return binary(e.name, a, b);
    }
    case ExprType::concat: {
      std::string out;
      for (const auto& a : e.args) {
        out += to_str(eval(*a, scope), limits_.max_bytes);
        check_size(out.size());
      }
      charge(static_cast<int64_t>(out.size()) / 64);
      return Value::string(std::move(out));
    }
    case ExprType::compare: {
      Value left = eval(*e.args[0], scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i + 1], scope);
        if (!compare(e.ops[i], left, right)) return Value::boolean(false);
        left = std::move(right);
      }
      return Value::boolean(true);
    }
    case ExprType::condexpr: {
      if (truthy(eval(*e.args[1], scope))) return eval(*e.args[0], scope);
      if (e.args[2]) return eval(*e.args[2], scope);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.pos.line) +
                              " evaluated to false and no else section was defined.");
    }
    case ExprType::list:
    case ExprType::tuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(eval(*a, scope));
      return e.type == ExprType::list ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case ExprType::dict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value k = eval(*e.args[i], scope);
        d->set(k, eval(*e.args[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
  }
  throw TemplateError{"unknown expression"};
}

Value Interpreter::eval_slice(const Value& obj, const Expr& slice, const ScopePtr& scope) {
  Value parts[3];
  for (int i = 0; i < 3; ++i) {
    if (slice.args[static_cast<size_t>(i)]) parts[i] = eval(*slice.args[static_cast<size_t>(i)], scope);
    else parts[i] = Value::none();
  }
  // jinja2 compiles a slice to a plain Python subscript (not environment.getitem), so what Python
  // cannot slice is an error, not undefined.
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.is_dict()) throw TemplateError{"unhashable type: 'slice'"};
  if ((!obj.is_seq() && !obj.is_string()) || (obj.tag() != SeqTag::none && obj.tag() != SeqTag::range)) {
    throw TemplateError{"'" + type_name(obj) + "' object is not subscriptable"};
  }
  for (const Value& p : parts) {
    if (!p.is_none() && !p.is_integral()) {
      throw TemplateError{"slice indices must be integers or None or have an __index__ method"};
    }
  }
  const std::u32string text = obj.is_string() ? to_u32(obj.str()) : std::u32string();
  const int64_t len = obj.is_string() ? static_cast<int64_t>(text.size()) : static_cast<int64_t>(obj.items().size());
  const int64_t step = parts[2].is_none() ? 1 : parts[2].as_int();
  if (step == 0) throw TemplateError{"slice step cannot be zero"};
  // PySlice_AdjustIndices
  auto adjust = [&](const Value& v, bool is_start) -> int64_t {
    if (v.is_none()) return step < 0 ? (is_start ? len - 1 : -1) : (is_start ? 0 : len);
    int64_t x = v.as_int();
    if (x < 0) {
      x = x < -len ? (step < 0 ? -1 : 0) : x + len;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  const int64_t start = adjust(parts[0], true);
  const int64_t stop = adjust(parts[1], false);
  int64_t count = 0;
  if (step > 0 && start < stop) count = (stop - start - 1) / step + 1;
  if (step < 0 && stop < start) {
    count = static_cast<int64_t>((static_cast<__int128>(start) - stop - 1) / -static_cast<__int128>(step) + 1);
  }
  charge(count);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t k = 0; k < count; ++k) out.push_back(text[static_cast<size_t>(start + k * step)]);
    return Value::string(to_utf8(out));
  }
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) out.push_back(obj.items()[static_cast<size_t>(start + k * step)]);
  return obj.kind() == Kind::tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

Value Interpreter::get_attr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::undefined: undefined_error(obj);
    case Kind::dict: {
      if (is_method(obj, name)) break;
      const Value* v = obj.dict().find(Value::string(name));
      if (v) return *v;
      return Value::undefined("'dict object' has no attribute " + py_str_repr(name));
    }
    case Kind::ns: {
      const Value* v = obj.ns().attrs.find(Value::string(name));
      if (v) return *v;
      return Value::undefined("'Namespace object' has no attribute " + py_str_repr(name));
    }
    case Kind::loop: {
      const LoopInfo& l = obj.loop();
      const int64_t n = static_cast<int64_t>(l.items->items.size());
      if (name == "index") return Value::integer(l.index0 + 1);
      if (name == "index0") return Value::integer(l.index0);
      if (name == "revindex") return Value::integer(n - l.index0);
      if (name == "revindex0") return Value::integer(n - l.index0 - 1);
      if (name == "first") return Value::boolean(l.index0 == 0);
      if (name == "last") return Value::boolean(l.index0 == n - 1);
      if (name == "length") return Value::integer(n);
      if (name == "depth") return Value::integer(1);
      if (name == "depth0") return Value::integer(0);
      if (name == "previtem") {
        return l.index0 > 0 ? l.items->items[static_cast<size_t>(l.index0 - 1)]
                            : Value::undefined("there is no previous item");
      }
      if (name == "nextitem") {
        return l.index0 + 1 < n ? l.items->items[static_cast<size_t>(l.index0 + 1)]
                                : Value::undefined("there is no next item");
      }
      if (is_method(obj, name)) break;
      return Value::undefined("'LoopContext object' has no attribute " + py_str_repr(name));
    }
    default:
      if (is_method(obj, name)) break;
      return Value::undefined("'" + object_type(obj) + "' has no attribute " + py_str_repr(name));
  }
  auto c = std::make_shared<Callable>();
  c->type = obj.kind() == Kind::loop && name == "cycle" ? Callable::Type::cycle : Callable::Type::method;
  c->name = name;
  c->self = obj;
  return Value::callable(std::move(c));
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  auto missing = [&]() {
    if (key.is_string()) {
      if (obj.kind() == Kind::loop || obj.kind() == Kind::ns || is_method(obj, key.str())) {
        return get_attr(obj, key.str());
      }
      return Value::undefined("'" + object_type(obj) + "' has no attribute " + py_str_repr(key.str()));
    }
    return Value::undefined(object_type(obj) + " has no element " + to_repr(key, 256));
  };
  switch (obj.kind()) {
    case Kind::dict: {
      const Value* v = nullptr;
      try {
        v = obj.dict().find(key);
      } catch (const TemplateError&) {
        return missing();  // an unhashable key: jinja2 catches the TypeError
      }
      return v ? *v : missing();
    }
    case Kind::list:
    case Kind::tuple:
    case Kind::string: {
      if (!key.is_integral() || (obj.tag() != SeqTag::none && obj.tag() != SeqTag::range)) return missing();
      int64_t i = key.as_int();
      if (obj.is_string()) {
        const std::u32string text = to_u32(obj.str());
        const auto n = static_cast<int64_t>(text.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return missing();
        return Value::string(to_utf8(std::u32string(1, text[static_cast<size_t>(i)])));
      }
      const auto n = static_cast<int64_t>(obj.items().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return missing();
      return obj.items()[static_cast<size_t>(i)];
    }
    default: return missing();
  }
}

Value Interpreter::call(const Value& callee, const Args& args) {
  if (callee.is_undefined()) undefined_error(callee);
  if (callee.kind() != Kind::callable) throw TemplateError{"'" + type_name(callee) + "' object is not callable"};
  const Callable& c = callee.fn();
  switch (c.type) {
    case Callable::Type::builtin: return call_global(*this, c.name, args);
    case Callable::Type::method: return call_method(*this, c.self, c.name, args);
    case Callable::Type::macro: return call_macro(c, args);
    case Callable::Type::cycle: {
      if (args.pos.empty()) throw TemplateError{"no items for cycling given"};
      if (!args.kw.empty()) throw TemplateError{"loop.cycle() takes no keyword arguments"};
      const LoopInfo& l = c.self.loop();
      return args.pos[static_cast<size_t>(l.index0) % args.pos.size()];
    }
  }
  throw TemplateError{"not callable"};
}

Value Interpreter::call_macro(const Callable& c, const Args& args) {
  const MacroDef& m = *c.macro;
  if (args.pos.size() > m.params.size()) {
    throw TemplateError{"macro " + py_str_repr(m.name) + " takes not more than " + std::to_string(m.params.size()) +
                        " argument(s)"};
  }
  const auto scope = child_scope(c.closure, m.frame_undefined);
  std::vector<bool> given(m.params.size(), false);
  for (size_t i = 0; i < args.pos.size(); ++i) {
    scope->vars[m.params[i]] = args.pos[i];
    given[i] = true;
  }
  for (const auto& [k, v] : args.kw) {
    size_t i = 0;
    while (i < m.params.size() && m.params[i] != k) ++i;
    if (i == m.params.size()) throw TemplateError{"macro " + py_str_repr(m.name) + " takes no keyword argument " + py_str_repr(k)};
    if (given[i]) throw TemplateError{"macro " + py_str_repr(m.name) + " got multiple values for argument " + py_str_repr(k)};
    scope->vars[k] = v;
    given[i] = true;
  }
  for (size_t i = 0; i < m.params.size(); ++i) {
    if (given[i]) continue;
    scope->vars[m.params[i]] = m.defaults[i] ? eval(*m.defaults[i], scope)
                                             : Value::undefined("parameter " + py_str_repr(m.params[i]) + " was not provided");
  }
  return Value::string(render_body(m.body, scope));
}

Value Interpreter::apply_filter(const std::string& name, const Value& input, const Args& args) {
  if (!has_filter(name)) {
    throw TemplateError{jinja2_has_filter(name) ? "the filter '" + name + "' is not supported by lightpeft"
                                                : "unknown filter '" + name + "'"};
  }
  return call_filter(*this, name, input, args);
}

bool Interpreter::apply_test(const std::string& name, const Value& input, const Args& args) {
  if (!has_test(name)) {
    throw TemplateError{jinja2_has_test(name) ? "the test '" + name + "' is not supported by lightpeft"
                                              : "unknown test '" + name + "'"};
  }
  return call_test(*this, name, input, args);
}

std::vector<Value> Interpreter::iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::undefined: return {};
    case Kind::list:
    case Kind::tuple: return v.items();
    case Kind::dict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().items.size());
      for (const auto& kv : v.dict().items) keys.push_back(kv.first);
      return keys;
    }
    case Kind::generator: {
      Generator& g = v.gen();
      if (g.error) throw TemplateError{*g.error};
      std::vector<Value> rest(g.items.begin() + static_cast<std::ptrdiff_t>(g.pos), g.items.end());
      g.pos = g.items.size();  // one-shot, as a Python generator
      return rest;
    }
    case Kind::string: {
      std::vector<Value> chars;
      for (char32_t c : to_u32(v.str())) chars.push_back(Value::string(to_utf8(std::u32string(1, c))));
      charge(static_cast<int64_t>(chars.size()));
      return chars;
    }
    default: throw TemplateError{"'" + type_name(v) + "' object is not iterable"};
  }
}

// ---- operators -----------------------------------------------------------------------------------

Value Interpreter::binary(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  const bool nums = a.is_number() && b.is_number();
  const bool ints = a.is_integral() && b.is_integral();
  if (op == "+") {
    if (ints) return Value::integer(add_checked(a.as_int(), b.as_int()));
    if (nums) return Value::floating(a.as_double() + b.as_double());
    if (a.is_string() && b.is_string()) {
      // Copying costs a step per 64 bytes: a loop that grows a string stays bounded by max_steps.
      check_size(a.str().size() + b.str().size());
      charge(static_cast<int64_t>(a.str().size() + b.str().size()) / 64);
      return Value::string(a.str() + b.str());
    }
    if (a.kind() == b.kind() && a.is_seq() && a.tag() == SeqTag::none && b.tag() == SeqTag::none) {
      std::vector<Value> items = a.items();
      check_size((items.size() + b.items().size()) * 64);
      charge(static_cast<int64_t>(items.size() + b.items().size()));
      items.insert(items.end(), b.items().begin(), b.items().end());
      return a.kind() == Kind::tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
    if (a.is_string()) throw TemplateError{"can only concatenate str (not \"" + type_name(b) + "\") to str"};
    if (a.kind() == Kind::list) throw TemplateError{"can only concatenate list (not \"" + type_name(b) + "\") to list"};
    unsupported_operands("+", a, b);
  }
  if (op == "-") {
    if (ints) return Value::integer(sub_checked(a.as_int(), b.as_int()));
    if (nums) return Value::floating(a.as_double() - b.as_double());
    unsupported_operands("-", a, b);
  }
  if (op == "*") {
    if (ints) return Value::integer(mul_checked(a.as_int(), b.as_int()));
    if (nums) return Value::floating(a.as_double() * b.as_double());
    if (a.is_string() && b.is_integral()) return repeat_str(a.str(), b.as_int(), *this);
    if (b.is_string() && a.is_integral()) return repeat_str(b.str(), a.as_int(), *this);
    if (a.is_seq() && a.tag() == SeqTag::none && b.is_integral()) return repeat_seq(a, b.as_int(), *this);
    if (b.is_seq() && b.tag() == SeqTag::none && a.is_integral()) return repeat_seq(b, a.as_int(), *this);
    unsupported_operands("*", a, b);
  }
  if (op == "/") {
    if (!nums) unsupported_operands("/", a, b);
    if (b.as_double() == 0.0) throw TemplateError{"division by zero"};
    return Value::floating(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (a.is_string() && op == "%") throw TemplateError{"printf-style string formatting ('...' % args) is not supported by lightpeft"};
    if (!nums) unsupported_operands(op, a, b);
    if (ints) {
      const int64_t x = a.as_int(), y = b.as_int();
      if (y == 0) throw TemplateError{op == "//" ? "integer division or modulo by zero" : "integer modulo by zero"};
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        if (op == "%") return Value::integer(0);
        overflow();
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        m += y;
        q -= 1;
      }
      return Value::integer(op == "//" ? q : m);
    }
    double fd = 0, md = 0;
    float_divmod(a.as_double(), b.as_double(), fd, md);
    return Value::floating(op == "//" ? fd : md);
  }
  if (op == "**") {
    if (!nums) unsupported_operands("** or pow()", a, b);
    if (ints && b.as_int() >= 0) {
      int64_t base = a.as_int(), e = b.as_int(), result = 1;
      while (e > 0) {
        if (e & 1) result = mul_checked(result, base);
        e >>= 1;
        if (e > 0) base = mul_checked(base, base);
      }
      return Value::integer(result);
    }
    const double x = a.as_double(), y = b.as_double();
    if (x == 0.0 && y < 0) throw TemplateError{"0.0 cannot be raised to a negative power"};
    if (x < 0 && y != std::floor(y)) throw TemplateError{"a negative number to a fractional power is complex; not supported"};
    const double out = std::pow(x, y);
    if (std::isinf(out) && std::isfinite(x) && std::isfinite(y)) throw TemplateError{"(34, 'Numerical result out of range')"};
    return Value::floating(out);
  }
  throw TemplateError{"unknown operator " + op};
}

bool Interpreter::compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return equal(a, b);
  if (op == "!=") return !equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (op == "<") return less(a, b);
  if (op == ">") return less(b, a);
  if (op == "<=") {
    if (a.is_dict() || b.is_dict()) less(a, b);  // raises for dicts, as Python does
    return less(a, b) || equal(a, b);
  }
  if (op == ">=") {
    if (a.is_dict() || b.is_dict()) less(b, a);
    return less(b, a) || equal(a, b);
  }
  throw TemplateError{"unknown comparison " + op};
}

bool Interpreter::contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::undefined: return false;
    case Kind::string:
      if (!item.is_string()) {
        throw TemplateError{"'in <string>' requires string as left operand, not " + type_name(item)};
      }
      return container.str().find(item.str()) != std::string::npos;
    case Kind::list:
    case Kind::tuple:
      charge(static_cast<int64_t>(container.items().size()));
      for (const Value& v : container.items()) {
        if (equal(v, item)) return true;
      }
      return false;
    case Kind::dict: return container.dict().find(item) != nullptr;
    case Kind::generator: {
      // Python consumes the generator up to the first match.
      Generator& g = container.gen();
      if (g.error) throw TemplateError{*g.error};
      while (g.pos < g.items.size()) {
        if (equal(g.items[g.pos++], item)) return true;
      }
      return false;
    }
    default: throw TemplateError{"argument of type '" + type_name(container) + "' is not iterable"};
  }
}

}  // namespace lightpeft::jinja
