#include "value.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "py_text.h"

namespace lightpeft::jinja {

namespace {

int child_depth(const Value& v) { return v.depth(); }

std::shared_ptr<Seq> make_seq(std::vector<Value> items) {
  auto seq = std::make_shared<Seq>();
  int depth = 0;
  bool plain = true;
  for (const Value& v : items) {
    depth = std::max(depth, child_depth(v));
    plain = plain && v.plain();
  }
  if (depth + 1 > kMaxValueDepth) {
    throw TemplateError{"values nested deeper than " + std::to_string(kMaxValueDepth) + " levels"};
  }
  seq->depth = depth + 1;
  seq->plain = plain;
  seq->items = std::move(items);
  return seq;
}

}  // namespace

Value Value::undefined(std::string hint) {
  Value v;
  v.p_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::none;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::boolean;
  v.i_ = b ? 1 : 0;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::integer;
  v.i_ = i;
  return v;
}

Value Value::floating(double f) {
  Value v;
  v.kind_ = Kind::floating;
  v.f_ = f;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::string;
  v.p_ = std::make_shared<std::string>(std::move(s));
  return v;
}

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::list;
  v.p_ = make_seq(std::move(items));
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::tuple;
  v.p_ = make_seq(std::move(items));
  return v;
}

Value Value::tagged_list(std::vector<Value> items, SeqTag tag, std::string range_repr) {
  Value v;
  v.kind_ = Kind::list;
  auto seq = make_seq(std::move(items));
  seq->tag = tag;
  seq->range_repr = std::move(range_repr);
  v.p_ = std::move(seq);
  return v;
}

Value Value::dict(std::shared_ptr<const Dict> d) {
  Value v;
  v.kind_ = Kind::dict;
  v.p_ = std::const_pointer_cast<Dict>(std::move(d));
  return v;
}

Value Value::ns(std::shared_ptr<Namespace> n) {
  Value v;
  v.kind_ = Kind::ns;
  v.p_ = std::move(n);
  return v;
}

Value Value::callable(std::shared_ptr<const Callable> c) {
  Value v;
  v.kind_ = Kind::callable;
  v.p_ = std::const_pointer_cast<Callable>(std::move(c));
  return v;
}

Value Value::loop(std::shared_ptr<const LoopInfo> l) {
  Value v;
  v.kind_ = Kind::loop;
  v.p_ = std::const_pointer_cast<LoopInfo>(std::move(l));
  return v;
}

Value Value::generator(std::shared_ptr<Generator> g) {
  Value v;
  v.kind_ = Kind::generator;
  v.p_ = std::move(g);
  return v;
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  return p_ ? *static_cast<const std::string*>(p_.get()) : kEmpty;
}
const std::vector<Value>& Value::items() const { return static_cast<const Seq*>(p_.get())->items; }
const std::string& Value::range_repr() const { return static_cast<const Seq*>(p_.get())->range_repr; }
SeqTag Value::tag() const {
  return kind_ == Kind::list ? static_cast<const Seq*>(p_.get())->tag : SeqTag::none;
}
const Dict& Value::dict() const { return *static_cast<const Dict*>(p_.get()); }
Namespace& Value::ns() const { return *static_cast<Namespace*>(p_.get()); }
const Callable& Value::fn() const { return *static_cast<const Callable*>(p_.get()); }
const LoopInfo& Value::loop() const { return *static_cast<const LoopInfo*>(p_.get()); }
Generator& Value::gen() const { return *static_cast<Generator*>(p_.get()); }
std::shared_ptr<const Dict> Value::dict_ptr() const { return std::static_pointer_cast<const Dict>(p_); }
std::shared_ptr<Namespace> Value::ns_ptr() const { return std::static_pointer_cast<Namespace>(p_); }

