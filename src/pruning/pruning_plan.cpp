#include "lightpeft/pruning/pruning_plan.h"

#include <cmath>
#include <fstream>
#include <algorithm>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/pruning/quantile.h"

namespace lightpeft {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kFormat = "lightpeft-pruning-plan";
constexpr int kVersion = 1;

std::vector<float> to_floats(const torch::Tensor& t, const std::string& what) {
  LP_CHECK(t.defined(), "make_plan: ", what, ": scores missing");
  auto c = t.detach().reshape({-1}).to(at::kCPU, at::kFloat).contiguous();
  std::vector<float> out(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  for (size_t i = 0; i < out.size(); ++i)
    LP_CHECK(std::isfinite(out[i]), "make_plan: ", what, "[", i, "] is not finite (", out[i],
             "); the estimate stage diverged");
  return out;
}

std::vector<double> to_doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The rule on one set of scores: threshold = quantile(scores, ratio) in float64 (quantile.h says
// why), keep score > threshold. ratio 0: nothing pruned and no threshold (the official code skips
// a granularity whose ratio is 0).
std::optional<double> threshold_of(const std::vector<float>& scores, double ratio) {
  if (ratio == 0.0 || scores.empty()) return std::nullopt;
  return numpy_quantile(to_doubles(scores), ratio);
}

std::vector<int64_t> keep(const std::vector<float>& scores, const std::optional<double>& thr) {
  if (!thr) {
    std::vector<int64_t> all(scores.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    return all;
  }
  return indices_above(to_doubles(scores), *thr);
}

// Decides one granularity (heads or neurons) over all layers, layerwise or global.
void decide_units(std::vector<LayerDecision>& layers, UnitDecision LayerDecision::*unit,
                  double ratio, PruningScope scope) {
  std::optional<double> global;
  if (scope == PruningScope::global) {
    std::vector<float> all;
    for (const auto& l : layers) {
      const auto& s = (l.*unit).scores;
      all.insert(all.end(), s.begin(), s.end());
    }
    global = threshold_of(all, ratio);
  }
  for (auto& l : layers) {
    auto& u = l.*unit;
    u.threshold = scope == PruningScope::global ? global : threshold_of(u.scores, ratio);
    u.kept = keep(u.scores, u.threshold);
  }
}

// ---- JSON ----

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json unit_to_json(const UnitDecision& u) {
  return json{{"scores", u.scores}, {"threshold", optional_number(u.threshold)}, {"kept", u.kept}};
}

// A reader that names the file and the key path in every error.
class Reader {
 public:
  Reader(const json& j, std::string origin, std::string key)
      : j_(j), origin_(std::move(origin)), key_(std::move(key)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw_error(origin_, ": ", key_.empty() ? std::string("top level") : key_, ": ", what);
  }
  Reader at(const std::string& name) const {
    if (!j_.is_object()) fail("expected an object");
    auto it = j_.find(name);
    const std::string key = key_.empty() ? name : key_ + "." + name;
    if (it == j_.end()) throw_error(origin_, ": ", key, ": missing");
    return Reader(*it, origin_, key);
  }
  Reader at(size_t i) const { return Reader(j_.at(i), origin_, key_ + "[" + std::to_string(i) + "]"); }
  size_t array_size() const {
    if (!j_.is_array()) fail("expected an array, got " + std::string(j_.type_name()));
    return j_.size();
  }
  double number() const {
    if (!j_.is_number()) fail("expected a number, got " + std::string(j_.type_name()));
    return j_.get<double>();
  }
  float finite_float() const {
    const double v = number();
    if (!std::isfinite(v)) fail("expected a finite number");
    return static_cast<float>(v);
  }
  std::optional<double> optional_double() const {
    if (j_.is_null()) return std::nullopt;
    const double v = number();
    if (!std::isfinite(v)) fail("expected a finite number or null");
    return v;
  }
  int64_t integer() const {
    if (!j_.is_number_integer()) fail("expected an integer, got " + std::string(j_.type_name()));
    return j_.get<int64_t>();
  }
  bool boolean() const {
    if (!j_.is_boolean()) fail("expected true or false, got " + std::string(j_.type_name()));
    return j_.get<bool>();
  }
  std::string string() const {
    if (!j_.is_string()) fail("expected a string, got " + std::string(j_.type_name()));
    return j_.get<std::string>();
  }
  std::vector<float> floats() const {
    std::vector<float> out(array_size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = at(i).finite_float();
    return out;
  }
  // Ascending, distinct indices in [0, n).
  std::vector<int64_t> indices(int64_t n) const {
    std::vector<int64_t> out(array_size());
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = at(i).integer();
      if (out[i] < 0 || out[i] >= n)
        at(i).fail("index " + std::to_string(out[i]) + " out of range [0, " + std::to_string(n) +
                   ")");
      if (i > 0 && out[i] <= out[i - 1])
        at(i).fail("indices must be ascending and distinct (" + std::to_string(out[i - 1]) +
                   " then " + std::to_string(out[i]) + ")");
    }
    return out;
  }
  double ratio() const {
    const double v = number();
    if (!(v >= 0.0 && v <= 1.0)) fail("expected a ratio in [0, 1], got " + std::to_string(v));
    return v;
  }

 private:
  const json& j_;
  std::string origin_;
  std::string key_;
};

UnitDecision unit_from_json(const Reader& r) {
  UnitDecision u;
  u.scores = r.at("scores").floats();
  u.threshold = r.at("threshold").optional_double();
  u.kept = r.at("kept").indices(u.size());
  return u;
}

}  // namespace

PruningScope parse_pruning_scope(const std::string& name, const std::string& origin) {
  if (auto scope = parse_enum<PruningScope>(name)) return *scope;
  throw_error(origin, ": expected \"layerwise\" or \"global\", got \"", name, "\"");
}

void validate_pruning_options(const PruningOptions& o, const std::string& origin) {
  auto ratio = [&](double v, const char* key) {
    LP_CHECK(v >= 0.0 && v <= 1.0, origin, ": ", key, ": expected a ratio in [0, 1], got ", v);
  };
  ratio(o.head_ratio, "head_ratio");
  ratio(o.neuron_ratio, "neuron_ratio");
  ratio(o.module_ratio, "module_ratio");
  ratio(o.rank_ratio, "rank_ratio");
  LP_CHECK(o.importance == "mask" || o.importance == "taylor", origin,
           ": importance: expected \"mask\" or \"taylor\", got \"", o.importance, "\"");
}

const ModuleDecision* PruningPlan::find_module(const std::string& path) const {
  for (const auto& m : modules)
    if (m.path == path) return &m;
  return nullptr;
}

int64_t PruningPlan::heads_before() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.heads.size();
  return n;
}
int64_t PruningPlan::heads_after() const {
  int64_t n = 0;
  for (const auto& l : layers) n += static_cast<int64_t>(l.heads.kept.size());
  return n;
}
int64_t PruningPlan::neurons_before() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.neurons.size();
  return n;
}
int64_t PruningPlan::neurons_after() const {
  int64_t n = 0;
  for (const auto& l : layers) n += static_cast<int64_t>(l.neurons.kept.size());
  return n;
}
int64_t PruningPlan::modules_with_peft() const {
  int64_t n = 0;
  for (const auto& m : modules) n += m.has_peft() ? 1 : 0;
  return n;
}
int64_t PruningPlan::ranks_before() const {
  int64_t n = 0;
  for (const auto& m : modules) n += m.rank();
  return n;
}
int64_t PruningPlan::ranks_after() const {
  int64_t n = 0;
  for (const auto& m : modules) n += m.has_peft() ? static_cast<int64_t>(m.kept_ranks.size()) : 0;
  return n;
}

std::string PruningPlan::summary() const {
  std::ostringstream os;
  os << "heads " << heads_before() << " -> " << heads_after() << ", FFN neurons "
     << neurons_before() << " -> " << neurons_after() << ", PEFT modules " << modules.size()
     << " -> " << modules_with_peft() << ", ranks " << ranks_before() << " -> " << ranks_after();
  return os.str();
}

PruningPlan make_plan(const PruningScores& scores, const PruningOptions& options) {
  validate_pruning_options(options, "pruning options");
  PruningPlan plan;
  plan.options = options;

  // ---- foundation: heads and FFN neurons ----
  const auto& f = scores.foundation;
  LP_CHECK(f.heads.size() == f.neurons.size(), "make_plan: ", f.heads.size(),
           " layers of head scores but ", f.neurons.size(), " of neuron scores");
  LP_CHECK(!f.heads.empty() || (options.head_ratio == 0.0 && options.neuron_ratio == 0.0),
           "make_plan: head/neuron pruning ratios are set but there are no foundation scores");
  for (size_t l = 0; l < f.heads.size(); ++l) {
    LayerDecision d;
    d.heads.scores = to_floats(f.heads[l], "head scores of layer " + std::to_string(l));
    d.neurons.scores = to_floats(f.neurons[l], "neuron scores of layer " + std::to_string(l));
    plan.layers.push_back(std::move(d));
  }
  decide_units(plan.layers, &LayerDecision::heads, options.head_ratio, options.head_scope);
  decide_units(plan.layers, &LayerDecision::neurons, options.neuron_ratio, options.neuron_scope);
  for (size_t l = 0; l < plan.layers.size(); ++l) {
    if (plan.layers[l].heads.kept.empty() && plan.layers[l].heads.size() > 0)
      log::warn("pruning plan: layer ", l, " loses all its attention heads");
    if (plan.layers[l].neurons.kept.empty() && plan.layers[l].neurons.size() > 0)
      log::warn("pruning plan: layer ", l, " loses all its FFN neurons");
  }

  // ---- PEFT: modules (global), then ranks (global over the surviving modules) ----
  const auto& p = scores.peft;
  for (const auto& kv : p.ranks) {
    ModuleDecision m;
    m.path = kv.first;
    m.rank_scores = to_floats(kv.second, "rank scores of '" + kv.first + "'");
    auto it = p.modules.find(kv.first);
    if (it != p.modules.end()) {
      m.score = it->second;
      LP_CHECK(std::isfinite(m.score), "make_plan: module score of '", kv.first, "' is not finite");
    } else {
      LP_CHECK(options.module_ratio == 0.0, "make_plan: no module importance for '", kv.first,
               "' (module pruning needs one per PEFT module)");
    }
    plan.modules.push_back(std::move(m));
  }
  for (const auto& kv : p.modules)
    LP_CHECK(p.ranks.count(kv.first) == 1, "make_plan: module importance for '", kv.first,
             "' but no rank importance");

  std::vector<float> module_scores;
  for (const auto& m : plan.modules) module_scores.push_back(m.score);
  plan.module_threshold = threshold_of(module_scores, options.module_ratio);
  for (auto& m : plan.modules)
    m.kept = !plan.module_threshold || static_cast<double>(m.score) > *plan.module_threshold;

  std::vector<float> surviving_ranks;
  for (const auto& m : plan.modules)
    if (m.kept) surviving_ranks.insert(surviving_ranks.end(), m.rank_scores.begin(), m.rank_scores.end());
  plan.rank_threshold = threshold_of(surviving_ranks, options.rank_ratio);
  for (auto& m : plan.modules)
    if (m.kept) m.kept_ranks = keep(m.rank_scores, plan.rank_threshold);
  log::info("pruning plan: ", plan.summary());
  return plan;
}

std::string pruning_plan_to_json(const PruningPlan& plan) {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  const auto& o = plan.options;
  j["options"] = json{{"head_ratio", o.head_ratio},
                      {"head_scope", to_string(o.head_scope)},
                      {"neuron_ratio", o.neuron_ratio},
                      {"neuron_scope", to_string(o.neuron_scope)},
                      {"module_ratio", o.module_ratio},
                      {"rank_ratio", o.rank_ratio},
                      {"importance", o.importance}};
  j["summary"] = json{{"heads_before", plan.heads_before()},
                      {"heads_after", plan.heads_after()},
                      {"neurons_before", plan.neurons_before()},
                      {"neurons_after", plan.neurons_after()},
                      {"modules_before", plan.modules.size()},
                      {"modules_after", plan.modules_with_peft()},
                      {"ranks_before", plan.ranks_before()},
                      {"ranks_after", plan.ranks_after()}};
  json layers = json::array();
  for (const auto& l : plan.layers)
    layers.push_back(json{{"heads", unit_to_json(l.heads)}, {"neurons", unit_to_json(l.neurons)}});
  j["layers"] = std::move(layers);
  j["module_threshold"] = optional_number(plan.module_threshold);
  j["rank_threshold"] = optional_number(plan.rank_threshold);
  json modules = json::array();
  for (const auto& m : plan.modules)
    modules.push_back(json{{"path", m.path},
                           {"score", m.score},
                           {"kept", m.kept},
                           {"rank_scores", m.rank_scores},
                           {"kept_ranks", m.kept_ranks}});
  j["modules"] = std::move(modules);
  return j.dump(1) + "\n";
}

PruningPlan parse_pruning_plan(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(origin, ": not valid JSON: ", e.what());
  }
  Reader root(j, origin, "");
  if (!j.is_object()) root.fail("expected a JSON object (a pruning plan)");
  if (root.at("format").string() != kFormat)
    root.at("format").fail(std::string("expected \"") + kFormat + "\"");
  if (root.at("version").integer() != kVersion)
    root.at("version").fail("unsupported version (this build reads version " +
                            std::to_string(kVersion) + ")");
  PruningPlan plan;
  auto o = root.at("options");
  plan.options.head_ratio = o.at("head_ratio").ratio();
  plan.options.head_scope = parse_pruning_scope(o.at("head_scope").string(), origin + ": options.head_scope");
  plan.options.neuron_ratio = o.at("neuron_ratio").ratio();
  plan.options.neuron_scope =
      parse_pruning_scope(o.at("neuron_scope").string(), origin + ": options.neuron_scope");
  plan.options.module_ratio = o.at("module_ratio").ratio();
  plan.options.rank_ratio = o.at("rank_ratio").ratio();
  plan.options.importance = o.at("importance").string();
  validate_pruning_options(plan.options, origin + ": options");

