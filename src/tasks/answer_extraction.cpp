// LLM-Adapters' answer extraction (tasks/answer_extraction.h).
#include "lightpeft/tasks/answer_extraction.h"

namespace lightpeft {
namespace {

// Python's str.strip() without arguments removes Unicode whitespace; the ASCII part (and the
// one-byte-in-Latin-1 ones do not occur in UTF-8 text as single bytes) is what a decoded response
// can hold around its text. Stripping never changes which pattern matches first.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= '\x1c' && c <= '\x1f'); }

}  // namespace

const std::vector<std::string>& answer_pattern(CommonsenseSet set) {
  static const std::vector<std::string> boolq = {"true", "false"};
  static const std::vector<std::string> piqa = {"solution1", "solution2"};
  static const std::vector<std::string> answers = {"answer1", "answer2", "answer3", "answer4", "answer5"};
  static const std::vector<std::string> winogrande = {"option1", "option2"};
  switch (set) {
    case CommonsenseSet::boolq: return boolq;
    case CommonsenseSet::piqa: return piqa;
    case CommonsenseSet::winogrande: return winogrande;
    default: return answers;
  }
}

std::string clean_generated_response(const std::string& generated) {
  std::string text = generated.substr(0, generated.find("### Response:"));
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::string extract_answer(CommonsenseSet set, const std::string& generated) {
  const std::string text = clean_generated_response(generated);
  // re.findall(a|b|...)[0]: the leftmost match; the alternatives never match at the same place.
  size_t best = std::string::npos;
  std::string answer;
  for (const std::string& alternative : answer_pattern(set)) {
    const size_t at = text.find(alternative);
    if (at < best) {
      best = at;
      answer = alternative;
    }
  }
  return answer;
}

}  // namespace lightpeft