int Value::depth() const {
  switch (kind_) {
    case Kind::list:
    case Kind::tuple: return static_cast<const Seq*>(p_.get())->depth;
    case Kind::dict: return dict().depth;
    case Kind::ns: return ns().attrs.depth;
    case Kind::generator: return gen().depth;
    default: return 0;
  }
}

bool Value::plain() const {
  switch (kind_) {
    case Kind::list:
    case Kind::tuple: return static_cast<const Seq*>(p_.get())->plain;
    case Kind::dict: return dict().plain;
    case Kind::ns:
    case Kind::loop: return false;
    case Kind::callable:
      // Builtins and methods of plain values hold no scope; macros and loop.cycle do.
      return fn().type == Callable::Type::builtin || (fn().type == Callable::Type::method && fn().self.plain());
    case Kind::generator: return gen().plain;
    default: return true;
  }
}

// ---- dict ----------------------------------------------------------------------------------------

std::string hash_key(const Value& key) {
  switch (key.kind()) {
    case Kind::undefined: return "u";
    case Kind::none: return "n";
    case Kind::boolean:
    case Kind::integer: return "i" + std::to_string(key.as_int());
    case Kind::floating: {
      const double f = key.as_double();
      // 1.0 and 1 are the same key in Python.
      if (std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 9.2e18) {
        return "i" + std::to_string(static_cast<int64_t>(f));
      }
      return "f" + py_float_repr(f);
    }
    case Kind::string: return "s" + key.str();
    case Kind::tuple: {
      std::string out = "t";
      for (const Value& v : key.items()) {
        const std::string part = hash_key(v);
        out += std::to_string(part.size()) + ":" + part;
      }
      return out;
    }
    default: throw TemplateError{"unhashable type: '" + type_name(key) + "'"};
  }
}

const Value* Dict::find(const Value& key) const {
  const auto it = index.find(hash_key(key));
  return it == index.end() ? nullptr : &items[it->second].second;
}

void Dict::set(const Value& key, Value value) {
  const std::string h = hash_key(key);
  const int d = std::max(key.depth(), value.depth()) + 1;
  if (d > kMaxValueDepth) {
    throw TemplateError{"values nested deeper than " + std::to_string(kMaxValueDepth) + " levels"};
  }
  depth = std::max(depth, d);
  plain = plain && key.plain() && value.plain();
  const auto it = index.find(h);
  if (it != index.end()) {
    items[it->second].second = std::move(value);
    return;
  }
  index.emplace(h, items.size());
  items.emplace_back(key, std::move(value));
}

// ---- Python semantics ----------------------------------------------------------------------------

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::undefined:
    case Kind::none: return false;
    case Kind::boolean:
    case Kind::integer: return v.as_int() != 0;
    case Kind::floating: return v.as_double() != 0.0;
    case Kind::string: return !v.str().empty();
    case Kind::list:
    case Kind::tuple: return !v.items().empty();
    case Kind::dict: return !v.dict().items.empty();
    default: return true;
  }
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::undefined:
    case Kind::none: return true;
    case Kind::string: return a.str() == b.str();
    case Kind::list:
    case Kind::tuple: {
      if (a.tag() != b.tag()) return false;  // [1] != range(1, 2), d.keys() != ['a']
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::dict: {
      const Dict& x = a.dict();
      const Dict& y = b.dict();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equal(v, *other)) return false;
      }
      return true;
    }
    case Kind::ns: return &a.ns() == &b.ns();
    case Kind::callable: return &a.fn() == &b.fn();
    case Kind::loop: return &a.loop() == &b.loop();
    case Kind::generator: return &a.gen() == &b.gen();
    default: return false;
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.kind() == Kind::string && b.kind() == Kind::string) return a.str() < b.str();
  if (a.kind() == b.kind() && a.is_seq()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal(x[i], y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw TemplateError{"'<' not supported between instances of '" + type_name(a) + "' and '" +
                      type_name(b) + "'"};
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::undefined: return "Undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::list: {
      static const char* kNames[] = {"list", "dict_items", "dict_keys", "dict_values", "range"};
      return kNames[static_cast<int>(v.tag())];
    }
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::ns: return "Namespace";
    case Kind::callable: return v.fn().type == Callable::Type::macro ? "Macro" : "function";
    case Kind::loop: return "LoopContext";
    case Kind::generator: return v.gen().name;
  }
  return "object";
}

