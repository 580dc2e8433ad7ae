#include "lightpeft/io/torch_bin.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <unordered_map>
#include <vector>

#include <ATen/ops/empty.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

namespace {

// ---- values the unpickler can build --------------------------------------------------------------

// The typed storage classes a state dict names in its persistent ids.
struct StorageType {
  const char* global;  // "torch.FloatStorage"
  c10::ScalarType type;
};
constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", c10::ScalarType::Float},   {"torch.HalfStorage", c10::ScalarType::Half},
    {"torch.BFloat16Storage", c10::ScalarType::BFloat16},
    {"torch.DoubleStorage", c10::ScalarType::Double}, {"torch.LongStorage", c10::ScalarType::Long},
    {"torch.IntStorage", c10::ScalarType::Int},       {"torch.ShortStorage", c10::ScalarType::Short},
    {"torch.CharStorage", c10::ScalarType::Char},     {"torch.ByteStorage", c10::ScalarType::Byte},
    {"torch.BoolStorage", c10::ScalarType::Bool},
};

// The callables a state dict pickle may name; everything else is refused at the GLOBAL opcode,
// before it could be called.
constexpr const char* kCallables[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
};

struct StorageRef {
  std::string key;  // record name under data/
  c10::ScalarType type;
  int64_t numel;
};

struct TensorRef {
  std::shared_ptr<StorageRef> storage;
  int64_t offset = 0;
  std::vector<int64_t> sizes, strides;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
  Kind kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                   // String; Global: "module.name"
  std::vector<ValuePtr> items;                     // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> dict; // Dict, in insertion order (later keys win)
  std::shared_ptr<StorageRef> storage;             // Storage
  std::shared_ptr<TensorRef> tensor;               // Tensor

  static ValuePtr make(Kind k) {
    auto v = std::make_shared<Value>();
    v->kind = k;
    return v;
  }

  Value() = default;
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  // Tears nested containers down with a work list: a hostile pickle can nest tuples millions deep
  // (one byte per level), and the default recursive destruction would overflow the stack.
  ~Value() {
    std::vector<ValuePtr> work;
    steal_children(work);
    while (!work.empty()) {
      ValuePtr v = std::move(work.back());
      work.pop_back();
      if (v.use_count() == 1) v->steal_children(work);
    }  // each v dies here with no children left
  }
  void steal_children(std::vector<ValuePtr>& out) {
    for (auto& c : items) out.push_back(std::move(c));
    for (auto& [k, val] : dict) {
      out.push_back(std::move(k));
      out.push_back(std::move(val));
    }
    items.clear();
    dict.clear();
  }
};

const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Global: return "global";
    case Value::Kind::Storage: return "storage";
    case Value::Kind::Tensor: return "tensor";
  }
  return "?";
}

// ---- the unpickler -------------------------------------------------------------------------------

