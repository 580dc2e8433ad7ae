// An instruction-data file -> the row reader (JSON list, JSON Lines or detected), then the Alpaca
// and chat prompt formats over the rows it accepts. The first byte picks the format (low 2 bits:
// auto, json, jsonl), skip_bad_rows (0x04) and all_assistant_turns (0x08).
#include "fuzz_support.h"
#include "lightpeft/data/instruction_data.h"
#include "lightpeft/data/prompt_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightpeft;
  if (size == 0) return 0;
  (void)fuzz::scratch_dir();
  static const ChatTemplate kTemplate(
      "{% for m in messages %}{% if loop.first and m.role != 'system' %}<|system|>default\n{% endif %}"
      "<|{{ m.role }}|>{{ m.content | trim }}{% if m.role == 'assistant' %}{{ eos_token }}{% endif %}\n{% endfor %}"
      "{% if add_generation_prompt %}<|assistant|>{% endif %}",
      "fuzz template");
  const uint8_t pick = data[0];
  static const InstructionFileFormat kFormats[] = {InstructionFileFormat::auto_detect, InstructionFileFormat::json,
                                                   InstructionFileFormat::jsonl, InstructionFileFormat::auto_detect};
  fuzz::refuse_only_with_lightpeft_errors([&] {
    LoadOptions options;
    options.skip_bad_rows = (pick & 0x04) != 0;
    const auto rows = parse_instruction_rows(fuzz::as_string(data + 1, size - 1), "data.json", options, kFormats[pick & 3]);
    LoadOptions skip;
    skip.skip_bad_rows = true;
    (void)format_instruction_rows(rows, PromptFormat::alpaca(), "data.json", skip);
    ChatPromptOptions chat;
    chat.render.eos_token = "</s>";
    chat.all_assistant_turns = (pick & 0x08) != 0;
    chat.system_prompt = (pick & 0x10) ? "You are terse." : "";
    (void)format_instruction_rows(rows, PromptFormat::chat(kTemplate, chat), "data.json", skip);
  });
  return 0;
}
