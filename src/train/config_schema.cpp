// The YAML side of the config schema (config_schema.h): reading sections with file:line errors and
// did-you-mean suggestions, `--set` overrides, and the number format of messages and docs.
#include "config_schema.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {
namespace config {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The known key a misspelt `key` most likely means: the nearest by edit distance (at most about a
// third of the key's length), a renamed key's new name, or a known key containing it; "" if none.
std::string closest_key(const std::string& key, const std::set<std::string>& known,
                        const std::map<std::string, std::string>& renamed) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  const size_t limit = std::max<size_t>(1, std::min<size_t>(3, key.size() / 3));
  if (!best.empty() && best_d <= limit) return best;
  auto r = renamed.find(key);
  if (r != renamed.end() && known.count(r->second)) return r->second;
  std::string contained;
  if (key.size() >= 4)
    for (const auto& k : known)
      if (k.find(key) != std::string::npos && (contained.empty() || k.size() < contained.size())) contained = k;
  return contained;
}

std::filesystem::path expand_home(const std::string& s) {
  if (s.rfind("~/", 0) == 0 || s == "~") {
    const char* home = std::getenv("HOME");
    if (home) return std::filesystem::path(home) / s.substr(s.size() > 1 ? 2 : 1);
  }
  return s;
}

// Applies one `--set key=value` to the YAML tree: sections along the dotted path are created as
// needed; the value is parsed as YAML.
void apply_override(YAML::Node& root, const std::string& text, ParseContext& ctx) {
  const size_t eq = text.find('=');
  LP_CHECK(eq != std::string::npos && !trim(text.substr(0, eq)).empty(), "--set ", text,
           ": expected key=value (e.g. --set training.learning_rate=1e-3)");
  const std::string key = trim(text.substr(0, eq)), value = text.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) {
    LP_CHECK(!trim(part).empty(), "--set ", key, ": an empty name in the dotted key");
    parts.push_back(trim(part));
  }
  LP_CHECK(!parts.empty() && key.back() != '.', "--set ", key, ": an empty name in the dotted key");
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw_error("--set ", key, ": value '", value, "' is not valid YAML: ", e.msg);
  }
  YAML::Node cur = root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (path.empty() ? "" : ".") + parts[i];
    YAML::Node next = cur[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    } else if (!next.IsMap()) {
      throw_error("--set ", key, ": '", path, "' is not a section (it holds a single value)");
    }
    YAML::Node child = cur[parts[i]];
    cur.reset(child);
  }
  cur[parts.back()] = parsed;
  std::string normalized;
  for (const auto& p : parts) normalized += (normalized.empty() ? "" : ".") + p;
  ctx.overrides[normalized] = value;
}

}  // namespace

Reader::Reader(YAML::Node node, ParseContext* ctx, std::string path)
    : node_(std::move(node)), ctx_(ctx), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    fail(node_, path_, "key '" + path_ + "': expected a mapping of keys to values");
}

YAML::Node Reader::value(const char* key) const {
  if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node v = node_[key];
  return v && !v.IsNull() ? v : YAML::Node(YAML::NodeType::Undefined);
}

void Reader::get(const char* key, std::filesystem::path& out) const {
  std::string s;
  get(key, s);
  if (!s.empty()) out = expand_home(s);
}

void Reader::get(const char* key, std::vector<std::string>& out) const {
  const YAML::Node v = value(key);
  if (!v) return;
  out.clear();
  if (v.IsScalar()) {  // "query,value" or a single name
    std::stringstream ss(v.Scalar());
    for (std::string item; std::getline(ss, item, ',');)
      if (!trim(item).empty()) out.push_back(trim(item));
    return;
  }
  if (!v.IsSequence()) fail(v, qualified(key), "key '" + qualified(key) + "': expected a list of strings");
  for (const auto& e : v) {
    if (!e.IsScalar()) fail(e, qualified(key), "key '" + qualified(key) + "': expected strings in the list");
    out.push_back(e.Scalar());
  }
}

Reader Reader::child(const char* key) const {
  return Reader(node_ && node_.IsMap() ? node_[key] : YAML::Node(), ctx_, qualified(key));
}

bool Reader::has(const char* key) const { return static_cast<bool>(value(key)); }

