#include "lightpeft/data/prompt_format.h"

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

namespace {

// Stanford Alpaca's PROMPT_DICT (the text LLM-Adapters' generate_prompt means to produce).
const char* const kAlpacaWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";
const char* const kAlpacaNoInput =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n";

enum class Part { text, instruction, input, output };

struct Piece {
  Part part;
  std::string text;  // for Part::text
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

// Splits a template into text and the three placeholders; `{identifier}` with another name is an
// error, any other brace is text.
std::vector<Piece> parse_placeholders(const std::string& text, const std::string& origin) {
  std::vector<Piece> pieces;
  std::string literal;
  bool has_instruction = false;
  int outputs = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && is_ident_start(text[i + 1])) {
      size_t j = i + 1;
      while (j < text.size() && is_ident(text[j])) ++j;
      if (j < text.size() && text[j] == '}') {
        const std::string name = text.substr(i + 1, j - i - 1);
        Part part;
        if (name == "instruction") {
          part = Part::instruction;
          has_instruction = true;
        } else if (name == "input") {
          part = Part::input;
        } else if (name == "output") {
          part = Part::output;
          ++outputs;
        } else {
          throw_error(origin, ": unknown placeholder {", name, "} (expected {instruction}, {input} and {output})");
        }
        if (outputs > 0 && part != Part::output) {
          throw_error(origin, ": the placeholder {", name, "} comes after {output}; the response part may only hold text");
        }
        if (!literal.empty()) pieces.push_back({Part::text, std::move(literal)});
        literal.clear();
        pieces.push_back({part, ""});
        i = j;
        continue;
      }
    }
    literal.push_back(text[i]);
  }
  if (!literal.empty()) pieces.push_back({Part::text, std::move(literal)});
  LP_CHECK(has_instruction, origin, ": the template has no {instruction} placeholder");
  LP_CHECK(outputs <= 1, origin, ": {output} appears ", outputs, " times (at most once)");
  return pieces;
}

PromptResponse fill(const std::vector<Piece>& pieces, const InstructionRow& row) {
  PromptResponse out;
  bool after_output = false;
  for (const Piece& p : pieces) {
    std::string& target = after_output ? out.response : out.prompt;
    switch (p.part) {
      case Part::text: target += p.text; break;
      case Part::instruction: target += row.instruction; break;
      case Part::input: target += row.input; break;
      case Part::output:
        after_output = true;
        out.response += row.output;
        break;
    }
  }
  if (!after_output) out.response = row.output;
  return out;
}

