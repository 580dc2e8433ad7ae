#include "builtins.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>

#include "py_text.h"

namespace lightpeft::jinja {

namespace {

using Bound = std::vector<std::optional<Value>>;

[[noreturn]] void type_error(const std::string& message) { throw TemplateError{message}; }

bool given(const std::optional<Value>& v) { return v.has_value(); }

std::string str_arg(const std::optional<Value>& v, const std::string& what) {
  if (!v || !v->is_string()) {
    type_error(what + " must be a string, not " + (v ? type_name(*v) : std::string("missing")));
  }
  return v->str();
}

// A str argument that may be None (or left out).
std::optional<std::string> opt_str_arg(const std::optional<Value>& v, const std::string& what) {
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) type_error(what + " must be None or a string, not " + type_name(*v));
  return v->str();
}

int64_t int_arg(const std::optional<Value>& v, int64_t fallback, const std::string& what) {
  if (!v || v->is_none()) return fallback;
  if (!v->is_integral()) type_error(what + " must be an integer, not " + type_name(*v));
  return v->as_int();
}

bool bool_arg(const std::optional<Value>& v, bool fallback) { return v ? truthy(*v) : fallback; }

const std::string& text_of(const Value& self) { return self.str(); }

std::vector<Value> strings_to_list(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.push_back(Value::string(std::move(p)));
  return out;
}

// A Python generator over the items `produce` computes; an error is raised on iteration instead.
Value make_generator(const std::string& name, const std::function<std::vector<Value>()>& produce) {
  auto g = std::make_shared<Generator>();
  g->name = name;
  try {
    g->items = produce();
  } catch (const TemplateError& e) {
    g->error = e.message;
  }
  int depth = 0;
  for (const Value& v : g->items) {
    depth = std::max(depth, v.depth());
    g->plain = g->plain && v.plain();
  }
  if (depth + 1 > kMaxValueDepth) type_error("values nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  g->depth = depth + 1;
  return Value::generator(std::move(g));
}

// jinja2's make_attrgetter: "a.b.0" -> item['a']['b'][0] with environment.getitem at each step.
Value get_path(Interpreter& in, Value item, const std::optional<Value>& attribute,
               const std::optional<Value>& fallback = std::nullopt) {
  if (!attribute || attribute->is_none()) return item;
  std::vector<Value> parts;
  if (attribute->is_string()) {
    for (const std::string& p : py_split(attribute->str(), std::string("."), -1)) {
      const bool digits = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
      int64_t n = 0;
      if (digits && std::from_chars(p.data(), p.data() + p.size(), n).ec == std::errc()) {
        parts.push_back(Value::integer(n));
      } else {
        parts.push_back(Value::string(p));
      }
    }
  } else {
    parts.push_back(*attribute);
  }
  for (const Value& p : parts) {
    item = in.get_item(item, p);
    if (fallback && !fallback->is_none() && item.is_undefined()) item = *fallback;
  }
  return item;
}

Value ignore_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.str()));
  return v;
}

// Python's sorted(): stable; TemplateError for values Python cannot order.
void sort_values(std::vector<Value>& items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::vector<std::pair<Value, size_t>> keyed;
  keyed.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(key(items[i]), i);
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    return reverse ? less(b.first, a.first) : less(a.first, b.first);
  });
  std::vector<Value> out;
  out.reserve(items.size());
  for (const auto& k : keyed) out.push_back(items[k.second]);
  items = std::move(out);
}

// Python's int(str, base): whitespace, a sign, digits with single underscores between them, and a
// matching base prefix.
std::optional<int64_t> parse_py_int(std::string_view text, int base) {
  std::string s = py_strip(text, std::nullopt, true, true);
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (base == 0 || base == 2 || base == 8 || base == 16) {
    if (i + 1 < s.size() && s[i] == '0') {
      const char p = static_cast<char>(s[i + 1] | 0x20);
      const int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
      if (prefixed && (base == 0 || base == prefixed)) {
        base = prefixed;
        i += 2;
        if (i < s.size() && s[i] == '_') ++i;
      }
    }
    if (base == 0) base = 10;
  }
  if (base < 2 || base > 36) return std::nullopt;
  if (i >= s.size()) return std::nullopt;
  uint64_t value = 0;
  bool prev_digit = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      if (!prev_digit || i + 1 >= s.size()) return std::nullopt;
      prev_digit = false;
      continue;
    }
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') d = (c | 0x20) - 'a' + 10;
    if (d < 0 || d >= base) return std::nullopt;
    if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      throw TemplateError{"integer " + s + " is beyond the 64-bit range"};
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    prev_digit = true;
  }
  const auto v = static_cast<int64_t>(value);
  return negative ? -v : v;
}

// Python's float(str).
std::optional<double> parse_py_float(std::string_view text) {
  const std::string s = py_strip(text, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      const bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                      std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return std::nullopt;
      continue;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty()) return std::nullopt;
  size_t start = 0;
  bool negative = false;
  if (clean[0] == '+' || clean[0] == '-') {
    negative = clean[0] == '-';
    start = 1;
  }
  const std::string body = py_lower(clean.substr(start));
  if (body == "inf" || body == "infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (body == "nan") return std::nan("");
  if (body.empty() || body[0] == '+' || body[0] == '-' ||
      body.find_first_not_of("0123456789.e+-") != std::string::npos) {
    return std::nullopt;
  }
  double v = 0;
  const auto res = std::from_chars(body.data(), body.data() + body.size(), v);
  if (res.ptr != body.data() + body.size()) return std::nullopt;
  if (res.ec == std::errc::result_out_of_range) v = body.find("e-") != std::string::npos ? 0.0 : HUGE_VAL;
  else if (res.ec != std::errc()) return std::nullopt;
  return negative ? -v : v;
}

// ---- filters -------------------------------------------------------------------------------------

using FilterFn = Value (*)(Interpreter&, const Value&, const Args&);

Value f_abs(Interpreter&, const Value& v, const Args& a) {
  bind_args(a, {}, "abs");
  if (v.is_integral()) {
    if (v.as_int() == std::numeric_limits<int64_t>::min()) type_error("integer overflow in abs()");
    return Value::integer(std::llabs(v.as_int()));
  }
  if (v.kind() == Kind::floating) return Value::floating(std::fabs(v.as_double()));
  if (v.is_undefined()) undefined_error(v);
  type_error("bad operand type for abs(): '" + type_name(v) + "'");
}

Value f_attr(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"name"}, "attr");
  const std::string name = str_arg(b[0], "attr() name");
  // jinja2's attr filter reads attributes only, never items (so not dict keys).
  if (v.kind() == Kind::dict && !is_method(v, name)) {
    return Value::undefined("'dict object' has no attribute " + py_str_repr(name));
  }
  return in.get_attr(v, name);
}