void Reader::reject_unknown_keys() const {
  if (!node_ || !node_.IsMap()) return;
  const std::set<std::string>& known = ctx_->known[path_];
  for (const auto& kv : node_) {
    // YAML allows a mapping or a list as a key ("? {a: 1}: x"); ours are names.
    if (!kv.first.IsScalar()) fail(kv.first, path_, "a key must be a plain name, got a YAML mapping or list");
    const std::string key = kv.first.as<std::string>();
    if (known.count(key)) continue;
    std::string hint = closest_key(key, known, ctx_->renamed[path_]);
    if (hint.empty() && path_.empty())
      for (const auto& [section, keys] : ctx_->known)
        if (!section.empty() && keys.count(key)) {
          hint = section + "." + key;
          break;
        }
    std::string message = "unknown key '" + qualified(key) + "' ";
    if (!hint.empty()) {
      message += "(did you mean '" + hint + "'?)";
    } else {
      std::string allowed;
      for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
      message += "(expected one of: " + allowed + ")";
    }
    fail(kv.first, qualified(key), message);
  }
}

void Reader::fail(const YAML::Node& at, const std::string& qkey, const std::string& message) const {
  for (const auto& [key, value] : ctx_->overrides)
    if (key == qkey || key.rfind(qkey + ".", 0) == 0) throw_error("--set ", key, ": ", message);
  if (at && at.Mark().line >= 0) throw_error(ctx_->origin, ":", at.Mark().line + 1, ": ", message);
  throw_error(ctx_->origin, ": ", message);
}

void Reader::fail_key(const std::string& key, const std::string& message) const {
  const YAML::Node v = node_ && node_.IsMap() ? node_[key] : YAML::Node();
  fail(v, qualified(key), "key '" + qualified(key) + "': " + message);
}

std::string number_text(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? ".nan" : v > 0 ? ".inf" : "-.inf";  // YAML's spelling
  char buf[64];
  int digits = 1;  // the fewest significant digits that read back as v
  for (; digits < 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
  const std::string e_form = buf;
  const int exponent = std::atoi(e_form.c_str() + e_form.find('e') + 1);
  const std::string scientific = e_form.substr(0, e_form.find('e')) + "e" + std::to_string(exponent);
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, digits - 1 - exponent), v);
  const std::string plain = buf;
  return scientific.size() + 2 <= plain.size() ? scientific : plain;  // 3e-4, 1e-8; but 0.05, 100
}

YAML::Node load_document(const std::string& text, const ConfigOverrides& overrides, ParseContext& ctx) {
  // YAML is Unicode text; yaml-cpp passes invalid UTF-8 through into paths and names.
  if (!is_valid_utf8(text)) {
    size_t line = 1;
    for (const TextLine& l : split_lines(text)) {
      if (!is_valid_utf8(l.text)) {
        line = static_cast<size_t>(l.number);
        break;
      }
    }
    throw_error(ctx.origin, ":", line, ": not valid UTF-8 (YAML configs are UTF-8 text)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw_error(ctx.origin, ":", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);  // an empty file: all from --set
  LP_CHECK(root.IsMap(), ctx.origin, ": expected a YAML mapping of keys to values at the top level");
  for (const auto& o : overrides) apply_override(root, o, ctx);
  return root;
}

void learn_keys(const SectionDoc& section, const std::string& path, ParseContext& ctx) {
  for (const KeyDoc& k : section.keys) {
    ctx.known[path].insert(k.name);
    for (const auto& old : k.former_names) ctx.renamed[path][old] = k.name;
  }
  for (const SectionDoc* s : section.sections) {
    ctx.known[path].insert(s->name);
    learn_keys(*s, path.empty() ? s->name : path + "." + s->name, ctx);
  }
}

void read_steps_or_auto(const Reader& r, const char* key, StepsOrAuto& v) {
  std::string text = v.automatic ? "auto" : std::to_string(v.steps);
  r.get(key, text);
  if (text == "auto") {
    v.automatic = true;
    return;
  }
  size_t used = 0;
  int64_t steps = 0;
  try {
    steps = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) r.fail_key(key, "expected a integer or `auto`, got '" + text + "'");
  v = {steps, false};
}

}  // namespace config

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace lightpeft
