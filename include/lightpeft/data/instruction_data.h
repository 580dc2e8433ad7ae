#pragma once
// Instruction-tuning rows for decoder LMs, read from a JSON file (a list of objects) or a JSON
// Lines file (one object per line):
//
//   Alpaca / LLM-Adapters: {"instruction": "...", "input": "..." (optional, may be empty or null),
//                           "output": "...", "answer": ... (LLM-Adapters' evaluation answer: a
//                           string, a number or a list of them; optional)}
//   chat:                  {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
//                          with at least one assistant message (the response to train on)
//
// Other keys are ignored. A bad row is an error "<file>: row 3: <what>" (JSON list: the 0-based
// index in the list) or "<file>:5: <what>" (JSON Lines: the line), or, with
// LoadOptions::skip_bad_rows, counted, skipped and reported in one warning. A JSON list file that is
// not valid JSON (or not valid UTF-8) has no rows to skip: that is an error naming the line and
// column either way.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lightpeft/data/chat_template.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

struct InstructionRow {
  int64_t index = -1;  // JSON list: the 0-based position in the list; JSON Lines: -1
  int64_t line = 0;    // JSON Lines: the 1-based line; JSON list: 0
  // Alpaca / LLM-Adapters rows (messages empty)
  std::string instruction;
  std::string input;
  std::string output;
  std::vector<std::string> answer;  // numbers as Python prints them ("2304.0"); empty when absent
  // chat rows
  std::vector<ChatMessage> messages;

  bool is_chat() const { return !messages.empty(); }
  // "row 3" or "line 5"
  std::string location() const;
};

enum class InstructionFileFormat {
  // .jsonl: JSON Lines. Otherwise by content: a JSON list, or (as HF datasets' "json" loader
  // accepts) one object per line.
  auto_detect,
  json,   // a JSON list of objects
  jsonl,  // one JSON object per line; blank lines are skipped
};

// Reads a file of rows (see above); options.max_examples keeps the first rows only.
std::vector<InstructionRow> load_instruction_file(const std::filesystem::path& file, const LoadOptions& options = {},
                                                  InstructionFileFormat format = InstructionFileFormat::auto_detect);

// The same on text already in memory; `origin` stands for the file name in errors (auto_detect
// treats it as a file name for the extension).
std::vector<InstructionRow> parse_instruction_rows(std::string_view content, const std::string& origin,
                                                   const LoadOptions& options = {},
                                                   InstructionFileFormat format = InstructionFileFormat::auto_detect);

}  // namespace lightpeft