Value f_capitalize(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "capitalize");
  return Value::string(py_capitalize(to_str(v, in.limits().max_bytes)));
}

Value f_length(Interpreter&, const Value& v, const Args& a) {
  bind_args(a, {}, "length");
  const auto n = length(v);
  if (!n) type_error("object of type '" + type_name(v) + "' has no len()");
  return Value::integer(*n);
}

Value f_default(Interpreter&, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"default_value", "boolean"}, "default");
  const Value fallback = b[0] ? *b[0] : Value::string("");
  if (v.is_undefined() || (bool_arg(b[1], false) && !truthy(v))) return fallback;
  return v;
}

Value f_dictsort(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"case_sensitive", "by", "reverse"}, "dictsort");
  if (!v.is_dict()) type_error("dictsort requires a dict, not " + type_name(v));
  const bool cs = bool_arg(b[0], false);
  const std::string by = b[1] ? str_arg(b[1], "dictsort() by") : "key";
  if (by != "key" && by != "value") type_error("You can only sort by either 'key' or 'value'");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict().items) pairs.push_back(Value::tuple({k, val}));
  in.charge(static_cast<int64_t>(pairs.size()) * 8);
  sort_values(pairs, [&](const Value& p) { return ignore_case(p.items()[by == "key" ? 0 : 1], cs); },
              bool_arg(b[2], false));
  return Value::list(std::move(pairs));
}

Value f_first(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "first");
  if (v.is_string()) {
    if (v.str().empty()) return Value::undefined("No first item, sequence was empty.");
    return in.get_item(v, Value::integer(0));
  }
  if (v.kind() == Kind::generator) {
    Generator& g = v.gen();  // next(iter(gen)) takes one item
    if (g.error) throw TemplateError{*g.error};
    if (g.pos >= g.items.size()) return Value::undefined("No first item, sequence was empty.");
    return g.items[g.pos++];
  }
  const auto items = in.iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "last");
  if (v.is_string()) {
    if (v.str().empty()) return Value::undefined("No last item, sequence was empty.");
    return in.get_item(v, Value::integer(-1));
  }
  if (v.kind() == Kind::generator) type_error("'" + type_name(v) + "' object is not reversible");
  const auto items = in.iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_float(Interpreter&, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"default"}, "float");
  const Value fallback = b[0] ? *b[0] : Value::floating(0.0);
  if (v.is_undefined()) undefined_error(v);
  if (v.is_number()) return Value::floating(v.as_double());
  if (v.is_string()) {
    if (auto f = parse_py_float(v.str())) return Value::floating(*f);
  }
  return fallback;
}

// jinja2's do_int: int(value) (int(value, base) for strings), else int(float(value)), else the
// default. Python's int(inf) raises OverflowError, which the first attempt does not catch.
Value f_int(Interpreter&, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"default", "base"}, "int");
  const Value fallback = b[0] ? *b[0] : Value::integer(0);
  const int64_t base = int_arg(b[1], 10, "int() base");
  if (v.is_undefined()) undefined_error(v);
  if (v.is_integral()) return Value::integer(v.as_int());
  auto in_range = [](double d) { return std::fabs(d) < 9.2e18; };
  if (v.kind() == Kind::floating) {
    const double d = v.as_double();
    if (std::isinf(d)) type_error("cannot convert float infinity to integer");
    if (std::isnan(d)) return fallback;
    if (!in_range(d)) type_error("integer " + py_float_repr(d) + " is beyond the 64-bit range");
    return Value::integer(static_cast<int64_t>(d));  // truncates toward zero, like int()
  }
  if (v.is_string()) {
    if (base != 0 && (base < 2 || base > 36)) type_error("int() base must be >= 2 and <= 36, or 0");
    if (auto i = parse_py_int(v.str(), static_cast<int>(base))) return Value::integer(*i);
    if (auto f = parse_py_float(v.str())) {
      if (!std::isfinite(*f)) return fallback;
      if (!in_range(*f)) type_error("integer " + py_float_repr(*f) + " is beyond the 64-bit range");
      return Value::integer(static_cast<int64_t>(*f));
    }
  }
  return fallback;
}

Value f_indent(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"width", "first", "blank"}, "indent");
  std::string indention;
  if (b[0] && b[0]->is_string()) {
    indention = b[0]->str();
  } else {
    const int64_t width = int_arg(b[0], 4, "indent() width");
    if (width > 0) {
      in.check_size(static_cast<size_t>(width));
      indention.assign(static_cast<size_t>(width), ' ');
    }
  }
  // jinja2 appends "\n" to the value with +=, which only a string survives.
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_string()) type_error("indent needs a string, not " + type_name(v));
  const std::string s = v.str() + "\n";
  const std::vector<std::string> lines = py_splitlines(s);
  in.check_size(s.size() + lines.size() * indention.size());
  std::string rv;
  if (bool_arg(b[2], false)) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) rv += "\n" + indention;
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention + lines[i]);
  }
  if (bool_arg(b[1], false)) rv = indention + rv;
  return Value::string(std::move(rv));
}

Value f_items(Interpreter&, const Value& v, const Args& a) {
  bind_args(a, {}, "items");
  return make_generator("generator", [&] {
    std::vector<Value> out;
    if (v.is_undefined()) return out;
    if (!v.is_dict()) type_error("Can only get item pairs from a mapping.");
    for (const auto& [k, val] : v.dict().items) out.push_back(Value::tuple({k, val}));
    return out;
  });
}

Value f_join(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"d", "attribute"}, "join");
  const std::string sep = b[0] ? to_str(*b[0], in.limits().max_bytes) : "";
  std::string out;
  bool first = true;
  for (const Value& item : in.iterate(v)) {
    const std::string part = to_str(get_path(in, item, b[1]), in.limits().max_bytes);
    in.check_size(out.size() + sep.size() + part.size());
    if (!first) out += sep;
    first = false;
    out += part;
  }
  in.charge(static_cast<int64_t>(out.size()) / 64);
  return Value::string(std::move(out));
}

Value f_list(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "list");
  return Value::list(in.iterate(v));
}

Value f_lower(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "lower");
  return Value::string(py_lower(to_str(v, in.limits().max_bytes)));
}

Value f_upper(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "upper");
  return Value::string(py_upper(to_str(v, in.limits().max_bytes)));
}