  auto layers = root.at("layers");
  for (size_t l = 0; l < layers.array_size(); ++l) {
    LayerDecision d;
    d.heads = unit_from_json(layers.at(l).at("heads"));
    d.neurons = unit_from_json(layers.at(l).at("neurons"));
    plan.layers.push_back(std::move(d));
  }
  plan.module_threshold = root.at("module_threshold").optional_double();
  plan.rank_threshold = root.at("rank_threshold").optional_double();
  auto modules = root.at("modules");
  std::set<std::string> seen;
  for (size_t i = 0; i < modules.array_size(); ++i) {
    auto r = modules.at(i);
    ModuleDecision m;
    m.path = r.at("path").string();
    if (m.path.empty()) r.at("path").fail("empty module path");
    if (!seen.insert(m.path).second) r.at("path").fail("module '" + m.path + "' listed twice");
    m.score = r.at("score").finite_float();
    m.kept = r.at("kept").boolean();
    m.rank_scores = r.at("rank_scores").floats();
    m.kept_ranks = r.at("kept_ranks").indices(m.rank());
    if (!m.kept && !m.kept_ranks.empty())
      r.at("kept_ranks").fail("a pruned module (kept: false) cannot keep ranks");
    plan.modules.push_back(std::move(m));
  }
  return plan;
}

