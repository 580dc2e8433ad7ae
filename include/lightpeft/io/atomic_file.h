#pragma once
// Crash-safe file replacement for checkpoints and configs: a reader of `path` sees either the old
// file or the complete new one, never a half-written file, even if the process or machine dies.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace lightpeft {

// Calls `writer` on a stream into a temporary file beside `path` (same directory, so the rename
// stays on one file system), flushes and fsyncs it, renames it over `path` and fsyncs the directory.
// If `writer` throws or any step fails, the temporary file is removed, `path` is left as it was, and
// lightpeft::Error naming the path is thrown (a lightpeft::Error from `writer` is rethrown as is).
// The parent directory must exist.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer);

// write_file_atomic for a whole string (JSON configs, small text files).
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace lightpeft