std::optional<int64_t> length(const Value& v) {
  switch (v.kind()) {
    case Kind::undefined: return 0;
    case Kind::string: return code_point_count(v.str());
    case Kind::list:
    case Kind::tuple: return static_cast<int64_t>(v.items().size());
    case Kind::dict: return static_cast<int64_t>(v.dict().items.size());
    case Kind::loop: return static_cast<int64_t>(v.loop().items->items.size());
    default: return std::nullopt;
  }
}

namespace {

void too_large(size_t max_bytes) {
  throw TemplateError{"the text of a value is longer than the limit of " + std::to_string(max_bytes) + " bytes"};
}

void check(const std::string& out, size_t max_bytes) {
  if (out.size() > max_bytes) too_large(max_bytes);
}

void repr_into(const Value& v, std::string& out, size_t max_bytes);

void dict_repr_into(const Dict& d, std::string& out, size_t max_bytes) {
  out += "{";
  for (size_t i = 0; i < d.items.size(); ++i) {
    if (i) out += ", ";
    repr_into(d.items[i].first, out, max_bytes);
    out += ": ";
    repr_into(d.items[i].second, out, max_bytes);
  }
  out += "}";
  check(out, max_bytes);
}

void str_into(const Value& v, std::string& out, size_t max_bytes) {
  switch (v.kind()) {
    case Kind::undefined: return;
    case Kind::none: out += "None"; return;
    case Kind::boolean: out += v.as_bool() ? "True" : "False"; return;
    case Kind::integer: out += std::to_string(v.as_int()); return;
    case Kind::floating: out += py_float_repr(v.as_double()); return;
    case Kind::string:
      if (out.size() + v.str().size() > max_bytes) too_large(max_bytes);
      out += v.str();
      return;
    case Kind::ns:
      out += "<Namespace ";
      dict_repr_into(v.ns().attrs, out, max_bytes);
      out += ">";
      return;
    case Kind::callable: {
      const Callable& c = v.fn();
      if (c.type == Callable::Type::macro) {
        out += "<Macro " + py_str_repr(c.name) + ">";
        return;
      }
      // Python prints a memory address here, which no template means to output.
      throw TemplateError{"cannot print " + (c.type == Callable::Type::method ? "the method '" + c.name + "'"
                                                                               : "the function '" + c.name + "'") +
                          " (Python would print a memory address); call it with ()"};
    }
    case Kind::generator:
      throw TemplateError{"cannot print the " + v.gen().name + " that jinja2's filters return (Python would "
                          "print a memory address); add |list"};
    case Kind::loop: {
      const LoopInfo& l = v.loop();
      out += "<LoopContext " + std::to_string(l.index0 + 1) + "/" + std::to_string(l.items->items.size()) + ">";
      return;
    }
    default: repr_into(v, out, max_bytes);
  }
}

void repr_into(const Value& v, std::string& out, size_t max_bytes) {
  switch (v.kind()) {
    case Kind::undefined: out += "Undefined"; return;
    case Kind::string:
      out += py_str_repr(v.str());
      check(out, max_bytes);
      return;
    case Kind::list:
    case Kind::tuple: {
      const SeqTag tag = v.tag();
      if (tag == SeqTag::range) {
        out += v.range_repr();
        return;
      }
      if (tag != SeqTag::none) out += tag == SeqTag::dict_items ? "dict_items(" : tag == SeqTag::dict_keys ? "dict_keys(" : "dict_values(";
      const bool tuple = v.kind() == Kind::tuple;
      out += tuple ? "(" : "[";
      const auto& items = v.items();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        repr_into(items[i], out, max_bytes);
        check(out, max_bytes);
      }
      if (tuple && items.size() == 1) out += ",";
      out += tuple ? ")" : "]";
      if (tag != SeqTag::none) out += ")";
      check(out, max_bytes);
      return;
    }
    case Kind::dict: dict_repr_into(v.dict(), out, max_bytes); return;
    default: str_into(v, out, max_bytes); check(out, max_bytes);
  }
}

}  // namespace

