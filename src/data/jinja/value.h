#pragma once
// The values a chat template computes with, modelled on the Python objects jinja2 hands around:
// undefined, None, bool, int, float, str, list, tuple, dict (insertion-ordered), namespace(),
// callables (builtins, bound methods, macros) and the `loop` object. Lists, tuples and dicts are
// immutable once built (transformers renders in jinja2's ImmutableSandboxedEnvironment, which
// forbids append/update/...), so they are shared, not copied; a namespace is the one mutable value.
//
// Operations that Python would refuse raise TemplateError (message only); the interpreter adds the
// template origin and the line:column of the expression.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lightpeft::jinja {

// An error without a position yet: the interpreter rethrows it as lightpeft::Error with one.
struct TemplateError {
  std::string message;
};

enum class Kind : uint8_t {
  undefined, none, boolean, integer, floating, string, list, tuple, dict, ns, callable, loop, generator
};

// Python objects lightpeft keeps as lists but that print and serialise differently: dict views
// (d.items(), d.keys(), d.values()) and range(). Views cannot be indexed; none are JSON.
enum class SeqTag : uint8_t { none, dict_items, dict_keys, dict_values, range };

struct Seq;
struct Dict;
struct Namespace;
struct Callable;
struct LoopInfo;
struct Generator;

// Containers deeper than this are refused: values are printed, compared and freed recursively.
constexpr int kMaxValueDepth = 100;

class Value {
 public:
  Value() = default;  // undefined, no hint
  static Value undefined(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double f);
  static Value string(std::string s);
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value tagged_list(std::vector<Value> items, SeqTag tag, std::string range_repr = {});
  static Value dict(std::shared_ptr<const Dict> d);
  static Value ns(std::shared_ptr<Namespace> n);
  static Value callable(std::shared_ptr<const Callable> c);
  static Value loop(std::shared_ptr<const LoopInfo> l);
  static Value generator(std::shared_ptr<Generator> g);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_seq() const { return kind_ == Kind::list || kind_ == Kind::tuple; }
  bool is_dict() const { return kind_ == Kind::dict; }
  // bool, int or float (Python's bool is an int).
  bool is_number() const {
    return kind_ == Kind::boolean || kind_ == Kind::integer || kind_ == Kind::floating;
  }
  bool is_integral() const { return kind_ == Kind::boolean || kind_ == Kind::integer; }

  bool as_bool() const { return i_ != 0; }
  int64_t as_int() const { return i_; }  // bool or int
  double as_double() const { return kind_ == Kind::floating ? f_ : static_cast<double>(i_); }
  const std::string& str() const;            // string; the hint of an undefined
  const std::vector<Value>& items() const;   // list or tuple
  SeqTag tag() const;                        // list: a dict view or range()
  const std::string& range_repr() const;
  const Dict& dict() const;
  Namespace& ns() const;
  const Callable& fn() const;
  const LoopInfo& loop() const;
  Generator& gen() const;
  // Nesting depth (0 for scalars) and whether only plain data (none, bools, numbers, strings and
  // lists/dicts of them) is inside: namespaces may hold plain data only, so that no cycle and no
  // long chain of objects can be built.
  int depth() const;
  bool plain() const;

  std::shared_ptr<const Dict> dict_ptr() const;
  std::shared_ptr<Namespace> ns_ptr() const;

 private:
  Kind kind_ = Kind::undefined;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<void> p_;
};

struct Seq {
  std::vector<Value> items;
  int depth = 1;
  bool plain = true;
  SeqTag tag = SeqTag::none;
  std::string range_repr;  // "range(0, 3)"
};

// A dict with Python's key semantics (1, 1.0 and True are one key) and insertion order.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  std::unordered_map<std::string, size_t> index;  // hash_key(key) -> position in items
  int depth = 1;
  bool plain = true;

  const Value* find(const Value& key) const;
  // Inserts or replaces (keeping the first position, as Python does).
  void set(const Value& key, Value value);
};

struct Namespace {
  Dict attrs;
};

// Per-iteration state behind `loop`.
struct LoopInfo {
  std::shared_ptr<const Seq> items;
  int64_t index0 = 0;
};

// What jinja2's map/select/reject/selectattr/rejectattr/unique/items filters (and reverse of a list)
// return: a one-shot Python generator. It is truthy even when empty, has no len(), and iterating it
// consumes it. lightpeft computes the items up front; an error on the way is kept and raised when
// the generator is iterated, as Python raises it only then.
struct Generator {
  std::string name;  // Python's type name, for messages
  std::vector<Value> items;
  size_t pos = 0;
  std::optional<std::string> error;
  int depth = 1;
  bool plain = true;  // only plain data in items (it may then be stored in a namespace)
};

struct MacroDef;  // parser node
struct Scope;     // interpreter scope

struct Callable {
  enum class Type { builtin, method, macro, cycle };
  Type type = Type::builtin;
  std::string name;  // builtin function or method name
  Value self;        // the bound object of a method; the loop of loop.cycle
  const MacroDef* macro = nullptr;
  std::shared_ptr<Scope> closure;  // where the macro was defined
};

// Python's key normalisation for dict lookups; throws TemplateError for unhashable keys.
std::string hash_key(const Value& key);

// Python semantics.
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
// a < b; throws TemplateError for types Python cannot order.
bool less(const Value& a, const Value& b);
// str(v) and repr(v); the loop object and callables print as Python would name them. A result
// longer than max_bytes throws TemplateError (a list of a million references to one long string
// would otherwise print gigabytes).
std::string to_str(const Value& v, size_t max_bytes = SIZE_MAX);
std::string to_repr(const Value& v, size_t max_bytes = SIZE_MAX);
// The Python type name used in error messages ("str", "int", "NoneType", "dict", ...).
std::string type_name(const Value& v);
// Code point length of a string, item count of a list/tuple/dict; nullopt for other types.
std::optional<int64_t> length(const Value& v);

struct JsonOptions {
  std::optional<std::string> indent;  // nullopt: one line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  size_t max_bytes = SIZE_MAX;  // a longer result throws TemplateError
};
// json.dumps(v, ensure_ascii=False, ...) as transformers' tojson filter calls it.
std::string to_json(const Value& v, const JsonOptions& options);

}  // namespace lightpeft::jinja