void save_pruning_plan(const PruningPlan& plan, const std::filesystem::path& file) {
  write_text_atomic(file, pruning_plan_to_json(plan));
}

PruningPlan load_pruning_plan(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in.good(), file.string(), ": cannot open the pruning plan");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_pruning_plan(ss.str(), file.string());
}

double PlanOverlap::min() const { return std::min({heads, neurons, modules, ranks}); }

namespace {

template <typename T>
size_t common(const std::set<T>& a, const std::set<T>& b) {
  size_t both = 0;
  for (const auto& x : a) both += b.count(x);
  return both;
}

template <typename T>
double jaccard(const std::set<T>& a, const std::set<T>& b) {
  const size_t both = common(a, b);
  const size_t either = a.size() + b.size() - both;
  return either == 0 ? 1.0 : static_cast<double>(both) / static_cast<double>(either);
}

// The kept sets of one plan, one per granularity.
struct KeptSets {
  std::set<std::pair<int64_t, int64_t>> heads, neurons;  // (layer, index)
  std::set<std::string> modules;                         // modules that keep PEFT
  std::set<std::pair<std::string, int64_t>> ranks;       // (module, rank index)
};

KeptSets kept_sets(const PruningPlan& p) {
  KeptSets s;
  for (size_t l = 0; l < p.layers.size(); ++l) {
    for (int64_t i : p.layers[l].heads.kept) s.heads.insert({static_cast<int64_t>(l), i});
    for (int64_t i : p.layers[l].neurons.kept) s.neurons.insert({static_cast<int64_t>(l), i});
  }
  for (const auto& m : p.modules) {
    if (m.has_peft()) s.modules.insert(m.path);
    for (int64_t r : m.kept_ranks) s.ranks.insert({m.path, r});
  }
  return s;
}

// 1 - |A xor B| / candidates.
template <typename T>
double agreement(const std::set<T>& a, const std::set<T>& b, int64_t candidates) {
  if (candidates <= 0) return 1.0;
  const size_t differing = a.size() + b.size() - 2 * common(a, b);
  return 1.0 - static_cast<double>(differing) / static_cast<double>(candidates);
}

}  // namespace

