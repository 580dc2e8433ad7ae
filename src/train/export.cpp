#include "lightpeft/train/export.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/io/hf_gguf.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/train/stages/session.h"
#include "lightpeft/train/task_data.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

// The head's output width, read from the saved head weights (the last dimension-0 size of the
// head's modules, e.g. classifier.weight, classifier.out_proj.weight, score.weight); 0 when the
// adapter saves no head (a causal LM's).
int64_t num_labels_of(const StateDict& tensors, const TaskModelImpl& shape) {
  int64_t n = 0;
  for (const auto& head : shape.head_module_names())
    for (const auto& [key, t] : tensors) {
      const std::string plain = key.substr(key.rfind(kAdapterKeyPrefix, 0) == 0 ? std::string(kAdapterKeyPrefix).size() : 0);
      if (plain.rfind(head + ".", 0) == 0 && plain.size() >= 7 &&
          plain.compare(plain.size() - 7, 7, ".weight") == 0 && t.dim() == 2)
        n = t.size(0);  // the last linear of the head (keys sort out_proj after dense)
    }
  return n;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in, file.string(), ": cannot read");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The tokenizer files of `model_path` for GGUF: tokenizer.json (required), tokenizer_config.json
// and chat_template.jinja (its template goes into the config when the config has none).
void read_tokenizer_files(const fs::path& model_path, HfFolderContents& hf) {
  const fs::path dir = resolve_model_dir(model_path);
  LP_CHECK(fs::exists(dir / "tokenizer.json"), (dir / "tokenizer.json").string(),
           ": missing; GGUF export writes the vocabulary from tokenizer.json (byte-level BPE)");
  hf.tokenizer_json = read_text(dir / "tokenizer.json");
  nlohmann::json config = nlohmann::json::object();
  if (fs::exists(dir / "tokenizer_config.json")) {
    try {
      config = nlohmann::json::parse(read_text(dir / "tokenizer_config.json"));
    } catch (const nlohmann::json::exception& e) {
      throw_error((dir / "tokenizer_config.json").string(), ": not valid JSON: ", e.what());
    }
  }
  if (!config.contains("chat_template") && fs::exists(dir / "chat_template.jinja"))
    config["chat_template"] = read_text(dir / "chat_template.jinja");
  hf.tokenizer_config_json = config.dump();
}

StateDict cpu_copy(const StateDict& tensors) {
  StateDict out;
  for (const auto& [k, t] : tensors) out.emplace(k, t.detach().to(at::kCPU).clone());
  return out;
}

// Which units the exported layers hold, by format.
std::vector<LayerSelection> selections_for(const ExportSource& s, const ExportOptions& o) {
  switch (o.format) {
    case ExportFormat::hf: return pad_to_unpruned(s.unpruned, s.plan);
    case ExportFormat::compact: return {};
    case ExportFormat::gguf:
      return o.gguf_layers == GgufLayers::uniform
                 ? pad_to_widest(s.unpruned, s.plan, o.gguf_type == GgmlType::Q8_0 ? ggml_block_size(GgmlType::Q8_0) : 1)
                 : pad_empty_layers(s.unpruned, s.plan);
  }
  return {};
}

// Nothing to pad: every layer keeps (or is given) exactly its kept units.
bool is_identity(const std::vector<LayerSelection>& selections) {
  return std::all_of(selections.begin(), selections.end(), [](const LayerSelection& s) {
    return s.attention.kept == s.attention.target && s.mlp.kept == s.mlp.target;
  });
}

