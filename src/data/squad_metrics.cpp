// The official SQuAD EM/F1 (data/squad_metrics.h).
#include "lightpeft/data/squad_metrics.h"

#include <algorithm>
#include <set>

#include <utf8proc.h>

#include "jinja/py_text.h"
#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

namespace {

utf8proc_category_t category(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }

// Unicode's Cased property (Lu, Ll, Lt and the Other_Lowercase/Other_Uppercase letters utf8proc
// knows as lower or upper case).
bool is_cased(char32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
         utf8proc_islower(static_cast<utf8proc_int32_t>(cp)) || utf8proc_isupper(static_cast<utf8proc_int32_t>(cp));
}

// Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the word-internal punctuation of Word_Break
// MidLetter / MidNumLet / Single_Quote.
bool is_case_ignorable(char32_t cp) {
  const auto c = category(cp);
  if (c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
      c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK)
    return true;
  switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return false;
  }
}

// Python's str.lower(): full lower-case mappings (U+0130 -> "i\u0307") and, for U+03A3, the
// Final_Sigma rule: a capital sigma after a cased letter and not before one (case-ignorable
// characters skipped both ways) becomes the final form.
std::u32string py_lower(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != 0x3A3) {
      unicode::append_lowercase(out, s[i]);
      continue;
    }
    size_t j = i;
    while (j > 0 && is_case_ignorable(s[j - 1])) --j;
    bool final_sigma = j > 0 && is_cased(s[j - 1]);
    if (final_sigma) {
      size_t k = i + 1;
      while (k < s.size() && is_case_ignorable(s[k])) ++k;
      final_sigma = k == s.size() || !is_cased(s[k]);
    }
    out.push_back(final_sigma ? 0x3C2 : 0x3C3);
  }
  return out;
}

bool is_ascii_punctuation(char32_t cp) {  // string.punctuation
  return cp < 0x80 && std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(static_cast<char>(cp)) !=
                          std::string_view::npos;
}

// Python's \w on str patterns: str.isalnum() (letters and numbers) or '_'.
bool is_py_word(char32_t cp) { return cp == U'_' || unicode::is_letter(cp) || unicode::is_number(cp); }

std::vector<std::string> tokens(std::string_view text) { return jinja::py_split(squad_normalize(text), std::nullopt, -1); }

}  // namespace

std::string squad_normalize(std::string_view text) {
  std::u32string s = py_lower(unicode::decode_utf8(text));
  s.erase(std::remove_if(s.begin(), s.end(), is_ascii_punctuation), s.end());
  // \b(a|an|the)\b -> " ": a match is exactly a maximal run of word characters spelling one of them.
  std::u32string no_articles;
  for (size_t i = 0; i < s.size();) {
    if (!is_py_word(s[i])) {
      no_articles.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    while (j < s.size() && is_py_word(s[j])) ++j;
    const std::u32string_view word(s.data() + i, j - i);
    if (word == U"a" || word == U"an" || word == U"the")
      no_articles.push_back(U' ');
    else
      no_articles.append(word);
    i = j;
  }
  // " ".join(text.split())
  std::string out;
  size_t i = 0;
  while (i < no_articles.size()) {
    while (i < no_articles.size() && jinja::py_isspace(no_articles[i])) ++i;
    if (i == no_articles.size()) break;
    if (!out.empty()) out.push_back(' ');
    while (i < no_articles.size() && !jinja::py_isspace(no_articles[i])) unicode::append_utf8(out, no_articles[i++]);
  }
  return out;
}

double squad_exact_match(std::string_view gold, std::string_view prediction) {
  return squad_normalize(gold) == squad_normalize(prediction) ? 1.0 : 0.0;
}

double squad_f1(std::string_view gold, std::string_view prediction, SquadVersion version) {
  const std::vector<std::string> g = tokens(gold), p = tokens(prediction);
  if (version == SquadVersion::v2 && (g.empty() || p.empty())) return g == p ? 1.0 : 0.0;
  // Counter(gold) & Counter(prediction): the multiset intersection.
  std::multiset<std::string> remaining(g.begin(), g.end());
  int64_t same = 0;
  for (const auto& t : p) {
    const auto it = remaining.find(t);
    if (it == remaining.end()) continue;
    remaining.erase(it);
    ++same;
  }
  if (same == 0) return 0.0;
  const double precision = static_cast<double>(same) / static_cast<double>(p.size());
  const double recall = static_cast<double>(same) / static_cast<double>(g.size());
  return 2 * precision * recall / (precision + recall);
}

MetricResult squad_scores(const std::vector<SquadGold>& questions, const std::map<std::string, std::string>& predictions,
                          SquadVersion version) {
  LP_CHECK(!questions.empty(), "SQuAD scores of no questions");
  double em = 0, f1 = 0, has_em = 0, has_f1 = 0, no_em = 0, no_f1 = 0;
  int64_t has = 0, no = 0;
  for (const SquadGold& q : questions) {
    const auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      LP_CHECK(version == SquadVersion::v1, "SQuAD v2 scores: no prediction for question '", q.id, "'");
      continue;  // v1.1: an unanswered question scores 0
    }
    std::vector<std::string> gold = q.answers;
    if (version == SquadVersion::v2) {
      gold.erase(std::remove_if(gold.begin(), gold.end(), [](const std::string& a) { return squad_normalize(a).empty(); }),
                 gold.end());
      if (gold.empty()) gold.push_back("");
    }
    LP_CHECK(!gold.empty(), "SQuAD v1.1 scores: question '", q.id, "' has no gold answers");
    double best_em = 0, best_f1 = 0;
    for (const auto& a : gold) {
      best_em = std::max(best_em, squad_exact_match(a, it->second));
      best_f1 = std::max(best_f1, squad_f1(a, it->second, version));
    }
    em += best_em;
    f1 += best_f1;
    // evaluate-v2.0.py splits on the raw answers list, before dropping empty normalisations.
    if (!q.answers.empty()) {
      ++has, has_em += best_em, has_f1 += best_f1;
    } else {
      ++no, no_em += best_em, no_f1 += best_f1;
    }
  }
  MetricResult r;
  r.headline = "f1";
  if (version == SquadVersion::v1) {
    const auto n = static_cast<double>(questions.size());
    r.values = {{"exact_match", 100.0 * em / n}, {"f1", 100.0 * f1 / n}};
    return r;
  }
  const auto n = static_cast<double>(has + no);
  r.values = {{"exact_match", 100.0 * em / n}, {"f1", 100.0 * f1 / n}, {"total", n}};
  if (has > 0) {
    r.values["HasAns_exact"] = 100.0 * has_em / static_cast<double>(has);
    r.values["HasAns_f1"] = 100.0 * has_f1 / static_cast<double>(has);
    r.values["HasAns_total"] = static_cast<double>(has);
  }
  if (no > 0) {
    r.values["NoAns_exact"] = 100.0 * no_em / static_cast<double>(no);
    r.values["NoAns_f1"] = 100.0 * no_f1 / static_cast<double>(no);
    r.values["NoAns_total"] = static_cast<double>(no);
  }
  return r;
}

}  // namespace lightpeft