// Executes the subset of pickle opcodes that torch.save emits (protocol 2, plus the protocol 4
// framing opcodes) over a byte buffer. It never imports or calls anything: GLOBAL resolves only
// names from the allow-lists above, and REDUCE/BINPERSID/BUILD interpret those names themselves.
class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string origin)
      : data_(data), size_(size), origin_(std::move(origin)) {}

  // Containers can be made to contain themselves (memo + APPEND); empty them all so that such
  // cycles of shared_ptrs are freed.
  ~Unpickler() {
    std::vector<ValuePtr> garbage;
    for (auto& weak : containers_)
      if (auto c = weak.lock()) c->steal_children(garbage);
  }
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  ValuePtr run() {
    while (true) {
      const size_t at = pos_;
      const uint8_t op = u8();
      if (op == '.') break;  // STOP
      step(op, at);
    }
    LP_CHECK(stack_.size() == 1, where(), "pickle ended with ", stack_.size(),
             " values on the stack, expected 1");
    return stack_.back();
  }

 private:
  [[noreturn]] void fail(size_t at, const std::string& msg) const {
    throw_error(origin_, ": data.pkl offset ", at, ": ", msg);
  }
  std::string where() const { return origin_ + ": data.pkl: "; }

  // -- reading primitives (bounds-checked: the pickle is untrusted) --
  const uint8_t* take(size_t n) {
    if (n > size_ - pos_) fail(pos_, "truncated pickle (needs " + std::to_string(n) + " more bytes)");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8() { return *take(1); }
  uint64_t uint_le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(p[k]) << (8 * k);
    return v;
  }
  std::string bytes(uint64_t n) {
    if (n > size_ - pos_) fail(pos_, "string length " + std::to_string(n) + " runs past the pickle");
    const uint8_t* p = take(static_cast<size_t>(n));
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  std::string line() {
    size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail(start, "unterminated GLOBAL name");
    std::string s(reinterpret_cast<const char*>(data_ + start), pos_ - start);
    ++pos_;
    return s;
  }

  // -- stack helpers --
  void push(ValuePtr v) {
    if (v->kind == Value::Kind::Tuple || v->kind == Value::Kind::List || v->kind == Value::Kind::Dict)
      containers_.push_back(v);
    stack_.push_back(std::move(v));
  }
  ValuePtr pop(size_t at) {
    if (stack_.size() <= mark_floor()) fail(at, "stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top(size_t at) {
    if (stack_.size() <= mark_floor()) fail(at, "stack underflow");
    return stack_.back();
  }
  size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<ValuePtr> pop_mark(size_t at) {
    if (marks_.empty()) fail(at, "MARK expected");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + m),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  ValuePtr make_int(int64_t v) {
    auto p = Value::make(Value::Kind::Int);
    p->i = v;
    return p;
  }
  ValuePtr make_string(std::string s) {
    auto p = Value::make(Value::Kind::String);
    p->s = std::move(s);
    return p;
  }
  ValuePtr make_tuple(std::vector<ValuePtr> items) {
    auto p = Value::make(Value::Kind::Tuple);
    p->items = std::move(items);
    return p;
  }
  void memo_put(uint64_t index, size_t at) { memo_[index] = top(at); }
  void memo_get(uint64_t index, size_t at) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail(at, "memo key " + std::to_string(index) + " not found");
    push(it->second);
  }

  void set_items(const ValuePtr& dict, std::vector<ValuePtr> kv, size_t at) {
    if (dict->kind != Value::Kind::Dict) fail(at, std::string("SETITEM(S) on a ") + kind_name(dict->kind));
    if (kv.size() % 2) fail(at, "SETITEMS with an odd number of values");
    for (size_t k = 0; k < kv.size(); k += 2) dict->dict.emplace_back(kv[k], kv[k + 1]);
  }
  void append_items(const ValuePtr& list, std::vector<ValuePtr> items, size_t at) {
    if (list->kind != Value::Kind::List) fail(at, std::string("APPEND(S) on a ") + kind_name(list->kind));
    for (auto& v : items) list->items.push_back(std::move(v));
  }

  // Resolves a global against the allow-lists; this is the security boundary.
  ValuePtr global(const std::string& module, const std::string& name, size_t at) {
    const std::string full = module + "." + name;
    bool allowed = false;
    for (const char* c : kCallables) allowed |= full == c;
    for (const auto& st : kStorageTypes) allowed |= full == st.global;
    if (!allowed) {
      fail(at, "refusing to load global '" + full +
                   "': only state dicts of plain tensors are supported (allowed: collections."
                   "OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter, "
                   "torch.*Storage)");
    }
    auto v = Value::make(Value::Kind::Global);
    v->s = full;
    return v;
  }

  const StorageType* storage_type(const Value& v) const {
    if (v.kind != Value::Kind::Global) return nullptr;
    for (const auto& st : kStorageTypes)
      if (v.s == st.global) return &st;
    return nullptr;
  }

  // BINPERSID: ('storage', <storage class>, key, location, numel) as torch.save writes it.
  ValuePtr persistent_load(const ValuePtr& pid, size_t at) {
    const auto& t = pid->items;
    if (pid->kind != Value::Kind::Tuple || t.size() != 5 || t[0]->kind != Value::Kind::String ||
        t[0]->s != "storage") {
      fail(at, "unsupported persistent id (expected ('storage', type, key, location, numel))");
    }
    const StorageType* st = storage_type(*t[1]);
    if (!st) fail(at, std::string("persistent id names a ") + kind_name(t[1]->kind) + ", not a storage type");
    if (t[2]->kind != Value::Kind::String || t[4]->kind != Value::Kind::Int || t[4]->i < 0)
      fail(at, "malformed storage persistent id");
    auto& ref = storages_[t[2]->s];
    if (!ref) {
      ref = std::make_shared<StorageRef>(StorageRef{t[2]->s, st->type, t[4]->i});
    } else if (ref->type != st->type || ref->numel != t[4]->i) {
      fail(at, "storage '" + t[2]->s + "' is used with two different types or sizes");
    }
    auto v = Value::make(Value::Kind::Storage);
    v->storage = ref;
    return v;
  }

  std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what, size_t at) {
    if (v->kind != Value::Kind::Tuple) fail(at, std::string(what) + " must be a tuple of ints");
    std::vector<int64_t> out;
    for (const auto& e : v->items) {
      if (e->kind != Value::Kind::Int) fail(at, std::string(what) + " must be a tuple of ints");
      out.push_back(e->i);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, size_t at) {
    if (a.size() < 6 || a.size() > 7 || a[0]->kind != Value::Kind::Storage ||
        a[1]->kind != Value::Kind::Int) {
      fail(at, "malformed _rebuild_tensor_v2 arguments");
    }
    if (a.size() == 7 && a[6]->kind == Value::Kind::Dict && !a[6]->dict.empty())
      fail(at, "tensors with extra metadata (conj/neg views) are not supported");
    auto ref = std::make_shared<TensorRef>();
    ref->storage = a[0]->storage;
    ref->offset = a[1]->i;
    ref->sizes = int_tuple(a[2], "tensor size", at);
    ref->strides = int_tuple(a[3], "tensor stride", at);
    if (ref->sizes.size() != ref->strides.size()) fail(at, "tensor size and stride differ in length");
    auto v = Value::make(Value::Kind::Tensor);
    v->tensor = std::move(ref);
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args, size_t at) {
    if (callable->kind != Value::Kind::Global) fail(at, "REDUCE on a non-callable");
    if (args->kind != Value::Kind::Tuple) fail(at, "REDUCE arguments must be a tuple");
    const std::string& f = callable->s;
    const auto& a = args->items;
    if (f == "collections.OrderedDict") {
      auto d = Value::make(Value::Kind::Dict);
      if (a.size() == 1 && a[0]->kind == Value::Kind::List) {  // OrderedDict([(k, v), ...])
        for (const auto& pair : a[0]->items) {
          if (pair->kind != Value::Kind::Tuple || pair->items.size() != 2)
            fail(at, "OrderedDict items must be pairs");
          d->dict.emplace_back(pair->items[0], pair->items[1]);
        }
      } else if (!a.empty()) {
        fail(at, "unsupported OrderedDict arguments");
      }
      return d;
    }
    if (f == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(a, at);
    if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Value::Kind::Tensor) fail(at, "malformed " + f + " arguments");
      return a[0];  // a Parameter's data is the tensor; requires_grad and hooks do not matter here
    }
    fail(at, "'" + f + "' cannot be called");
  }

  void step(uint8_t op, size_t at) {
    switch (op) {
      case 0x80: u8(); break;                     // PROTO
      case 0x95: uint_le(8); break;               // FRAME: framing only, data follows inline
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '}': push(Value::make(Value::Kind::Dict)); break;
      case ']': push(Value::make(Value::Kind::List)); break;
      case ')': push(make_tuple({})); break;
      case 'N': push(Value::make(Value::Kind::None)); break;
      case 0x88:
      case 0x89: {                                // NEWTRUE / NEWFALSE
        auto v = Value::make(Value::Kind::Bool);
        v->b = op == 0x88;
        push(v);
        break;
      }
      case 'J': push(make_int(static_cast<int32_t>(uint_le(4)))); break;  // BININT
      case 'K': push(make_int(static_cast<int64_t>(uint_le(1)))); break;  // BININT1
      case 'M': push(make_int(static_cast<int64_t>(uint_le(2)))); break;  // BININT2
      case 0x8a: {                                // LONG1: little-endian two's complement
        size_t n = u8();
        if (n > 8) fail(at, "integer too large");
        uint64_t v = uint_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(make_int(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {                                 // BINFLOAT: big-endian IEEE double
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
        auto v = Value::make(Value::Kind::Float);
        std::memcpy(&v->f, &bits, 8);
        push(v);
        break;
      }
      case 'X': push(make_string(bytes(uint_le(4)))); break;   // BINUNICODE
      case 0x8c: push(make_string(bytes(uint_le(1)))); break;  // SHORT_BINUNICODE
      case 0x8d: push(make_string(bytes(uint_le(8)))); break;  // BINUNICODE8
      case 'T': push(make_string(bytes(uint_le(4)))); break;   // BINSTRING
      case 'U': push(make_string(bytes(uint_le(1)))); break;   // SHORT_BINSTRING
      case 'c': {                                 // GLOBAL "module\nname\n"
        std::string module = line();
        std::string name = line();
        push(global(module, name, at));
        break;
      }
      case 0x93: {                                // STACK_GLOBAL
        ValuePtr name = pop(at), module = pop(at);
        if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
          fail(at, "STACK_GLOBAL needs two strings");
        push(global(module->s, name->s, at));
        break;
      }
      case 't': push(make_tuple(pop_mark(at))); break;  // TUPLE
      case 0x85: {
        auto a = pop(at);
        push(make_tuple({a}));
        break;
      }
      case 0x86: {
        auto b = pop(at), a = pop(at);
        push(make_tuple({a, b}));
        break;
      }
      case 0x87: {
        auto c = pop(at), b = pop(at), a = pop(at);
        push(make_tuple({a, b, c}));
        break;
      }
      case 'Q': {                                 // BINPERSID
        auto pid = pop(at);
        push(persistent_load(pid, at));
        break;
      }
      case 'R': {                                 // REDUCE
        auto args = pop(at), callable = pop(at);
        push(reduce(callable, args, at));
        break;
      }
      case 'b': {                                 // BUILD: object state, e.g. a state dict's _metadata
        auto state = pop(at);
        const auto& target = top(at);
        if (target->kind != Value::Kind::Dict)
          fail(at, std::string("BUILD on a ") + kind_name(target->kind) + " is not supported");
        break;  // the attributes (OrderedDict.__dict__) are not part of the tensors; ignore them
      }
      case 's': {                                 // SETITEM
        auto v = pop(at), k = pop(at);
        set_items(top(at), {k, v}, at);
        break;
      }
      case 'u': {                                 // SETITEMS
        auto kv = pop_mark(at);
        set_items(top(at), std::move(kv), at);
        break;
      }
      case 'a': {                                 // APPEND
        auto v = pop(at);
        append_items(top(at), {v}, at);
        break;
      }
      case 'e': {                                 // APPENDS
        auto items = pop_mark(at);
        append_items(top(at), std::move(items), at);
        break;
      }
      case 'q': memo_put(uint_le(1), at); break;  // BINPUT
      case 'r': memo_put(uint_le(4), at); break;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size(), at); break;  // MEMOIZE
      case 'h': memo_get(uint_le(1), at); break;  // BINGET
      case 'j': memo_get(uint_le(4), at); break;  // LONG_BINGET
      case '0': pop(at); break;                   // POP
      case '1': pop_mark(at); break;              // POP_MARK
      case '2': push(top(at)); break;             // DUP
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(at, std::string("unsupported pickle opcode ") + hex +
                     " (not something torch.save writes for a state dict)");
      }
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string origin_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  std::unordered_map<std::string, std::shared_ptr<StorageRef>> storages_;
  std::vector<std::weak_ptr<Value>> containers_;
};

// ---- zip archive -> tensors ----------------------------------------------------------------------

// Fails clearly on anything that is not a zip archive, legacy torch.save pickles in particular.
void check_zip_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error(path.string(), ": cannot open: ", std::strerror(errno));
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return;
  if (in.gcount() >= 1 && static_cast<unsigned char>(magic[0]) == 0x80) {
    throw_error(path.string(), ": legacy (non-zip) torch.save file; only the zip format written by "
                "torch >= 1.6 is supported (re-save it with a recent torch, or convert it to safetensors)");
  }
  throw_error(path.string(), ": not a PyTorch checkpoint: expected a zip archive (torch.save, "
              "torch >= 1.6)");
}

std::string read_record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [ptr, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(ptr.get()), size);
}

