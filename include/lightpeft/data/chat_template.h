#pragma once
// Chat templates: the Jinja2 text in a tokenizer's "chat_template", rendered exactly as transformers'
// apply_chat_template(..., tokenize=False) renders it (jinja2 with trim_blocks and lstrip_blocks, the
// loop controls, raise_exception, transformers' tojson, namespace(), strftime_now). Debian ships no
// C++ Jinja library, so lightpeft implements the part of the language chat templates use:
//
//   {{ }}, {% %}, {# #}, whitespace control (-, +), raw blocks; for (loop.index/index0/revindex/
//   first/last/length/previtem/nextitem/cycle, an `if` filter, else, break, continue), if/elif/else,
//   set (also `a, b = ...`, block sets, namespace attributes), macro, filter blocks, with,
//   {% generation %}; literals, attribute/subscript access, slices, Python's operators, tests and
//   conditional expressions; the common jinja2 filters (trim, length, tojson, default, join, map,
//   select(attr), sort, ...) and str/dict methods (.strip(), .split(), .startswith(), .items(),
//   .get(), ...).
//
// Everything else (extends, include, import, call blocks, recursive loops, *args, `%` string
// formatting, filters jinja2 has and lightpeft lacks) is an error naming the template origin, the
// line and column, and the construct; templates are never silently rendered differently.
// Case mapping covers Unicode's simple mappings plus the common one-to-many ones (ß -> SS); Python's
// final-sigma rule is not applied.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lightpeft {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...: the template decides what it accepts
  std::string content;
};

// Bounds for runaway templates; past one, rendering throws lightpeft::Error.
struct ChatTemplateLimits {
  size_t max_output_bytes = size_t{64} << 20;  // the output and any string built on the way
  int64_t max_steps = 20'000'000;              // evaluated expressions, statements, loop iterations
  int max_depth = 400;                         // evaluation nesting, macro recursion included
};

struct ChatRenderOptions {
  bool add_generation_prompt = false;
  // Undefined in the template when unset (as for a tokenizer without that token), so templates'
  // `bos_token is defined` checks behave as in transformers.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // More variables, as a JSON object: {"tools": [...], "enable_thinking": false, "pad_token": "<pad>"},
  // like apply_chat_template's **kwargs. They override bos_token/eos_token; "messages" and
  // "add_generation_prompt" are refused (pass them above).
  std::string extra_variables_json;
};

class ChatTemplate {
 public:
  // Parses `source`. Throws lightpeft::Error "<origin>:<line>:<col>: <what>" for invalid UTF-8,
  // unclosed tags, bad syntax, unsupported tags and unknown filters or tests.
  explicit ChatTemplate(std::string_view source, std::string origin = "chat template",
                        ChatTemplateLimits limits = {});

  // A chat_template.jinja file (its text) or a tokenizer_config.json (its "chat_template": a
  // string, or the list of {name, template} transformers also accepts, of which "default" is used).
  static ChatTemplate from_file(const std::filesystem::path& path, ChatTemplateLimits limits = {});

  // Renders `messages` ({role, content} dicts, in that key order) with `options`. Errors, including
  // the template's own raise_exception('...'), are lightpeft::Error
  // "<origin>:<line>:<col>: raise_exception: ...".
  std::string render(const std::vector<ChatMessage>& messages, const ChatRenderOptions& options = {}) const;

  // Renders with every variable given as one JSON object text, e.g.
  // {"messages": [{"role": "user", "content": "hi", "tool_calls": [...]}], "add_generation_prompt": true,
  //  "bos_token": "<s>"}. As apply_chat_template does, null-valued message keys are dropped, a
  // message's reasoning ("reasoning_content", "thinking" or "reasoning") is also given under the
  // other names templates read, and tools/documents are None unless given.
  std::string render_json(std::string_view variables_json) const;

  const std::string& origin() const;
  const std::string& source() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// The special tokens of a tokenizer_config.json (bos_token, eos_token, and unk/pad/sep/cls/mask
// tokens into extra_variables_json), as apply_chat_template passes them to the template. Tokens
// may be strings or {"content": ...} objects; absent or null ones stay unset.
ChatRenderOptions chat_options_from_tokenizer_config(const std::filesystem::path& tokenizer_config);

// The chat template of an HF model folder: chat_template.jinja when present (transformers 5 saves
// it there), else tokenizer_config.json's "chat_template"; and the render options of its
// tokenizer_config.json (none when it has no such file). Throws naming the folder when it has no
// template.
ChatTemplate load_chat_template(const std::filesystem::path& model_dir);
ChatRenderOptions chat_options_of(const std::filesystem::path& model_dir);

}  // namespace lightpeft
