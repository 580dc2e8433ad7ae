#include "lightpeft/io/model_path.h"
#include "lightpeft/models/hf_checkpoint.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/io/torch_bin.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// TF-converted checkpoints name LayerNorm parameters gamma/beta (HF renames them on load too).
std::string modern_key(std::string key) {
  if (ends_with(key, ".gamma")) return key.substr(0, key.size() - 6) + ".weight";
  if (ends_with(key, ".beta")) return key.substr(0, key.size() - 5) + ".bias";
  return key;
}

// Buffers HF keeps out of (newer) checkpoints; older checkpoints still carry them. A tied LM
// head's weight is the input embedding: some checkpoints save it anyway.
bool is_ignorable_key(const std::string& key) {
  return ends_with(key, "embeddings.position_ids") || ends_with(key, "embeddings.token_type_ids") ||
         ends_with(key, "rotary_emb.inv_freq") || ends_with(key, ".attn.bias") ||
         ends_with(key, ".attn.masked_bias") || key == "lm_head.weight";
}

StateDict read_single_file(const fs::path& file) {
  const std::string name = file.filename().string();
  if (ends_with(name, ".safetensors")) return load_safetensors(file);
  if (ends_with(name, ".bin") || ends_with(name, ".pt") || ends_with(name, ".pth"))
    return load_torch_bin(file);
  throw_error(file.string(), ": unknown weights file type (expected .safetensors or .bin)");
}

StateDict read_sharded(const fs::path& index_file) {
  std::ifstream in(index_file);
  LP_CHECK(in.good(), index_file.string(), ": cannot open");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw_error(index_file.string(), ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
           index_file.string(), ": key 'weight_map': expected an object {tensor: shard file}");
  std::set<std::string> shards;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    LP_CHECK(it.value().is_string(), index_file.string(), ": key 'weight_map.", it.key(),
             "': expected a file name");
    const std::string shard = it.value().get<std::string>();
    LP_CHECK(shard.find('/') == std::string::npos && shard != "..", index_file.string(),
             ": key 'weight_map.", it.key(), "': shard '", shard, "' must be a file in the same directory");
    shards.insert(shard);
  }
  StateDict all;
  for (const auto& shard : shards) {
    for (auto& kv : read_single_file(index_file.parent_path() / shard)) all.insert(std::move(kv));
  }
  return all;
}

}  // namespace

std::string KeyReport::summary() const {
  std::ostringstream os;
  auto list = [&](const char* what, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    os << "; " << keys.size() << " " << what << " (";
    for (size_t i = 0; i < keys.size() && i < 6; ++i) os << (i ? ", " : "") << keys[i];
    if (keys.size() > 6) os << ", ...";
    os << ")";
  };
  os << loaded << " tensors loaded";
  list("missing, left as initialised", missing);
  list("unexpected, ignored", unexpected);
  list("with mismatched shapes, left as initialised", mismatched);
  if (!ignored.empty()) os << "; " << ignored.size() << " non-persistent buffers skipped";
  return os.str();
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.emplace(b.key(), b.value());
  return out;
}

StateDict read_model_weights(const fs::path& model_path) {
  LP_CHECK(fs::exists(model_path), model_path.string(), ": no such file or directory");
  const fs::path path = resolve_model_dir(model_path);  // a GGUF: its converted folder
  if (!fs::is_directory(path)) return read_single_file(path);
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    if (fs::exists(path / name)) return read_single_file(path / name);
  }
  for (const char* name : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
    if (fs::exists(path / name)) return read_sharded(path / name);
  }
  throw_error(path.string(), ": no weights found (expected model.safetensors, pytorch_model.bin ",
              "or a sharded *.index.json)");
}

KeyReport load_weights(torch::nn::Module& module, const StateDict& weights,
                       const std::string& base_prefix, bool strict, const std::string& origin) {
  StateDict target = module_state_dict(module);
  const std::string prefix = base_prefix.empty() ? "" : base_prefix + ".";
  KeyReport report;
  std::set<std::string> filled;
  torch::NoGradGuard no_grad;
  for (const auto& [raw_key, tensor] : weights) {
    std::string key = modern_key(raw_key);
    if (!target.count(key) && !prefix.empty()) {
      if (target.count(prefix + key)) {
        key = prefix + key;  // bare-encoder checkpoint into a model with a head
      } else if (key.rfind(prefix, 0) == 0 && target.count(key.substr(prefix.size()))) {
        key = key.substr(prefix.size());  // full checkpoint into a bare encoder
      }
    }
    auto it = target.find(key);
    if (it == target.end()) {
      (is_ignorable_key(key) ? report.ignored : report.unexpected).push_back(raw_key);
      continue;
    }
    if (it->second.sizes() != tensor.sizes()) {
      std::ostringstream os;
      os << key << " " << tensor.sizes() << " vs " << it->second.sizes();
      report.mismatched.push_back(os.str());
      filled.insert(key);
      continue;
    }
    it->second.copy_(tensor);
    filled.insert(key);
    ++report.loaded;
  }
  for (const auto& kv : target)
    if (!filled.count(kv.first)) report.missing.push_back(kv.first);
  if (strict && !report.clean()) throw_error(origin, ": checkpoint does not match the model: ", report.summary());
  return report;
}

LoadedModel load_pretrained(const fs::path& model_path, const PretrainedOptions& options) {
  const fs::path dir = resolve_model_dir(model_path);  // a GGUF: its converted folder
  ModelConfig config = load_model_config(dir);
  if (options.num_labels > 0 && options.num_labels != config.num_labels) {
    config.num_labels = options.num_labels;
    config.id2label.clear();
  }
  config.problem_type = config.num_labels == 1 ? ProblemType::regression
                                               : ProblemType::single_label_classification;
  LoadedModel out;
  out.model = make_task_model(config, options.head);
  const fs::path origin = fs::is_directory(dir) ? dir : dir.parent_path();
  out.report = load_weights(*out.model, read_model_weights(origin), out.model->base_model_prefix(),
                            options.strict, origin.string());
  return out;
}

void save_pretrained(const TaskModelImpl& model, const fs::path& dir) {
  save_pretrained(model.config(), model.head_kind(), module_state_dict(model), dir);
}

void save_pretrained(const ModelConfig& config, HeadKind head, const StateDict& weights, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  LP_CHECK(!ec, dir.string(), ": cannot create the model directory: ", ec.message());
  StateDict tensors;
  for (const auto& kv : weights) tensors.emplace(kv.first, kv.second.detach().to(at::kCPU).contiguous());
  save_safetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  ModelConfig c = config;
  auto extra = nlohmann::json::parse(c.extra_json);
  extra["architectures"] = {model_family(c.model_type).architecture(head)};
  c.extra_json = extra.dump();
  save_model_config(c, dir / "config.json");
}

std::vector<std::string> copy_tokenizer_files(const fs::path& model_path, const fs::path& to) {
  const fs::path from = resolve_model_dir(model_path);
  std::vector<std::string> copied;
  for (const char* name : {"vocab.txt", "vocab.json", "merges.txt", "tokenizer.json",
                           "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"}) {
    if (!fs::exists(from / name)) continue;
    std::error_code ec;
    fs::copy_file(from / name, to / name, fs::copy_options::overwrite_existing, ec);
    LP_CHECK(!ec, (from / name).string(), ": cannot copy to ", to.string(), ": ", ec.message());
    copied.push_back(name);
  }
  return copied;
}

}  // namespace lightpeft