// jinja2's do_map: nothing for a falsy value; map(attribute=..., default=...) or map('filter', args...).
std::vector<Value> map_items(Interpreter& in, const Value& v, const Args& a) {
  std::vector<Value> out;
  if (!truthy(v)) return out;
  const auto items = in.iterate(v);
  const bool by_attribute =
      a.pos.empty() && std::any_of(a.kw.begin(), a.kw.end(), [](const auto& kv) { return kv.first == "attribute"; });
  if (by_attribute) {
    std::optional<Value> attribute, fallback;
    for (const auto& [k, val] : a.kw) {
      if (k == "attribute") attribute = val;
      else if (k == "default") fallback = val;
      else type_error("Unexpected keyword argument " + py_str_repr(k));
    }
    for (const Value& item : items) out.push_back(get_path(in, item, attribute, fallback));
    return out;
  }
  if (a.pos.empty()) type_error("map requires a filter argument");
  if (!a.pos[0].is_string()) type_error("map() filter name must be a string");
  const std::string name = a.pos[0].str();
  Args rest;
  rest.pos.assign(a.pos.begin() + 1, a.pos.end());
  rest.kw = a.kw;
  for (const Value& item : items) out.push_back(in.apply_filter(name, item, rest));
  return out;
}

Value f_map(Interpreter& in, const Value& v, const Args& a) {
  return make_generator("generator", [&] { return map_items(in, v, a); });
}

Value min_max(Interpreter& in, const Value& v, const Args& a, bool want_max) {
  const Bound b = bind_args(a, {"case_sensitive", "attribute"}, want_max ? "max" : "min");
  const auto items = in.iterate(v);
  if (items.empty()) return Value::undefined(std::string("No aggregated item, sequence was empty."));
  const bool cs = bool_arg(b[0], false);
  size_t best = 0;
  Value best_key = ignore_case(get_path(in, items[0], b[1]), cs);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = ignore_case(get_path(in, items[i], b[1]), cs);
    if (want_max ? less(best_key, k) : less(k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}

Value f_max(Interpreter& in, const Value& v, const Args& a) { return min_max(in, v, a, true); }
Value f_min(Interpreter& in, const Value& v, const Args& a) { return min_max(in, v, a, false); }

// jinja2's select_or_reject: nothing for a falsy value; the test gets the remaining arguments.
std::vector<Value> select_items(Interpreter& in, const Value& v, const Args& a, bool by_attr, bool keep_if) {
  if (!truthy(v)) return {};
  size_t i = 0;
  std::optional<Value> attribute;
  if (by_attr) {
    if (a.pos.empty()) type_error("Missing parameter for attribute name");
    attribute = a.pos[i++];
  }
  std::optional<std::string> test;
  if (i < a.pos.size()) {
    if (!a.pos[i].is_string()) type_error("the test name must be a string");
    test = a.pos[i++].str();
  }
  Args rest;
  rest.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(i), a.pos.end());
  rest.kw = a.kw;
  std::vector<Value> out;
  for (const Value& item : in.iterate(v)) {
    const Value probe = by_attr ? get_path(in, item, attribute) : item;
    const bool r = test ? in.apply_test(*test, probe, rest) : truthy(probe);
    if (r == keep_if) out.push_back(item);
  }
  return out;
}

Value select_common(Interpreter& in, const Value& v, const Args& a, bool by_attr, bool keep_if) {
  return make_generator("generator", [&] { return select_items(in, v, a, by_attr, keep_if); });
}

Value f_select(Interpreter& in, const Value& v, const Args& a) { return select_common(in, v, a, false, true); }
Value f_reject(Interpreter& in, const Value& v, const Args& a) { return select_common(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, const Args& a) { return select_common(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, const Args& a) { return select_common(in, v, a, true, false); }

Value f_replace(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"old", "new", "count"}, "replace");
  if (!b[0] || !b[1]) type_error("replace() needs the old and new strings");
  const std::string s = to_str(v, in.limits().max_bytes);
  const std::string old = to_str(*b[0], in.limits().max_bytes);
  const std::string repl = to_str(*b[1], in.limits().max_bytes);
  const int64_t count = int_arg(b[2], -1, "replace() count");
  const int64_t n = std::min<int64_t>(count < 0 ? std::numeric_limits<int64_t>::max() : count, count_text(s, old));
  in.check_size(s.size() + static_cast<size_t>(n) * repl.size());
  in.charge(static_cast<int64_t>(s.size()) / 64 + n);
  return Value::string(py_replace(s, old, repl, count));
}

Value f_reverse(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "reverse");
  if (v.is_string()) {
    std::u32string t = to_u32(v.str());
    std::reverse(t.begin(), t.end());
    return Value::string(to_utf8(t));
  }
  // reversed(value): an iterator for sequences, dicts and undefined; a generator has no reversed()
  // and becomes a reversed list; anything else is an error.
  if (v.kind() == Kind::generator) {
    std::vector<Value> items = in.iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (!v.is_seq() && !v.is_dict() && !v.is_undefined()) type_error("argument must be iterable");
  std::vector<Value> items = in.iterate(v);
  std::reverse(items.begin(), items.end());
  return make_generator(v.is_dict() ? "dict_reversekeyiterator" : "list_reverseiterator",
                        [&] { return std::move(items); });
}

Value f_round(Interpreter&, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"precision", "method"}, "round");
  const int64_t precision = int_arg(b[0], 0, "round() precision");
  const std::string method = b[1] ? str_arg(b[1], "round() method") : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    type_error("method must be 'common', 'ceil' or 'floor'");
  }
  if (!v.is_number()) type_error("type " + type_name(v) + " doesn't define __round__ method");
  if (v.is_integral() && method == "common") {
    // Python's round(int, n) stays an int: unchanged for n >= 0, half-to-even to 10**-n otherwise.
    if (precision >= 0 || precision < -18) return Value::integer(precision < -18 ? 0 : v.as_int());
    int64_t scale = 1;
    for (int64_t i = 0; i < -precision; ++i) scale *= 10;
    const int64_t x = v.as_int();
    int64_t q = x / scale, r = x % scale;
    if (r < 0) {
      r += scale;
      q -= 1;
    }
    if (2 * r > scale || (2 * r == scale && (q % 2 != 0))) q += 1;
    int64_t out = 0;
    if (__builtin_mul_overflow(q, scale, &out)) type_error("integer overflow in round()");
    return Value::integer(out);
  }
  const double x = v.as_double();
  if (!std::isfinite(x)) return Value::floating(x);
  if (method == "common") {
    if (precision < -308 || precision > 308) return Value::floating(precision > 0 ? x : 0.0 * x);
    // Python rounds the exact binary value half to even at the given decimal digit.
    char buf[1024];  // 309 integer digits, the point and up to 308 decimals
    if (precision >= 0) {
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), x);
      return Value::floating(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value::floating(std::nearbyint(x / scale) * scale);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  return Value::floating((method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale)) / scale);
}