std::string to_str(const Value& v, size_t max_bytes) {
  std::string out;
  str_into(v, out, max_bytes);
  check(out, max_bytes);
  return out;
}

std::string to_repr(const Value& v, size_t max_bytes) {
  std::string out;
  repr_into(v, out, max_bytes);
  return out;
}

// ---- JSON ----------------------------------------------------------------------------------------

namespace {

std::string json_number(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f < 0 ? "-Infinity" : "Infinity";
  return py_float_repr(f);
}

std::string json_key(const Value& k) {
  switch (k.kind()) {
    case Kind::string: return k.str();
    case Kind::floating: return json_number(k.as_double());
    case Kind::boolean: return k.as_bool() ? "true" : "false";
    case Kind::none: return "null";
    case Kind::integer: return std::to_string(k.as_int());
    default:
      throw TemplateError{"keys must be str, int, float, bool or None, not " + type_name(k)};
  }
}

std::string indent_text(const JsonOptions& o, int level) {
  if (o.indent->size() * static_cast<size_t>(level) > o.max_bytes) too_large(o.max_bytes);
  std::string out;
  for (int i = 0; i < level; ++i) out += *o.indent;
  return out;
}

void dump(const Value& v, const JsonOptions& o, int level, std::string& out) {
  check(out, o.max_bytes);
  switch (v.kind()) {
    case Kind::none: out += "null"; return;
    case Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
    case Kind::integer: out += std::to_string(v.as_int()); return;
    case Kind::floating: out += json_number(v.as_double()); return;
    case Kind::string:
      out += json_quote(v.str());
      check(out, o.max_bytes);
      return;
    case Kind::list:
    case Kind::tuple: {
      if (v.tag() != SeqTag::none) {
        static const char* kNames[] = {"list", "dict_items", "dict_keys", "dict_values", "range"};
        throw TemplateError{std::string("Object of type ") + kNames[static_cast<int>(v.tag())] + " is not JSON serializable"};
      }
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += "[";
      const std::string nl = o.indent ? "\n" + indent_text(o, level + 1) : "";
      out += nl;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator + nl;
        dump(items[i], o, level + 1, out);
      }
      if (o.indent) out += "\n" + indent_text(o, level);
      out += "]";
      check(out, o.max_bytes);
      return;
    }
    case Kind::dict: {
      const Dict& d = v.dict();
      if (d.items.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : d.items) items.push_back(&kv);
      if (o.sort_keys) {
        std::stable_sort(items.begin(), items.end(),
                         [](const auto* a, const auto* b) { return less(a->first, b->first); });
      }
      out += "{";
      const std::string nl = o.indent ? "\n" + indent_text(o, level + 1) : "";
      out += nl;
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += o.item_separator + nl;
        out += json_quote(json_key(items[i]->first));
        out += o.key_separator;
        dump(items[i]->second, o, level + 1, out);
      }
      if (o.indent) out += "\n" + indent_text(o, level);
      out += "}";
      check(out, o.max_bytes);
      return;
    }
    default: {
      const std::string name = v.kind() == Kind::ns ? "TemplateNamespace" : type_name(v);
      throw TemplateError{"Object of type " + name + " is not JSON serializable"};
    }
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options) {
  std::string out;
  dump(v, options, 0, out);
  return out;
}

}  // namespace lightpeft::jinja