// Reads each storage once; tensors are views into these until materialized.
class StorageCache {
 public:
  StorageCache(caffe2::serialize::PyTorchStreamReader& reader, std::string origin)
      : reader_(reader), origin_(std::move(origin)) {}

  at::Tensor get(const StorageRef& ref) {
    auto it = cache_.find(ref.key);
    if (it != cache_.end()) return it->second;
    const std::string record = "data/" + ref.key;
    LP_CHECK(reader_.hasRecord(record), origin_, ": storage record '", record, "' is missing");
    // Compare with the record before allocating: numel comes from the untrusted pickle.
    uint64_t expected = 0;
    LP_CHECK(!__builtin_mul_overflow(static_cast<uint64_t>(ref.numel), c10::elementSize(ref.type),
                                     &expected),
             origin_, ": storage '", record, "': size overflows");
    const size_t actual = reader_.getRecordSize(record);
    LP_CHECK(actual == expected, origin_, ": storage '", record, "' has ", actual, " bytes, expected ",
             expected, " (", ref.numel, " x ", c10::toString(ref.type), ")");
    at::Tensor t = at::empty({ref.numel}, at::TensorOptions().dtype(ref.type));
    if (expected) reader_.getRecord(record, t.data_ptr(), expected);
    cache_.emplace(ref.key, t);
    return t;
  }

