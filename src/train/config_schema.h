#pragma once
// The machinery of the config schema. train_config.cpp declares every key once, as a field bound to
// a member of the typed struct (whose initialiser is the key's default):
//
//   key(&OptimConfig::learning_rate, "learning_rate", above(0), "AdamW base rate").renamed_from({"lr"})
//
// and that one declaration reads the key from YAML (type errors name file:line, or the `--set` that
// set it), checks its rule (NaN is outside every range), writes it to the resolved config.yaml and
// documents it (config_doc.cpp generates docs/configuration.md). The value's type picks how it is
// read and written: integer, number, boolean, string, path ("~/" expanded), list of strings (or one
// "a,b" string), or an enum with a name table (core/enum_names.h). A section is a list of fields;
// checks across keys are explicit code run after every key's own check.
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "lightpeft/core/enum_names.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft::config {

// What the docs show of a key, and of a section.
struct KeyDoc {
  std::string name, type, default_value, allowed, doc;
  std::vector<std::string> former_names;  // old names, answered with a did-you-mean
};
struct SectionText {
  std::string name;                   // "" at the top level, else the section's key
  std::string heading, intro, outro;  // after `name:` in its heading; markdown around its table
};
struct SectionDoc : SectionText {
  std::vector<KeyDoc> keys;                 // in order
  std::vector<const SectionDoc*> sections;  // nested sections, in order
};

// What one parse shares across its sections: where the text came from, which keys `--set` overrides
// changed (errors about them name the override, not a line of the file), and every section's keys
// (for cross-section suggestions such as `learning_rate` -> `training.learning_rate`).
struct ParseContext {
  std::string origin;
  std::map<std::string, std::string> overrides;                       // dotted key -> value as given
  std::map<std::string, std::set<std::string>> known;                 // section path -> its keys
  std::map<std::string, std::map<std::string, std::string>> renamed;  // section path -> old -> new
};

// One YAML mapping (a section) of the document.
class Reader {
 public:
  Reader(YAML::Node node, ParseContext* ctx, std::string path);
  // Each leaves `out` as it is when the key is absent or null (so `--set key=` restores the default).
  template <typename T>
  void get(const char* key, T& out) const;                   // bool, int64_t, double, std::string
  void get(const char* key, std::filesystem::path& out) const;  // a leading "~/" is the home directory
  void get(const char* key, std::vector<std::string>& out) const;  // a list, or one "a,b" string
  Reader child(const char* key) const;
  bool has(const char* key) const;  // present and not null
  // Every key the schema does not know is an error that suggests the nearest known key of this
  // section (or, at the top level, a section holding that key), else lists the allowed ones.
  void reject_unknown_keys() const;
  // An error about the key `qkey` (dotted) at `at`: blamed on the `--set` that put it there, or on
  // the file and line.
  [[noreturn]] void fail(const YAML::Node& at, const std::string& qkey, const std::string& message) const;
  [[noreturn]] void fail_key(const std::string& key, const std::string& message) const;  // "key 'k': ..."

 private:
  YAML::Node value(const char* key) const;  // the key's node; an undefined node when absent or null
  std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  YAML::Node node_;
  ParseContext* ctx_;
  std::string path_;
};

template <typename T>
void Reader::get(const char* key, T& out) const {
  const YAML::Node v = value(key);
  if (!v) return;
  const char* type = std::is_same_v<T, bool> ? "boolean (true/false)"
                     : std::is_integral_v<T> ? "integer"
                     : std::is_floating_point_v<T> ? "number"
                                                   : "string";
  if (v.IsScalar()) {
    try {
      out = v.as<T>();
      return;
    } catch (const YAML::Exception&) {
    }
  }
  fail(v, qualified(key), "key '" + qualified(key) + "': expected a " + type +
                              (v.IsScalar() ? ", got '" + v.Scalar() + "'" : ""));
}

// A number as short as it reads back exactly: 3e-4, 0.05, 16, 0.333333333.
std::string number_text(double v);

// ---- rules: what a value must be beyond its type ---------------------------------------------------
template <typename T>
struct Rule {
  std::function<std::string(const T&)> check;  // "" when the value is fine, else the message
  std::string allowed;                          // for the docs
  std::string shown_default;                    // for the docs, instead of the value ("(required)")
};

