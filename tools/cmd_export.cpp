// `lightpeft export --run DIR --out DIR [--merge] [--format hf|compact|gguf]`: a finished run as
// files other programs load (docs/export.md).
#include <iostream>

#include "commands.h"
#include "lightpeft/core/error.h"
#include "lightpeft/io/gguf_writer.h"
#include "lightpeft/train/export.h"

namespace lightpeft::cli {

Runner add_export(CLI::App& app) {
  struct Args {
    std::string run, out, which = "final", format = "hf", gguf_type = "F16", gguf_layers = "uniform";
    bool merge = false;
  };
  auto a = std::make_shared<Args>();
  app.add_option("--run", a->run, "output_dir of a finished `lightpeft train` run")->required();
  app.add_option("--out", a->out, "folder for the exported model (for gguf: the .gguf file)")->required();
  app.add_option("--checkpoint", a->which, "final or best")->check(CLI::IsMember({"final", "best"}))
      ->capture_default_str();
  app.add_flag("--merge", a->merge,
               "merge LoRA into the weights (a plain model); without it the base model is written with "
               "the run's adapter beside it in OUT/adapter/ (HF PEFT's files)");
  app.add_option("--format", a->format,
                 "hf: loads in stock HF transformers (from_pretrained), pruned units written back as zero "
                 "rows/columns: exact logits, but no speed-up in HF. compact: the pruned shapes with "
                 "per-layer counts in config.json that only lightpeft reads: the inference speed-up. gguf: "
                 "a merged llama-family causal LM for llama.cpp")
      ->check(CLI::IsMember({"hf", "compact", "gguf"}))
      ->capture_default_str();
  CLI::Option* gguf_type = app.add_option("--gguf-type", a->gguf_type, "gguf: tensor type of the 2-D weights (F32, F16, Q8_0)")
      ->check(CLI::IsMember({"F32", "F16", "Q8_0"}))
      ->capture_default_str();
  CLI::Option* gguf_layers = app.add_option("--gguf-layers", a->gguf_layers,
                 "gguf: uniform (every layer padded with zero units to the widest pruned layer: what "
                 "llama.cpp's llama graph loads) or per-layer (each layer's pruned shape, per-layer "
                 "metadata arrays: lightpeft reads it, llama.cpp's llama graph does not)")
      ->check(CLI::IsMember({"uniform", "per-layer"}))
      ->capture_default_str();
  return [a, gguf_type, gguf_layers]() {
    ExportOptions options;
    options.format = parse_export_format(a->format, "--format");
    // A GGUF option with another format is a mistaken request, not something to ignore silently.
    for (const CLI::Option* o : {gguf_type, gguf_layers})
      LP_CHECK(options.format == ExportFormat::gguf || o->count() == 0, "export: ", o->get_name(),
               " applies to --format gguf only (the format is ", a->format, ")");
    options.merge = a->merge;
    options.which = a->which;
    options.gguf_type = parse_ggml_write_type(a->gguf_type, "--gguf-type");
    options.gguf_layers = parse_gguf_layers(a->gguf_layers, "--gguf-layers");
    export_run(a->run, a->out, options);
    std::cout << a->out << "\n";
    return 0;
  };
}

}  // namespace lightpeft::cli
