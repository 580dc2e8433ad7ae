#pragma once
// Prompt formatting for instruction tuning: each row becomes text split into what the model reads
// (the prompt, whose tokens get label -100) and what it learns to write (the response). Strings
// only; the tokenizing code turns them into ids (it must not add BOS/EOS where the text already
// has them: chat templates usually write both; the Alpaca and custom formats write neither).
//
// Formats:
//   alpaca  Stanford Alpaca's templates, as LLM-Adapters' finetune.py intends them (its source
//           indents the f-string and leaves "  # noqa: E501" inside it; we use the clean text):
//             "Below is an instruction that describes a task, paired with an input that provides
//              further context. Write a response that appropriately completes the request.\n\n
//              ### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
//           and, for rows with an empty input,
//             "Below is an instruction that describes a task. Write a response that appropriately
//              completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
//           The response is the output.
//   chat    the model's chat template. For a conversation whose last assistant message is a_n,
//             prompt   = render(messages before a_n, add_generation_prompt=true)
//             full     = render(messages up to a_n,  add_generation_prompt=false)
//             response = full without its prefix `prompt`: a_n's content as the template writes
//                        it, plus whatever it appends (end-of-turn tokens)
//           so prompt + response == full. A template whose generation-prompt rendering is not a
//           prefix of the full one (templates that rewrite earlier turns, e.g. drop reasoning) is
//           an error for that row, as are messages after the last assistant one.
//           With all_assistant_turns, every assistant message is a response: the pairs
//           (prompt_1, response_1), (prompt_2, response_2), ... concatenate to the full rendering,
//           prompt_k being the text between response_{k-1} and the k-th generation prompt's end.
//           Alpaca rows become [system_prompt] + user (instruction, then "\n\n" and the input when
//           there is one) + assistant (output).
//   custom  a user template with the placeholders {instruction}, {input} and {output}: the prompt
//           is the text up to {output}, the response the output plus the text after {output}
//           (or the output alone when there is no {output}). {instruction} is required; other
//           {identifier}s are errors; other braces are plain text. An optional second template is
//           used for rows with an empty input.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/data/chat_template.h"
#include "lightpeft/data/example.h"  // PromptResponse
#include "lightpeft/data/instruction_data.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

struct ChatPromptOptions {
  // bos_token, eos_token and extra variables for the template (add_generation_prompt is set per
  // rendering by the formatter).
  ChatRenderOptions render;
  bool all_assistant_turns = false;
  // The system message Alpaca rows get when formatted as chat (empty: none).
  std::string system_prompt;
};

enum class PromptStyle { alpaca, chat, custom };

class PromptFormat {
 public:
  static PromptFormat alpaca();
  static PromptFormat chat(ChatTemplate chat_template, ChatPromptOptions options = {});
  // `origin` names the template's source in errors ("config.yaml: prompt_template"); throws
  // lightpeft::Error "<origin>: ..." for a template without {instruction} or with an unknown
  // placeholder.
  static PromptFormat custom(const std::string& text, const std::string& origin,
                             const std::string& text_without_input = "");

  PromptStyle style() const { return style_; }

  // The (prompt, response) pairs of one row; throws lightpeft::Error (without the row's location)
  // when the row does not fit the format.
  std::vector<PromptResponse> format(const InstructionRow& row) const;

 private:
  struct Custom;
  PromptStyle style_ = PromptStyle::alpaca;
  std::shared_ptr<const ChatTemplate> chat_;
  ChatPromptOptions chat_options_;
  std::shared_ptr<const Custom> custom_;
};

struct FormattedRow {
  int64_t index = -1;  // as InstructionRow
  int64_t line = 0;
  std::vector<PromptResponse> turns;  // one pair, or one per assistant turn (all_assistant_turns)
};

// Formats every row. A row the format refuses is an error "<file>: row 3: <what>" /
// "<file>:5: <what>", or counted and skipped with options.skip_bad_rows.
std::vector<FormattedRow> format_instruction_rows(const std::vector<InstructionRow>& rows, const PromptFormat& format,
                                                  const std::filesystem::path& file, const LoadOptions& options = {});

// An instruction file read (load_instruction_file) and formatted, as the trainer's examples:
// Example::turns, ::index (the row's index, or its 0-based position in a JSON Lines file) and
// ::line. Bad rows as above (errors naming the file and the row, or skipped with skip_bad_rows).
std::vector<Example> load_instruction_examples(const std::filesystem::path& file, const PromptFormat& format,
                                               const LoadOptions& options = {});

}  // namespace lightpeft