 private:
  caffe2::serialize::PyTorchStreamReader& reader_;
  std::string origin_;
  std::unordered_map<std::string, at::Tensor> cache_;
};

// Checks that the view stays inside its storage (the pickle is untrusted), then copies it out
// unless it is the sole, whole, contiguous user of its storage.
at::Tensor materialize(const TensorRef& ref, StorageCache& cache, bool sole_user,
                       const std::string& origin, const std::string& key) {
  const StorageRef& st = *ref.storage;
  LP_CHECK(ref.offset >= 0, origin, ": tensor '", key, "': negative storage offset");
  int64_t numel = 1, last = ref.offset, expected_stride = 1;
  bool contiguous = true;
  for (size_t d = ref.sizes.size(); d-- > 0;) {
    const int64_t size = ref.sizes[d], stride = ref.strides[d];
    LP_CHECK(size >= 0 && stride >= 0, origin, ": tensor '", key, "': negative size or stride");
    LP_CHECK(!__builtin_mul_overflow(numel, size, &numel), origin, ": tensor '", key, "': size overflows");
    if (size > 1 && stride != expected_stride) contiguous = false;
    expected_stride *= size > 0 ? size : 1;
    int64_t span = 0;
    if (size > 0) {
      LP_CHECK(!__builtin_mul_overflow(size - 1, stride, &span) &&
                   !__builtin_add_overflow(last, span, &last),
               origin, ": tensor '", key, "': strides overflow");
    }
  }
  LP_CHECK(numel == 0 || last < st.numel, origin, ": tensor '", key, "': view (offset ", ref.offset,
           ") reaches element ", last, " of storage '", st.key, "' which has ", st.numel);
  at::Tensor storage = cache.get(st);
  at::Tensor view = storage.as_strided(ref.sizes, ref.strides, ref.offset);
  if (sole_user && contiguous && ref.offset == 0 && numel == st.numel) return view;
  return view.clone(at::MemoryFormat::Contiguous);
}