Value f_safe(Interpreter&, const Value& v, const Args& a) {
  bind_args(a, {}, "safe");
  return v;
}

// jinja2's do_sort: the key is a list of the comma-separated attributes' values.
Value f_sort(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"reverse", "case_sensitive", "attribute"}, "sort");
  std::vector<Value> items = in.iterate(v);
  in.charge(static_cast<int64_t>(items.size()) * 8);
  const bool cs = bool_arg(b[1], false);
  std::vector<std::optional<Value>> attributes;
  if (b[2] && b[2]->is_string()) {
    for (const std::string& part : py_split(b[2]->str(), std::string(","), -1)) attributes.emplace_back(Value::string(part));
  } else {
    attributes.push_back(b[2] && !b[2]->is_none() ? b[2] : std::nullopt);
  }
  sort_values(
      items,
      [&](const Value& x) {
        std::vector<Value> key;
        for (const auto& attr : attributes) key.push_back(ignore_case(get_path(in, x, attr), cs));
        return Value::list(std::move(key));
      },
      bool_arg(b[0], false));
  return Value::list(std::move(items));
}

Value f_string(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "string");
  return Value::string(to_str(v, in.limits().max_bytes));
}

Value f_sum(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"attribute", "start"}, "sum");
  Value total = b[1] ? *b[1] : Value::integer(0);
  for (const Value& item : in.iterate(v)) {
    const Value x = get_path(in, item, b[0]);
    if (x.is_undefined()) undefined_error(x);
    if (!x.is_number() || !total.is_number()) {
      type_error("unsupported operand type(s) for +: '" + type_name(total) + "' and '" + type_name(x) + "'");
    }
    if (x.is_integral() && total.is_integral()) {
      int64_t r = 0;
      if (__builtin_add_overflow(total.as_int(), x.as_int(), &r)) type_error("integer overflow in sum()");
      total = Value::integer(r);
    } else {
      total = Value::floating(total.as_double() + x.as_double());
    }
  }
  return total;
}

Value f_title(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "title");
  return Value::string(jinja_title(to_str(v, in.limits().max_bytes)));
}

std::string ascii_escape(const std::string& json) {
  std::string out;
  char buf[16];
  for (char32_t c : to_u32(json)) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x10000) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      const char32_t v = c - 0x10000;
      std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                    static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
      out += buf;
    }
  }
  return out;
}

// transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
Value f_tojson(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson");
  JsonOptions o;
  o.max_bytes = in.limits().max_bytes;
  if (b[1] && !b[1]->is_none()) {
    if (b[1]->is_string()) {
      o.indent = b[1]->str();
    } else if (b[1]->is_integral()) {
      const int64_t n = b[1]->as_int();
      in.check_size(static_cast<size_t>(std::max<int64_t>(n, 0)));
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    } else {
      type_error("tojson() indent must be an integer or a string");
    }
    o.item_separator = ",";
  }
  if (b[2] && !b[2]->is_none()) {
    const Value& s = *b[2];
    if (!s.is_seq() || s.items().size() != 2 || !s.items()[0].is_string() || !s.items()[1].is_string()) {
      type_error("tojson() separators must be a pair of strings");
    }
    o.item_separator = s.items()[0].str();
    o.key_separator = s.items()[1].str();
  }
  o.sort_keys = bool_arg(b[3], false);
  in.charge(1);
  std::string out = to_json(v, o);
  in.charge(static_cast<int64_t>(out.size()) / 64);
  if (bool_arg(b[0], false)) out = ascii_escape(out);
  in.check_size(out.size());
  return Value::string(std::move(out));
}

Value f_trim(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"chars"}, "trim");
  return Value::string(py_strip(to_str(v, in.limits().max_bytes), opt_str_arg(b[0], "trim() chars"), true, true));
}

Value f_unique(Interpreter& in, const Value& v, const Args& a) {
  const Bound b = bind_args(a, {"case_sensitive", "attribute"}, "unique");
  return make_generator("generator", [&] {
    const bool cs = bool_arg(b[0], false);
    Dict seen;
    std::vector<Value> out;
    for (const Value& item : in.iterate(v)) {
      const Value key = ignore_case(get_path(in, item, b[1]), cs);
      if (seen.find(key)) continue;
      seen.set(key, Value::none());
      out.push_back(item);
    }
    return out;
  });
}