std::vector<ChatMessage> as_chat(const InstructionRow& row, const ChatPromptOptions& options) {
  if (row.is_chat()) return row.messages;
  std::vector<ChatMessage> messages;
  if (!options.system_prompt.empty()) messages.push_back({"system", options.system_prompt});
  messages.push_back({"user", row.input.empty() ? row.instruction : row.instruction + "\n\n" + row.input});
  messages.push_back({"assistant", row.output});
  return messages;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

struct PromptFormat::Custom {
  std::vector<Piece> with_input;
  std::vector<Piece> without_input;  // empty: with_input for every row
};

PromptFormat PromptFormat::alpaca() {
  PromptFormat f;
  f.style_ = PromptStyle::alpaca;
  auto c = std::make_shared<Custom>();
  c->with_input = parse_placeholders(kAlpacaWithInput, "alpaca");
  c->without_input = parse_placeholders(kAlpacaNoInput, "alpaca");
  f.custom_ = std::move(c);
  return f;
}

PromptFormat PromptFormat::chat(ChatTemplate chat_template, ChatPromptOptions options) {
  PromptFormat f;
  f.style_ = PromptStyle::chat;
  f.chat_ = std::make_shared<const ChatTemplate>(std::move(chat_template));
  f.chat_options_ = std::move(options);
  return f;
}

PromptFormat PromptFormat::custom(const std::string& text, const std::string& origin,
                                  const std::string& text_without_input) {
  PromptFormat f;
  f.style_ = PromptStyle::custom;
  auto c = std::make_shared<Custom>();
  c->with_input = parse_placeholders(text, origin);
  if (!text_without_input.empty()) c->without_input = parse_placeholders(text_without_input, origin + " (without input)");
  f.custom_ = std::move(c);
  return f;
}

std::vector<PromptResponse> PromptFormat::format(const InstructionRow& row) const {
  if (style_ != PromptStyle::chat) {
    LP_CHECK(!row.is_chat(), "a chat row ('messages') cannot be written in the ",
             style_ == PromptStyle::alpaca ? "alpaca" : "custom",
             " format, which needs instruction/output rows; use the chat format (a chat template)");
    const auto& pieces = row.input.empty() && !custom_->without_input.empty() ? custom_->without_input
                                                                              : custom_->with_input;
    return {fill(pieces, row)};
  }
  const std::vector<ChatMessage> messages = as_chat(row, chat_options_);
  size_t last = messages.size();
  for (size_t i = messages.size(); i-- > 0;) {
    if (messages[i].role == "assistant") {
      last = i;
      break;
    }
  }
  LP_CHECK(last < messages.size(), "no assistant message to train on");
  LP_CHECK(last + 1 == messages.size(), "messages follow the last assistant message (the conversation ends with a '",
           messages.back().role, "' message); there is no response to train on after them");
  ChatRenderOptions o = chat_options_.render;
  auto render = [&](size_t count, bool generation_prompt) {
    o.add_generation_prompt = generation_prompt;
    return chat_->render(std::vector<ChatMessage>(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(count)), o);
  };
  auto not_prefix = [&](size_t turn) {
    throw_error("the chat template's rendering of the messages before assistant message ", turn,
                " with add_generation_prompt is not a prefix of the rendering that includes it, so prompt and "
                "response cannot be split (does the template rewrite earlier turns?)");
  };
  std::vector<size_t> turns;
  if (chat_options_.all_assistant_turns) {
    for (size_t i = 0; i < messages.size(); ++i) {
      if (messages[i].role == "assistant") turns.push_back(i);
    }
  } else {
    turns.push_back(last);
  }
  std::vector<PromptResponse> out;
  std::string done;  // the rendering of everything before the current turn's prompt
  for (size_t turn : turns) {
    const std::string prompt = render(turn, true);
    const std::string full = render(turn + 1, false);
    if (!starts_with(prompt, done) || !starts_with(full, prompt)) not_prefix(turn);
    out.push_back({prompt.substr(done.size()), full.substr(prompt.size())});
    done = full;
  }
  return out;
}

std::vector<FormattedRow> format_instruction_rows(const std::vector<InstructionRow>& rows, const PromptFormat& format,
                                                  const std::filesystem::path& file, const LoadOptions& options) {
  std::vector<FormattedRow> out;
  int64_t skipped = 0;
  std::string first;
  for (const InstructionRow& row : rows) {
    if (options.max_examples > 0 && static_cast<int64_t>(out.size()) >= options.max_examples) break;
    try {
      FormattedRow f;
      f.index = row.index;
      f.line = row.line;
      f.turns = format.format(row);
      out.push_back(std::move(f));
    } catch (const Error& e) {
      const std::string where = row.index >= 0 ? ": row " + std::to_string(row.index) : ":" + std::to_string(row.line);
      std::string message = file.string() + where + ": " + e.what();
      if (!options.skip_bad_rows) throw Error(message);
      if (skipped++ == 0) first = std::move(message);
    }
  }
  if (skipped > 0) {
    log::warn(file.string(), ": skipped ", skipped, " row", skipped == 1 ? "" : "s",
              " the prompt format refused (skip_bad_rows); first: ", first);
  }
  return out;
}

std::vector<Example> load_instruction_examples(const std::filesystem::path& file, const PromptFormat& format,
                                               const LoadOptions& options) {
  LoadOptions rows_options = options;
  rows_options.max_examples = 0;  // rows the format refuses must not shorten the kept ones
  const std::vector<FormattedRow> rows = format_instruction_rows(load_instruction_file(file, rows_options), format, file, options);
  std::vector<Example> out;
  out.reserve(rows.size());
  for (const FormattedRow& row : rows) {
    Example ex;
    ex.index = row.index >= 0 ? row.index : static_cast<int64_t>(out.size());
    ex.line = row.line;
    ex.turns = row.turns;
    out.push_back(std::move(ex));
  }
  return out;
}

}  // namespace lightpeft