// lo <= v (lo < v when lo_open) and v <= hi (v < hi when hi_open); "expected <text>, got <v>".
struct Range {
  double lo, hi;
  bool lo_open, hi_open;
  std::string text;
  template <typename T>
  Rule<T> rule() const {
    return {[r = *this](const T& v) {
              const double x = static_cast<double>(v);
              const bool ok = (r.lo_open ? x > r.lo : x >= r.lo) && (r.hi_open ? x < r.hi : x <= r.hi);
              if (ok) return std::string();
              return "expected " + r.text + ", got " + (std::is_integral_v<T> ? std::to_string(v) : number_text(x));
            },
            text, ""};
  }
};
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline Range positive(const std::string& noun = "integer") { return {1, kInf, false, false, "a positive " + noun}; }
inline Range above(double lo) { return {lo, kInf, true, false, "> " + number_text(lo)}; }
inline Range at_least(double lo) { return {lo, kInf, false, false, ">= " + number_text(lo)}; }
inline Range ratio() { return {0, 1, false, true, "a ratio in [0, 1)"}; }
inline Range in_unit_interval() { return {0, 1, false, true, "a number in [0, 1)"}; }

// An empty value (string, path, list) is an error: "required" + note.
struct Required {
  std::string message;
  template <typename T>
  Rule<T> rule() const {
    return {[m = message](const T& v) { return v.empty() ? m : std::string(); }, "", "(required)"};
  }
};
inline Required required(const std::string& note = "") { return {note.empty() ? "required" : "required " + note}; }

// ---- how each value type is read, written and documented ----------------------------------------
// `auto` or an integer.
void read_steps_or_auto(const Reader& r, const char* key, StepsOrAuto& v);

template <typename T>
void read_value(const Reader& r, const char* key, T& v) {
  if constexpr (std::is_same_v<T, StepsOrAuto>) {
    read_steps_or_auto(r, key, v);
  } else if constexpr (has_enum_names<T>) {
    std::string name = to_string(v);
    r.get(key, name);
    const auto parsed = parse_enum<T>(name);
    if (!parsed) r.fail_key(key, "'" + name + "' is not one of: " + enum_names<T>());
    v = *parsed;
  } else {
    r.get(key, v);
  }
}

template <typename T>
void write_value(YAML::Emitter& e, const T& v) {
  if constexpr (has_enum_names<T>) e << to_string(v);
  else if constexpr (std::is_same_v<T, StepsOrAuto>) v.automatic ? (e << "auto") : (e << v.steps);
  else if constexpr (std::is_same_v<T, std::filesystem::path>) e << v.string();
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) e << YAML::Flow << v;
  else e << v;
}

template <typename T>
std::string type_doc() {
  if constexpr (std::is_same_v<T, bool>) return "boolean";
  else if constexpr (std::is_same_v<T, StepsOrAuto>) return "integer or `auto`";
  else if constexpr (std::is_integral_v<T>) return "integer";
  else if constexpr (std::is_floating_point_v<T>) return "number";
  else if constexpr (std::is_same_v<T, std::filesystem::path>) return "path";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "list of strings";
  else return "string";
}

template <typename T>
std::string value_doc(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_same_v<T, StepsOrAuto>) return v.automatic ? "`auto`" : std::to_string(v.steps);
  else if constexpr (std::is_integral_v<T>) return std::to_string(v);
  else if constexpr (std::is_floating_point_v<T>) return number_text(v);
  else if constexpr (has_enum_names<T>) return "`" + to_string(v) + "`";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    std::string s;
    for (const auto& item : v) s += (s.empty() ? "" : ", ") + item;
    return "`[" + s + "]`";
  } else {
    const std::string s = std::filesystem::path(v).string();
    return s.empty() ? "" : "`" + s + "`";
  }
}

// ---- fields and sections ------------------------------------------------------------------------
template <typename S>
struct Field {
  KeyDoc doc;
  const SectionDoc* section = nullptr;  // set for a nested section
  std::function<void(const Reader&, S&)> read;
  std::function<std::string(const S&)> check;  // empty: no rule
  std::function<void(YAML::Emitter&, const S&)> write;
  std::function<bool(const S&)> at_default;
  bool written_at_default = true;

  // The resolved config.yaml omits this key while it has its default. For keys added after runs
  // exist: a resume compares config.yaml byte for byte, so a newly written key would refuse them.
  Field&& only_written_if_set() && { written_at_default = false; return std::move(*this); }
  Field&& shown_default(std::string text) && { doc.default_value = std::move(text); return std::move(*this); }
  // Earlier names of the key: a config using one is told the new name.
  Field&& renamed_from(std::vector<std::string> names) && {
    doc.former_names = std::move(names);
    return std::move(*this);
  }
};

template <typename S>
struct Schema {
  SectionDoc doc;
  std::vector<Field<S>> fields;
  std::function<void(const Reader&, const S&)> cross_checks;  // after every key's own check