void check_exportable(const ExportSource& s, const ExportOptions& o) {
  const ModelConfig& c = s.peft.model->config();
  if (o.format == ExportFormat::gguf) {
    const auto& types = hf_gguf_model_types();
    LP_CHECK(std::find(types.begin(), types.end(), c.model_type) != types.end(), "export --format gguf: ", s.name,
             " is a '", c.model_type, "' model; GGUF export writes the llama family (llama, mistral) as llama.cpp's ",
             "llama architecture. Use --format hf or compact");
    LP_CHECK(s.peft.model->head_kind() == HeadKind::causal_lm, "export --format gguf: ", s.name, " has a ",
             to_string(s.peft.model->head_kind()), " head, which llama.cpp's llama architecture cannot hold (GGUF ",
             "holds a causal LM). Use --format hf or compact");
    LP_CHECK(o.merge, "export --format gguf: a GGUF holds one merged model; pass --merge");
  }
  if (o.merge && !s.full_model)
    LP_CHECK(s.peft.type == PeftType::lora, s.name, ": bottleneck adapters are nonlinear and cannot be merged into ",
             "the weights; export without --merge (the base model with the adapter beside it)");
  if (!o.merge)
    LP_CHECK(!s.full_model, s.name, ": a full fine-tuning run has no adapter to export apart; pass --merge");
}

void export_merged(ExportSource& s, const fs::path& out, const ExportOptions& o,
                   const std::vector<LayerSelection>& selections) {
  TaskModel merged = s.full_model ? s.peft.model : merge_and_unload(s.peft);
  ModelConfig config = merged->config();
  StateDict weights = module_state_dict(*merged);
  if (!is_identity(selections)) {
    weights = pad_model_weights(weights, make_unit_padding(s.unpruned, selections));
    config = padded_config(config, selections);
  }
  if (o.format != ExportFormat::gguf) {
    save_pretrained(config, merged->head_kind(), weights, out);
    copy_tokenizer_files(s.tokenizer_from, out);
    return;
  }
  HfFolderContents hf;
  hf.config_json = model_config_to_json(config);
  hf.weights = std::move(weights);
  read_tokenizer_files(s.tokenizer_from, hf);
  GgufExportOptions gguf;
  gguf.type = o.gguf_type;
  gguf.name = s.name;
  fs::path file = out;
  if (fs::is_directory(out)) file = out / "model.gguf";
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  write_gguf(hf, file, gguf);
}

void export_unmerged(ExportSource& s, const fs::path& out, const ExportOptions& o,
                     const std::vector<LayerSelection>& selections) {
  const bool lora = s.peft.type == PeftType::lora;
  LoraConfig lora_config;
  AdapterConfig adapter_config;
  if (lora)
    lora_config = effective_lora_config(s.peft);
  else
    adapter_config = effective_adapter_config(s.peft);
  StateDict adapter = cpu_copy(adapter_state_dict(s.peft));
  TaskModel base = unload(s.peft);
  ModelConfig config = base->config();
  StateDict weights = module_state_dict(*base);
  if (!is_identity(selections)) {
    const UnitPadding padding = make_unit_padding(s.unpruned, selections);
    weights = pad_model_weights(weights, padding);
    adapter = pad_lora_weights(adapter, padding);  // adapters sit on hidden-size linears: unchanged
    config = padded_config(config, selections);
  }
  save_pretrained(config, base->head_kind(), weights, out);
  copy_tokenizer_files(s.tokenizer_from, out);
  // The adapter names its base: the folder just written (AutoPeftModel... loads it from there).
  const fs::path adapter_dir = out / "adapter";
  fs::create_directories(adapter_dir);
  const std::string base_path = fs::absolute(out).lexically_normal().string();
  if (lora) {
    lora_config.base_model_name_or_path = base_path;
    write_text_atomic(adapter_dir / kAdapterConfigFile, lora_config_to_json(lora_config));
  } else {
    adapter_config.base_model_name_or_path = base_path;
    write_text_atomic(adapter_dir / kAdapterConfigFile, adapter_config_to_json(adapter_config));
    log::info("export: bottleneck adapters are lightpeft's (HF PEFT has none); lightpeft loads ", adapter_dir.string(),
              " on ", out.string());
  }
  save_safetensors(adapter_dir / kAdapterWeightsFile, adapter, {{"format", "pt"}});
}

}  // namespace

std::string to_string(ExportFormat format) {
  switch (format) {
    case ExportFormat::hf: return "hf";
    case ExportFormat::compact: return "compact";
    case ExportFormat::gguf: return "gguf";
  }
  return "?";
}

ExportFormat parse_export_format(const std::string& name, const std::string& origin) {
  for (auto f : {ExportFormat::hf, ExportFormat::compact, ExportFormat::gguf})
    if (name == to_string(f)) return f;
  throw_error(origin, ": export format '", name, "' is not one of hf, compact, gguf");
}