Value f_wordcount(Interpreter& in, const Value& v, const Args& a) {
  bind_args(a, {}, "wordcount");
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : to_u32(to_str(v, in.limits().max_bytes))) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    const bool w = c == '_' || (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                   (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

const std::unordered_map<std::string, FilterFn>& filters() {
  static const std::unordered_map<std::string, FilterFn> kFilters = {
      {"abs", f_abs},         {"attr", f_attr},       {"capitalize", f_capitalize},
      {"count", f_length},    {"d", f_default},       {"default", f_default},
      {"dictsort", f_dictsort}, {"first", f_first},   {"float", f_float},
      {"indent", f_indent},   {"int", f_int},         {"items", f_items},
      {"join", f_join},       {"last", f_last},       {"length", f_length},
      {"list", f_list},       {"lower", f_lower},     {"map", f_map},
      {"max", f_max},         {"min", f_min},         {"reject", f_reject},
      {"rejectattr", f_rejectattr}, {"replace", f_replace}, {"reverse", f_reverse},
      {"round", f_round},     {"safe", f_safe},       {"select", f_select},
      {"selectattr", f_selectattr}, {"sort", f_sort}, {"string", f_string},
      {"sum", f_sum},         {"title", f_title},     {"tojson", f_tojson},
      {"trim", f_trim},       {"unique", f_unique},   {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return kFilters;
}

// ---- tests ---------------------------------------------------------------------------------------

using TestFn = bool (*)(Interpreter&, const Value&, const Args&);

const Value& one_arg(const Args& a, const char* what) {
  if (a.pos.size() != 1 || !a.kw.empty()) type_error(std::string("the test '") + what + "' takes one argument");
  return a.pos[0];
}

bool t_none(Interpreter&, const Value& v, const Args&) { return v.is_none(); }
bool t_defined(Interpreter&, const Value& v, const Args&) { return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, const Args&) { return v.is_undefined(); }
bool t_string(Interpreter&, const Value& v, const Args&) { return v.is_string(); }
bool t_number(Interpreter&, const Value& v, const Args&) { return v.is_number(); }
bool t_integer(Interpreter&, const Value& v, const Args&) { return v.kind() == Kind::integer; }
bool t_float(Interpreter&, const Value& v, const Args&) { return v.kind() == Kind::floating; }
bool t_boolean(Interpreter&, const Value& v, const Args&) { return v.kind() == Kind::boolean; }
bool t_true(Interpreter&, const Value& v, const Args&) { return v.kind() == Kind::boolean && v.as_bool(); }
bool t_false(Interpreter&, const Value& v, const Args&) { return v.kind() == Kind::boolean && !v.as_bool(); }
bool t_mapping(Interpreter&, const Value& v, const Args&) { return v.is_dict(); }
bool t_iterable(Interpreter&, const Value& v, const Args&) {
  return v.is_undefined() || v.is_string() || v.is_seq() || v.is_dict() || v.kind() == Kind::loop ||
         v.kind() == Kind::generator;
}
bool t_sequence(Interpreter&, const Value& v, const Args&) {
  if (v.tag() != SeqTag::none && v.tag() != SeqTag::range) return false;  // dict views have no []
  return v.is_undefined() || v.is_string() || v.is_seq() || v.is_dict();
}
bool t_callable(Interpreter&, const Value& v, const Args&) {
  return v.kind() == Kind::callable || v.is_undefined();
}
bool t_escaped(Interpreter&, const Value&, const Args&) { return false; }

bool cased_all(const Value& v, bool upper) {
  if (!v.is_string()) return false;
  bool cased = false;
  for (char32_t c : to_u32(v.str())) {
    const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT) {
      if (!upper) return false;
      cased = true;
    } else if (cat == UTF8PROC_CATEGORY_LL) {
      if (upper) return false;
      cased = true;
    }
  }
  return cased;
}
// jinja2 tests str(value).islower(): the text of a generator or function (an address) is lower case.
bool t_lower(Interpreter& in, const Value& v, const Args&) {
  if (v.kind() == Kind::generator || (v.kind() == Kind::callable && v.fn().type != Callable::Type::macro)) return true;
  return cased_all(Value::string(to_str(v, in.limits().max_bytes)), false);
}
bool t_upper(Interpreter& in, const Value& v, const Args&) {
  if (v.kind() == Kind::generator || v.kind() == Kind::callable) return false;
  return cased_all(Value::string(to_str(v, in.limits().max_bytes)), true);
}

Value modulo(const Value& v, const Value& n) {
  if (!v.is_number() || !n.is_number()) type_error("unsupported operand type(s) for %: '" + type_name(v) + "' and '" + type_name(n) + "'");
  if (v.is_integral() && n.is_integral()) {
    if (n.as_int() == 0) type_error("integer modulo by zero");
    if (n.as_int() == -1) return Value::integer(0);
    int64_t m = v.as_int() % n.as_int();
    if (m != 0 && ((m < 0) != (n.as_int() < 0))) m += n.as_int();
    return Value::integer(m);
  }
  if (n.as_double() == 0.0) type_error("float modulo");
  double m = std::fmod(v.as_double(), n.as_double());
  if (m != 0.0 && ((m < 0) != (n.as_double() < 0))) m += n.as_double();
  return Value::floating(m);
}

bool t_odd(Interpreter&, const Value& v, const Args&) { return equal(modulo(v, Value::integer(2)), Value::integer(1)); }
bool t_even(Interpreter&, const Value& v, const Args&) { return equal(modulo(v, Value::integer(2)), Value::integer(0)); }
bool t_divisibleby(Interpreter&, const Value& v, const Args& a) {
  return equal(modulo(v, one_arg(a, "divisibleby")), Value::integer(0));
}
bool t_eq(Interpreter&, const Value& v, const Args& a) { return equal(v, one_arg(a, "eq")); }
bool t_ne(Interpreter&, const Value& v, const Args& a) { return !equal(v, one_arg(a, "ne")); }
bool t_lt(Interpreter&, const Value& v, const Args& a) { return less(v, one_arg(a, "lt")); }
bool t_gt(Interpreter&, const Value& v, const Args& a) { return less(one_arg(a, "gt"), v); }
bool t_le(Interpreter&, const Value& v, const Args& a) {
  const Value& o = one_arg(a, "le");
  return less(v, o) || equal(v, o);
}
bool t_ge(Interpreter&, const Value& v, const Args& a) {
  const Value& o = one_arg(a, "ge");
  return less(o, v) || equal(v, o);
}
bool t_sameas(Interpreter&, const Value& v, const Args& a) {
  const Value& o = one_arg(a, "sameas");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Kind::none:
    case Kind::undefined: return true;
    case Kind::boolean:
    case Kind::integer: return v.as_int() == o.as_int();
    case Kind::string: return &v.str() == &o.str();
    case Kind::list:
    case Kind::tuple: return &v.items() == &o.items();
    case Kind::dict: return &v.dict() == &o.dict();
    default: return equal(v, o);
  }
}
bool t_in(Interpreter&, const Value& v, const Args& a) {
  const Value& seq = one_arg(a, "in");
  if (seq.is_undefined()) return false;
  if (seq.is_string()) {
    if (!v.is_string()) type_error("'in <string>' requires string as left operand, not " + type_name(v));
    return find_text(seq.str(), v.str()) != std::string::npos;
  }
  if (seq.is_seq()) {
    for (const Value& x : seq.items()) {
      if (equal(x, v)) return true;
    }
    return false;
  }
  if (seq.is_dict()) return seq.dict().find(v) != nullptr;
  type_error("argument of type '" + type_name(seq) + "' is not iterable");
}
bool t_filter(Interpreter&, const Value& v, const Args&) { return v.is_string() && has_filter(v.str()); }
bool t_test(Interpreter&, const Value& v, const Args&) { return v.is_string() && has_test(v.str()); }

const std::unordered_map<std::string, TestFn>& tests() {
  static const std::unordered_map<std::string, TestFn> kTests = {
      {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined}, {"divisibleby", t_divisibleby},
      {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"escaped", t_escaped}, {"even", t_even},
      {"false", t_false}, {"filter", t_filter}, {"float", t_float}, {"ge", t_ge}, {">=", t_ge},
      {"gt", t_gt}, {">", t_gt}, {"greaterthan", t_gt}, {"in", t_in}, {"integer", t_integer},
      {"iterable", t_iterable}, {"le", t_le}, {"<=", t_le}, {"lower", t_lower}, {"lt", t_lt},
      {"<", t_lt}, {"lessthan", t_lt}, {"mapping", t_mapping}, {"ne", t_ne}, {"!=", t_ne},
      {"none", t_none}, {"number", t_number}, {"odd", t_odd}, {"sameas", t_sameas},
      {"sequence", t_sequence}, {"string", t_string}, {"test", t_test}, {"true", t_true},
      {"undefined", t_undefined}, {"upper", t_upper},
  };
  return kTests;
}

// ---- methods -------------------------------------------------------------------------------------

const std::set<std::string> kStrMethods = {
    "capitalize", "casefold", "center", "count", "encode", "endswith", "expandtabs", "find", "format",
    "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier",
    "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
    "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "translate", "upper", "zfill"};
const std::set<std::string> kDictMethods = {"clear", "copy", "fromkeys", "get", "items", "keys",
                                            "pop", "popitem", "setdefault", "update", "values"};
const std::set<std::string> kListMethods = {"append", "clear", "copy", "count", "extend", "index",
                                            "insert", "pop", "remove", "reverse", "sort"};
const std::set<std::string> kTupleMethods = {"count", "index"};
const std::set<std::string> kUnsafe = {"clear", "pop", "popitem", "setdefault", "update", "append",
                                       "extend", "insert", "remove", "reverse", "sort"};

// Python's str.startswith/endswith with optional start/end (code point positions).
bool affix(const Value& self, const Args& a, bool start_side) {
  const char* what = start_side ? "startswith" : "endswith";
  const Bound b = bind_args(a, {"prefix", "start", "end"}, std::string("str.") + what);
  if (!b[0]) type_error(std::string(what) + "() takes at least 1 argument (0 given)");
  std::vector<std::string> options;
  if (b[0]->is_string()) {
    options.push_back(b[0]->str());
  } else if (b[0]->kind() == Kind::tuple) {
    for (const Value& v : b[0]->items()) {
      if (!v.is_string()) type_error(std::string("tuple for ") + what + " must only contain str, not " + type_name(v));
      options.push_back(v.str());
    }
  } else {
    type_error(std::string(what) + " first arg must be str or a tuple of str, not " + type_name(*b[0]));
  }
  std::string s = text_of(self);
  if (given(b[1]) || given(b[2])) {
    const std::u32string t = to_u32(s);
    const auto n = static_cast<int64_t>(t.size());
    auto clamp = [n](int64_t x) { return x < 0 ? std::max<int64_t>(x + n, 0) : std::min(x, n); };
    const int64_t st = clamp(int_arg(b[1], 0, "start"));
    const int64_t en = clamp(int_arg(b[2], n, "end"));
    if (st > en) return false;
    s = to_utf8(std::u32string_view(t).substr(static_cast<size_t>(st), static_cast<size_t>(en - st)));
  }
  for (const std::string& o : options) {
    if (o.size() > s.size()) continue;
    if (start_side ? s.compare(0, o.size(), o) == 0 : s.compare(s.size() - o.size(), o.size(), o) == 0) return true;
  }
  return false;
}

// str.find/rfind/index/rindex, in code points.
Value find_method(const Value& self, const Args& a, const std::string& name) {
  const Bound b = bind_args(a, {"sub", "start", "end"}, "str." + name);
  const std::string sub = str_arg(b[0], "str." + name + "() argument");
  const std::u32string t = to_u32(text_of(self));
  const std::u32string needle = to_u32(sub);
  const auto n = static_cast<int64_t>(t.size());
  auto clamp = [n](int64_t x) { return x < 0 ? std::max<int64_t>(x + n, 0) : std::min(x, n); };
  const int64_t st = clamp(int_arg(b[1], 0, "start"));
  const int64_t en = clamp(int_arg(b[2], n, "end"));
  int64_t found = -1;
  if (st <= en && static_cast<int64_t>(needle.size()) <= en - st) {
    const std::u32string_view hay = std::u32string_view(t).substr(static_cast<size_t>(st), static_cast<size_t>(en - st));
    const size_t at = name[0] == 'r' ? hay.rfind(needle) : hay.find(needle);
    if (at != std::u32string_view::npos) found = st + static_cast<int64_t>(at);
  }
  if (found < 0 && (name == "index" || name == "rindex")) type_error("substring not found");
  return Value::integer(found);
}

Value str_method(Interpreter& in, const Value& self, const std::string& name, const Args& a) {
  const std::string& s = text_of(self);
  in.charge(static_cast<int64_t>(s.size()) / 64);
  auto strip = [&](bool l, bool r) {
    const Bound b = bind_args(a, {"chars"}, "str." + name);
    return Value::string(py_strip(s, opt_str_arg(b[0], name + " arg"), l, r));
  };
  if (name == "strip") return strip(true, true);
  if (name == "lstrip") return strip(true, false);
  if (name == "rstrip") return strip(false, true);
  if (name == "split" || name == "rsplit") {
    const Bound b = bind_args(a, {"sep", "maxsplit"}, "str." + name);
    const auto sep = opt_str_arg(b[0], "sep");
    if (sep && sep->empty()) type_error("empty separator");
    const int64_t maxsplit = int_arg(b[1], -1, "maxsplit");
    auto parts = name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit);
    in.charge(static_cast<int64_t>(parts.size()));
    return Value::list(strings_to_list(std::move(parts)));
  }
  if (name == "splitlines") {
    const Bound b = bind_args(a, {"keepends"}, "str.splitlines");
    if (bool_arg(b[0], false)) type_error("str.splitlines(keepends=True) is not supported by lightpeft");
    return Value::list(strings_to_list(py_splitlines(s)));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    bind_args(a, {}, "str." + name);
    if (name == "upper") return Value::string(py_upper(s));
    if (name == "lower") return Value::string(py_lower(s));
    if (name == "title") return Value::string(py_title(s));
    return Value::string(py_capitalize(s));
  }
  if (name == "replace") {
    const Bound b = bind_args(a, {"old", "new", "count"}, "str.replace");
    const std::string old = str_arg(b[0], "replace() argument 1");
    const std::string repl = str_arg(b[1], "replace() argument 2");
    const int64_t count = int_arg(b[2], -1, "replace() count");
    const int64_t n = std::min<int64_t>(count < 0 ? std::numeric_limits<int64_t>::max() : count, count_text(s, old));
    in.check_size(s.size() + static_cast<size_t>(n) * repl.size());
    in.charge(n);
    return Value::string(py_replace(s, old, repl, count));
  }
  if (name == "startswith" || name == "endswith") return Value::boolean(affix(self, a, name == "startswith"));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") return find_method(self, a, name);
  if (name == "count") {
    const Bound b = bind_args(a, {"sub"}, "str.count");
    return Value::integer(count_text(s, str_arg(b[0], "str.count() argument")));
  }
  if (name == "join") {
    const Bound b = bind_args(a, {"iterable"}, "str.join");
    if (!b[0]) type_error("str.join() takes exactly one argument (0 given)");
    std::string out;
    size_t i = 0;
    for (const Value& item : in.iterate(*b[0])) {
      if (!item.is_string()) {
        type_error("sequence item " + std::to_string(i) + ": expected str instance, " + type_name(item) + " found");
      }
      in.check_size(out.size() + s.size() + item.str().size());
      if (i++) out += s;
      out += item.str();
    }
    return Value::string(std::move(out));
  }
  if (name == "removeprefix" || name == "removesuffix") {
    const Bound b = bind_args(a, {"affix"}, "str." + name);
    const std::string x = str_arg(b[0], name + "() argument");
    if (name == "removeprefix") {
      return Value::string(s.compare(0, x.size(), x) == 0 && x.size() <= s.size() ? s.substr(x.size()) : s);
    }
    if (x.size() <= s.size() && s.compare(s.size() - x.size(), x.size(), x) == 0 && !x.empty()) {
      return Value::string(s.substr(0, s.size() - x.size()));
    }
    return Value::string(s);
  }
  if (name == "isspace" || name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isupper" ||
      name == "islower") {
    bind_args(a, {}, "str." + name);
    if (name == "isupper") return Value::boolean(cased_all(self, true));
    if (name == "islower") return Value::boolean(cased_all(self, false));
    const std::u32string t = to_u32(s);
    if (t.empty()) return Value::boolean(false);
    for (char32_t c : t) {
      const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      const bool alpha = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
      const bool digit = cat == UTF8PROC_CATEGORY_ND;
      const bool numeric = cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
      const bool ok = name == "isspace" ? py_isspace(c) : name == "isdigit" ? digit : name == "isalpha" ? alpha : (alpha || numeric);
      if (!ok) return Value::boolean(false);
    }
    return Value::boolean(true);
  }
  type_error("str." + name + "() is not supported by lightpeft");
}

Value dict_method(Interpreter& in, const Value& self, const std::string& name, const Args& a) {
  const Dict& d = self.dict();
  if (name == "items" || name == "keys" || name == "values") {
    bind_args(a, {}, "dict." + name);
    in.charge(static_cast<int64_t>(d.items.size()));
    std::vector<Value> out;
    out.reserve(d.items.size());
    for (const auto& [k, v] : d.items) {
      out.push_back(name == "items" ? Value::tuple({k, v}) : name == "keys" ? k : v);
    }
    return Value::tagged_list(std::move(out), name == "items" ? SeqTag::dict_items
                                              : name == "keys" ? SeqTag::dict_keys
                                                               : SeqTag::dict_values);
  }
  if (name == "get") {
    const Bound b = bind_args(a, {"key", "default"}, "dict.get");
    if (!b[0]) type_error("get expected at least 1 argument, got 0");
    const Value* v = d.find(*b[0]);
    return v ? *v : (b[1] ? *b[1] : Value::none());
  }
  if (name == "copy") {
    bind_args(a, {}, "dict.copy");
    return self;
  }
  type_error("dict." + name + "() is not supported by lightpeft");
}

Value seq_method(Interpreter& in, const Value& self, const std::string& name, const Args& a) {
  const auto& items = self.items();
  in.charge(static_cast<int64_t>(items.size()));
  if (name == "count") {
    const Bound b = bind_args(a, {"value"}, type_name(self) + ".count");
    if (!b[0]) type_error("count() takes exactly one argument (0 given)");
    int64_t n = 0;
    for (const Value& v : items) n += equal(v, *b[0]);
    return Value::integer(n);
  }
  if (name == "index") {
    const Bound b = bind_args(a, {"value"}, type_name(self) + ".index");
    if (!b[0]) type_error("index expected at least 1 argument, got 0");
    for (size_t i = 0; i < items.size(); ++i) {
      if (equal(items[i], *b[0])) return Value::integer(static_cast<int64_t>(i));
    }
    type_error(to_repr(*b[0], 256) + " is not in list");
  }
  if (name == "copy") {
    bind_args(a, {}, "list.copy");
    return self;
  }
  type_error(type_name(self) + "." + name + "() is not supported by lightpeft");
}

// ---- global functions ----------------------------------------------------------------------------

Value g_range(Interpreter& in, const Args& a) {
  if (!a.kw.empty()) type_error("range() takes no keyword arguments");
  if (a.pos.empty() || a.pos.size() > 3) type_error("range expected 1 to 3 arguments, got " + std::to_string(a.pos.size()));
  for (const Value& v : a.pos) {
    if (!v.is_integral()) type_error("'" + type_name(v) + "' object cannot be interpreted as an integer");
  }
  int64_t start = 0, stop = 0, step = 1;
  if (a.pos.size() == 1) {
    stop = a.pos[0].as_int();
  } else {
    start = a.pos[0].as_int();
    stop = a.pos[1].as_int();
    if (a.pos.size() == 3) step = a.pos[2].as_int();
  }
  if (step == 0) type_error("range() arg 3 must not be zero");
  int64_t n = 0;
  if (step > 0 && start < stop) n = static_cast<int64_t>((static_cast<__int128>(stop) - start - 1) / step + 1);
  if (step < 0 && stop < start) n = static_cast<int64_t>((static_cast<__int128>(start) - stop - 1) / (-static_cast<__int128>(step)) + 1);
  // jinja2's sandbox refuses ranges past MAX_RANGE.
  if (n > 100000) type_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  in.charge(n);
  std::vector<Value> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(Value::integer(start + i * step));
  std::string repr = "range(" + std::to_string(start) + ", " + std::to_string(stop);
  if (step != 1) repr += ", " + std::to_string(step);
  return Value::tagged_list(std::move(out), SeqTag::range, repr + ")");
}

// dict(*args, **kwargs) as namespace() and dict() take them.
std::shared_ptr<Dict> dict_from_args(Interpreter& in, const Args& a, const std::string& what) {
  auto d = std::make_shared<Dict>();
  if (a.pos.size() > 1) type_error(what + " expected at most 1 argument, got " + std::to_string(a.pos.size()));
  if (!a.pos.empty()) {
    const Value& src = a.pos[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.dict().items) d->set(k, v);
    } else {
      size_t i = 0;
      for (const Value& pair : in.iterate(src)) {
        const std::vector<Value> kv = in.iterate(pair);
        if (kv.size() != 2) {
          type_error(what + " sequence element #" + std::to_string(i) + " has length " + std::to_string(kv.size()) +
                     "; 2 is required");
        }
        d->set(kv[0], kv[1]);
        ++i;
      }
    }
  }
  for (const auto& [k, v] : a.kw) d->set(Value::string(k), v);
  return d;
}

Value g_namespace(Interpreter& in, const Args& a) {
  auto d = dict_from_args(in, a, "namespace()");
  auto ns = std::make_shared<Namespace>();
  for (const auto& [k, v] : d->items) {
    if (k.is_string() && !k.str().empty() && k.str()[0] == '_') {
      type_error("Chat templates cannot store underscore-prefixed attributes on a namespace, but got " +
                 py_str_repr(k.str()) + ". Please rename the attribute.");
    }
    if (!v.plain()) {
      type_error("a namespace attribute may hold none, booleans, numbers, strings and lists or dicts of them; "
                 "lightpeft refuses a " + type_name(v));
    }
    ns->attrs.set(k, v);
  }
  return Value::ns(std::move(ns));
}

Value g_dict(Interpreter& in, const Args& a) { return Value::dict(dict_from_args(in, a, "dict()")); }

Value g_raise_exception(Interpreter&, const Args& a) {
  const Bound b = bind_args(a, {"message"}, "raise_exception");
  throw TemplateError{"raise_exception: " + (b[0] ? to_str(*b[0], 1 << 16) : std::string())};
}

Value g_strftime_now(Interpreter& in, const Args& a) {
  const Bound b = bind_args(a, {"format"}, "strftime_now");
  const std::string fmt = str_arg(b[0], "strftime_now() format");
  if (fmt.empty()) return Value::string("");
  in.check_size(fmt.size() * 16);
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::string buf(fmt.size() * 16 + 64, '\0');
  const size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &local);
  buf.resize(n);
  return Value::string(buf);
}

}  // namespace

