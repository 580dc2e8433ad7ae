#include "lightpeft/data/text_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in && !std::filesystem::is_directory(path), path.string(), ": cannot read file");
  std::ostringstream os;
  os << in.rdbuf();
  std::string content = os.str();
  static const std::string kBom = "\xEF\xBB\xBF";
  if (content.compare(0, kBom.size(), kBom) == 0) content.erase(0, kBom.size());
  return content;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte without a lead, or 0xF8..0xFF
    }
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    static const uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::vector<TextLine> split_lines(std::string_view content) {
  std::vector<TextLine> lines;
  size_t start = 0;
  int64_t number = 1;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    const size_t stop = end == std::string_view::npos ? content.size() : end;
    std::string_view line = content.substr(start, stop - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++});
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

std::string line_and_column(std::string_view content, size_t offset) {
  offset = std::min(offset, content.size());
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (content[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

BadRows::BadRows(std::filesystem::path file, const LoadOptions& options)
    : file_(std::move(file)), skip_(options.skip_bad_rows) {}

void BadRows::bad(int64_t line, const std::string& message) {
  std::string full = detail::concat(file_.string(), ":", line, ": ", message);
  if (!skip_) throw Error(full);
  if (count_ == 0) first_ = std::move(full);
  ++count_;
}

void BadRows::bad_at(const std::string& where, const std::string& message) {
  std::string full = detail::concat(file_.string(), ": ", where, ": ", message);
  if (!skip_) throw Error(full);
  if (count_ == 0) first_ = std::move(full);
  ++count_;
}

int64_t BadRows::finish() const {
  if (count_ > 0) {
    log::warn(file_.string(), ": skipped ", count_, " bad row", count_ == 1 ? "" : "s",
              " (skip_bad_rows); first: ", first_);
  }
  return count_;
}

}  // namespace lightpeft
