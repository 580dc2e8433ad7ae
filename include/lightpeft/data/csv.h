#pragma once
// A CSV reader in the RFC 4180 dialect that Python's csv module and pandas write: fields separated by
// a delimiter (',' or '\t'), optionally enclosed in double quotes; inside quotes the delimiter and
// line breaks are literal and '""' is one '"'. A '"' inside an unquoted field is kept literally (as
// Python's csv does). Lines may end in "\n" or "\r\n".
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lightpeft {

struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line = 0;  // 1-based line where the record starts
  // Non-empty when the record is malformed (e.g. text after a closing quote, unterminated quote);
  // the reader resynchronises at the next line break and goes on.
  std::string error;
};

// Parses the whole content. Blank lines (outside quotes) produce no record.
std::vector<CsvRecord> parse_csv(std::string_view content, char delimiter = ',');

}  // namespace lightpeft