// ---- registry --------------------------------------------------------------------------------------

std::vector<std::optional<Value>> bind_args(const Args& args, const std::vector<const char*>& params,
                                            const std::string& what) {
  std::vector<std::optional<Value>> out(params.size());
  if (args.pos.size() > params.size()) {
    throw TemplateError{what + "() takes at most " + std::to_string(params.size()) + " argument(s) (" +
                        std::to_string(args.pos.size()) + " given)"};
  }
  for (size_t i = 0; i < args.pos.size(); ++i) out[i] = args.pos[i];
  for (const auto& [k, v] : args.kw) {
    size_t i = 0;
    while (i < params.size() && k != params[i]) ++i;
    if (i == params.size()) throw TemplateError{what + "() got an unexpected keyword argument " + py_str_repr(k)};
    if (out[i]) throw TemplateError{what + "() got multiple values for argument " + py_str_repr(k)};
    out[i] = v;
  }
  return out;
}

bool has_filter(const std::string& name) { return filters().count(name) != 0; }
bool has_test(const std::string& name) { return tests().count(name) != 0; }

bool jinja2_has_filter(const std::string& name) {
  static const std::set<std::string> kAll = {
      "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
      "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join", "last",
      "length", "list", "lower", "items", "map", "min", "max", "pprint", "random", "reject", "rejectattr",
      "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
      "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap",
      "xmlattr", "tojson"};
  return kAll.count(name) != 0;
}