PlanOverlap plan_overlap(const PruningPlan& a, const PruningPlan& b) {
  const KeptSets x = kept_sets(a), y = kept_sets(b);
  PlanOverlap o;
  o.heads = jaccard(x.heads, y.heads);
  o.neurons = jaccard(x.neurons, y.neurons);
  o.modules = jaccard(x.modules, y.modules);
  o.ranks = jaccard(x.ranks, y.ranks);
  return o;
}

PlanOverlap plan_agreement(const PruningPlan& a, const PruningPlan& b) {
  // Candidates: the unpruned model's units, modules and ranks, over both plans (they come from the
  // same model; the larger count where they do not, so that the measure stays within [0, 1]).
  int64_t heads = 0, neurons = 0, ranks = 0;
  for (size_t l = 0; l < std::max(a.layers.size(), b.layers.size()); ++l) {
    const LayerDecision* la = l < a.layers.size() ? &a.layers[l] : nullptr;
    const LayerDecision* lb = l < b.layers.size() ? &b.layers[l] : nullptr;
    heads += std::max(la ? la->heads.size() : 0, lb ? lb->heads.size() : 0);
    neurons += std::max(la ? la->neurons.size() : 0, lb ? lb->neurons.size() : 0);
  }
  std::map<std::string, int64_t> module_ranks;
  for (const PruningPlan* p : {&a, &b})
    for (const auto& m : p->modules) module_ranks[m.path] = std::max(module_ranks[m.path], m.rank());
  for (const auto& [path, r] : module_ranks) ranks += r;
  const KeptSets x = kept_sets(a), y = kept_sets(b);
  PlanOverlap o;
  o.heads = agreement(x.heads, y.heads, heads);
  o.neurons = agreement(x.neurons, y.neurons, neurons);
  o.modules = agreement(x.modules, y.modules, static_cast<int64_t>(module_ranks.size()));
  o.ranks = agreement(x.ranks, y.ranks, ranks);
  return o;
}

}  // namespace lightpeft
