#include "lightpeft/data/csv.h"

#include <utility>

namespace lightpeft {

namespace {

// A small state machine over the whole content; line numbers advance on every '\n', quoted or not.
class CsvParser {
 public:
  CsvParser(std::string_view s, char delim) : s_(s), delim_(delim) {}

  std::vector<CsvRecord> parse() {
    std::vector<CsvRecord> records;
    while (pos_ < s_.size()) {
      if (at_line_end()) {  // blank line: no record
        skip_line_end();
        continue;
      }
      records.push_back(record());
    }
    return records;
  }

 private:
  bool at_line_end() const {
    return s_[pos_] == '\n' || (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n');
  }
  void skip_line_end() {
    if (s_[pos_] == '\r') ++pos_;
    ++pos_;
    ++line_;
  }
  // Skips to just after the next line break (error recovery).
  void skip_rest_of_line() {
    while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
    if (pos_ < s_.size()) {
      ++pos_;
      ++line_;
    }
  }

  CsvRecord record() {
    CsvRecord rec;
    rec.line = line_;
    while (true) {
      std::string field;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        const int64_t open_line = line_;
        if (!quoted_field(field)) {
          rec.error = "unterminated quoted field (opened on line " + std::to_string(open_line) + ")";
          return rec;
        }
        // After the closing quote only a delimiter or the end of the record may follow.
        if (pos_ < s_.size() && s_[pos_] != delim_ && !at_line_end()) {
          rec.error = "unexpected character after a closing quote";
          skip_rest_of_line();
          return rec;
        }
      } else {
        while (pos_ < s_.size() && s_[pos_] != delim_ && !at_line_end()) field += s_[pos_++];
      }
      rec.fields.push_back(std::move(field));
      if (pos_ >= s_.size()) return rec;
      if (s_[pos_] == delim_) {
        ++pos_;
        continue;
      }
      skip_line_end();
      return rec;
    }
  }

  // At an opening quote; reads up to and past the closing one. False at end of input.
  bool quoted_field(std::string& out) {
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') {
        if (pos_ < s_.size() && s_[pos_] == '"') {
          out += '"';
          ++pos_;
          continue;
        }
        return true;
      }
      if (c == '\n') ++line_;
      out += c;
    }
    return false;
  }

  std::string_view s_;
  char delim_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

}  // namespace

std::vector<CsvRecord> parse_csv(std::string_view content, char delimiter) {
  return CsvParser(content, delimiter).parse();
}

}  // namespace lightpeft