bool jinja2_has_test(const std::string& name) {
  static const std::set<std::string> kAll = {
      "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
      "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lower", "lessthan", "lt",
      "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined",
      "upper", "==", "!=", "<", "<=", ">", ">="};
  return kAll.count(name) != 0;
}

Value call_filter(Interpreter& in, const std::string& name, const Value& input, const Args& args) {
  if (input.is_string()) in.charge(static_cast<int64_t>(input.str().size()) / 64);
  return filters().at(name)(in, input, args);
}

bool call_test(Interpreter& in, const std::string& name, const Value& input, const Args& args) {
  // Tests that take no argument refuse one, as Python does (`x is defined not in y` parses `not`
  // as the argument of `defined`).
  static const std::set<std::string> kWithArgs = {"divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "<",
                                                  "lessthan", "le", "<=", "gt", ">", "greaterthan", "ge", ">=",
                                                  "sameas", "in"};
  if (!kWithArgs.count(name) && (!args.pos.empty() || !args.kw.empty())) {
    throw TemplateError{"the test '" + name + "' takes no argument (" +
                        std::to_string(args.pos.size() + args.kw.size()) + " given)"};
  }
  return tests().at(name)(in, input, args);
}

std::vector<std::pair<std::string, Value>> global_functions() {
  std::vector<std::pair<std::string, Value>> out;
  for (const char* name : {"range", "namespace", "dict", "raise_exception", "strftime_now"}) {
    auto c = std::make_shared<Callable>();
    c->type = Callable::Type::builtin;
    c->name = name;
    out.emplace_back(name, Value::callable(std::move(c)));
  }
  return out;
}

