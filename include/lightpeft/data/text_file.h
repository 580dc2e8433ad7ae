#pragma once
// Low-level reading of the text files loaders parse: whole-file reads with a clear error, UTF-8
// validation, line splitting with line numbers, and the bad-row policy (throw or count and skip).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lightpeft/data/load_options.h"

namespace lightpeft {

// Reads a file; throws lightpeft::Error "<path>: cannot read file" when it is missing or unreadable.
// A leading UTF-8 byte-order mark (MRPC's header has one) is removed.
std::string read_text_file(const std::filesystem::path& path);

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

struct TextLine {
  std::string_view text;  // without the line ending ("\n" or "\r\n")
  int64_t number = 0;     // 1-based
};
// Splits into lines. A final line ending does not start another (empty) line.
std::vector<TextLine> split_lines(std::string_view content);

// "line:column" (1-based, in bytes) of a byte offset of `content`, for errors about a file as a
// whole (a JSON parse error reports an offset).
std::string line_and_column(std::string_view content, size_t offset);

// Splits on '\t' with no quoting at all: GLUE's own readers use csv.reader(quotechar=None), and MRPC
// and SST-2 texts contain unbalanced '"' characters.
std::vector<std::string_view> split_tabs(std::string_view line);

// What a loader does with a bad row. Without skip_bad_rows, bad() throws
// "<file>:<line>: <message>"; with it, bad() counts and finish() logs one warning with the count.
class BadRows {
 public:
  BadRows(std::filesystem::path file, const LoadOptions& options);
  void bad(int64_t line, const std::string& message);
  // The same for a place that is not a line ("<file>: <where>: <message>"), e.g. a JSON path.
  void bad_at(const std::string& where, const std::string& message);
  // Logs the warning if rows were skipped; returns the number skipped.
  int64_t finish() const;
  int64_t count() const { return count_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  bool skip_;
  int64_t count_ = 0;
  std::string first_;
};

}  // namespace lightpeft