StateDict to_state_dict(const Value& root, StorageCache& cache, const std::string& origin) {
  LP_CHECK(root.kind == Value::Kind::Dict, origin, ": expected a state dict (OrderedDict of tensors) ",
           "at the top level, got a ", kind_name(root.kind));
  std::unordered_map<const StorageRef*, int> users;
  for (const auto& [k, v] : root.dict)
    if (v->kind == Value::Kind::Tensor) ++users[v->tensor->storage.get()];

  StateDict out;
  for (const auto& [k, v] : root.dict) {
    LP_CHECK(k->kind == Value::Kind::String, origin, ": state dict key is a ", kind_name(k->kind),
             ", expected a string");
    LP_CHECK(v->kind == Value::Kind::Tensor, origin, ": key '", k->s, "' holds a ", kind_name(v->kind),
             ", expected a tensor");
    const bool sole = users[v->tensor->storage.get()] == 1;
    out[k->s] = materialize(*v->tensor, cache, sole, origin, k->s);
  }
  return out;
}

}  // namespace

StateDict load_torch_bin(const std::filesystem::path& path) {
  const std::string origin = path.string();
  check_zip_magic(path);
  try {
    caffe2::serialize::PyTorchStreamReader reader(origin);
    LP_CHECK(reader.hasRecord("data.pkl"), origin,
             ": zip archive has no data.pkl: not a torch.save checkpoint (TorchScript archives are "
             "not supported)");
    if (reader.hasRecord("byteorder")) {
      const std::string order = read_record(reader, "byteorder");
      LP_CHECK(order == "little", origin, ": byteorder '", order, "' is not supported (little only)");
    }
    const std::string pickle = read_record(reader, "data.pkl");
    Unpickler unpickler(reinterpret_cast<const uint8_t*>(pickle.data()), pickle.size(), origin);
    ValuePtr root = unpickler.run();
    StorageCache cache(reader, origin);
    StateDict out = to_state_dict(*root, cache, origin);
    log::debug("loaded ", out.size(), " tensors from ", origin);
    return out;
  } catch (const c10::Error& e) {
    throw_error(origin, ": cannot read the torch.save zip archive: ", e.what_without_backtrace());
  }
}

}  // namespace lightpeft