  Schema(SectionText text, std::vector<Field<S>> f, std::function<void(const Reader&, const S&)> x = {})
      : fields(std::move(f)), cross_checks(std::move(x)) {
    static_cast<SectionText&>(doc) = std::move(text);
    for (const auto& field : fields)
      field.section ? doc.sections.push_back(field.section) : doc.keys.push_back(field.doc);
  }
};

// A key bound to `member`, with an optional rule (a Rule<T>, or a Range or Required).
template <typename S, typename T>
Field<S> key(T S::*member, const char* name, Rule<T> rule, const char* doc) {
  const T def = S{}.*member;
  Field<S> f;
  f.doc = {name, type_doc<T>(), rule.shown_default.empty() ? value_doc(def) : rule.shown_default, rule.allowed, doc, {}};
  if constexpr (has_enum_names<T>) f.doc.allowed = enum_names<T>("`");
  f.read = [member, name](const Reader& r, S& s) { read_value(r, name, s.*member); };
  if (rule.check) f.check = [member, check = rule.check](const S& s) { return check(s.*member); };
  f.write = [member, name](YAML::Emitter& e, const S& s) {
    e << YAML::Key << name << YAML::Value;
    write_value(e, s.*member);
  };
  f.at_default = [member, def](const S& s) { return s.*member == def; };
  return f;
}
template <typename S, typename T, typename R, typename = decltype(std::declval<R>().template rule<T>())>
Field<S> key(T S::*member, const char* name, const R& rule, const char* doc) {
  return key(member, name, rule.template rule<T>(), doc);
}
template <typename S, typename T>
Field<S> key(T S::*member, const char* name, const char* doc) {
  return key(member, name, Rule<T>{}, doc);
}

template <typename S>
void read_section(const Reader& r, const Schema<S>& schema, S& out) {
  for (const auto& f : schema.fields) f.read(r, out);
  r.reject_unknown_keys();
  for (const auto& f : schema.fields)
    if (f.check)
      if (const std::string message = f.check(out); !message.empty()) r.fail_key(f.doc.name, message);
  if (schema.cross_checks) schema.cross_checks(r, out);
}

template <typename S>
void write_section(YAML::Emitter& e, const Schema<S>& schema, const S& value) {
  for (const auto& f : schema.fields)
    if (f.written_at_default || !f.at_default(value)) f.write(e, value);
}

// A nested section: `member` is the section's struct, or a std::optional of it (present only when
// the YAML has the section).
template <typename S, typename M, typename C>
Field<S> section(M S::*member, const Schema<C>& child) {
  constexpr bool optional = !std::is_same_v<M, C>;
  const char* name = child.doc.name.c_str();  // the schemas are static
  Field<S> f;
  f.doc.name = name;
  f.section = &child.doc;
  f.read = [member, name, &child](const Reader& r, S& s) {
    if constexpr (optional) {
      if (r.has(name)) read_section(r.child(name), child, (s.*member).emplace());
    } else {
      read_section(r.child(name), child, s.*member);
    }
  };
  f.write = [member, name, &child](YAML::Emitter& e, const S& s) {
    const C* value = nullptr;
    if constexpr (optional) value = s.*member ? &*(s.*member) : nullptr;
    else value = &(s.*member);
    if (!value) return;
    e << YAML::Key << name << YAML::Value << YAML::BeginMap;
    write_section(e, child, *value);
    e << YAML::EndMap;
  };
  return f;
}

// The document's top-level mapping with the overrides applied (ctx.overrides records them); throws
// for text that is not UTF-8, not YAML or not a mapping.
YAML::Node load_document(const std::string& text, const ConfigOverrides& overrides, ParseContext& ctx);
// Every section's keys and renamed keys, from the schema's docs.
void learn_keys(const SectionDoc& section, const std::string& path, ParseContext& ctx);

template <typename S>
S parse_with(const Schema<S>& schema, const std::string& text, const std::string& origin,
             const ConfigOverrides& overrides) {
  ParseContext ctx;
  ctx.origin = origin;
  learn_keys(schema.doc, "", ctx);
  const Reader root(load_document(text, overrides, ctx), &ctx, "");
  S out;
  read_section(root, schema, out);
  return out;
}

template <typename S>
std::string write_with(const Schema<S>& schema, const S& value) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  write_section(e, schema, value);
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

// The top-level section's docs (train_config.cpp), for config_doc.cpp.
const SectionDoc& train_config_doc();

}  // namespace lightpeft::config