Value call_global(Interpreter& in, const std::string& name, const Args& args) {
  if (name == "range") return g_range(in, args);
  if (name == "namespace") return g_namespace(in, args);
  if (name == "dict") return g_dict(in, args);
  if (name == "raise_exception") return g_raise_exception(in, args);
  if (name == "strftime_now") return g_strftime_now(in, args);
  throw TemplateError{"unknown function " + name};
}

bool is_method(const Value& self, const std::string& name) {
  switch (self.kind()) {
    case Kind::string: return kStrMethods.count(name) != 0;
    case Kind::dict: return kDictMethods.count(name) != 0;
    case Kind::list: return kListMethods.count(name) != 0;
    case Kind::tuple: return kTupleMethods.count(name) != 0;
    case Kind::loop: return name == "cycle" || name == "changed";
    default: return false;
  }
}

Value call_method(Interpreter& in, const Value& self, const std::string& name, const Args& args) {
  if (kUnsafe.count(name) && (self.is_dict() || self.kind() == Kind::list)) {
    throw TemplateError{"access to attribute " + py_str_repr(name) + " of '" + type_name(self) +
                        "' object is unsafe (chat templates cannot modify lists and dicts)"};
  }
  switch (self.kind()) {
    case Kind::string: return str_method(in, self, name, args);
    case Kind::dict: return dict_method(in, self, name, args);
    case Kind::list:
    case Kind::tuple: return seq_method(in, self, name, args);
    default: break;
  }
  throw TemplateError{type_name(self) + "." + name + "() is not supported by lightpeft"};
}

}  // namespace lightpeft::jinja