std::string to_string(GgufLayers layers) { return layers == GgufLayers::uniform ? "uniform" : "per-layer"; }

GgufLayers parse_gguf_layers(const std::string& name, const std::string& origin) {
  for (auto l : {GgufLayers::uniform, GgufLayers::per_layer})
    if (name == to_string(l)) return l;
  throw_error(origin, ": GGUF layer layout '", name, "' is not one of uniform, per-layer");
}

ExportSource load_export_source(const fs::path& run_dir, const std::string& which) {
  LP_CHECK(fs::exists(run_dir / "config.yaml"), run_dir.string(), ": not a lightpeft run (no config.yaml)");
  LP_CHECK(fs::exists(run_dir / "results.json"), run_dir.string(),
           ": the run has not finished (no results.json); export a run after `lightpeft train` completes");
  const TrainConfig config = load_train_config(run_dir / "config.yaml");
  const fs::path saved = run_dir / "finetune" / which;
  LP_CHECK(fs::is_directory(saved), run_dir.string(), ": no finetune/", which,
           which == "best" ? " (best is saved when the run evaluates during training)" : " (has the run finished?)");
  ExportSource s;
  s.name = fs::absolute(run_dir).lexically_normal().filename().string();
  if (s.name.empty()) s.name = fs::absolute(run_dir).lexically_normal().parent_path().filename().string();
  s.tokenizer_from = config.model;
  PretrainedOptions options;
  options.head = make_config_task(config)->head();
  if (config.method == Method::full) {
    options.strict = true;
    s.peft.model = load_pretrained(saved, options).model;
    s.full_model = true;
    s.unpruned = layer_units(*s.peft.model);
    return s;
  }
  TaskModel base = load_pretrained(config.model, options).model;
  const int64_t num_labels = num_labels_of(load_safetensors(saved / kAdapterWeightsFile), *base);
  if (num_labels > 0 && num_labels != base->config().num_labels) {
    options.num_labels = num_labels;
    base = load_pretrained(config.model, options).model;
  }
  s.unpruned = layer_units(*base);
  // A light-peft run's shapes: the pretrained model pruned by its foundation plan (no PEFT needed).
  if (config.method == Method::light_peft) {
    s.plan = load_pruning_plan(run_dir / "prune" / kPruningPlanFile);
    apply_foundation_plan(*base, s.plan);
  }
  s.peft = load_adapter(base, saved);
  return s;
}

PeftModel load_finetuned_run(const fs::path& run_dir, const std::string& which) {
  ExportSource s = load_export_source(run_dir, which);
  LP_CHECK(!s.full_model, run_dir.string(), ": a full fine-tuning run is already a plain model: ",
           (run_dir / "finetune" / which).string());
  return std::move(s.peft);
}

void export_model(ExportSource& source, const fs::path& out, const ExportOptions& options) {
  check_exportable(source, options);
  const std::vector<LayerSelection> selections = selections_for(source, options);
  if (options.merge)
    export_merged(source, out, options, selections);
  else
    export_unmerged(source, out, options, selections);
  std::string what = to_string(options.format);
  if (options.format == ExportFormat::gguf)
    what += std::string(" ") + ggml_type_name(options.gguf_type) + ", " + to_string(options.gguf_layers) + " layers";
  log::info("exported ", source.name, options.merge ? " merged" : " with its adapter in adapter/", " as ", what,
            " to ", out.string());
  if (options.format == ExportFormat::hf && !source.plan.layers.empty())
    log::info("export: pruned units are zero rows/columns at their original positions (HF's shapes: exact, no ",
              "speed-up in HF); --format compact keeps the pruned shapes for lightpeft");
}

void export_run(const fs::path& run_dir, const fs::path& out, const ExportOptions& options) {
  ExportSource source = load_export_source(run_dir, options.which);
  export_model(source, out, options);
}

void export_merged_model(const fs::path& run_dir, const fs::path& out, const std::string& which) {
  ExportOptions options;
  options.which = which;
  export_run(run_dir, out, options);
}

}  // namespace lightpeft
