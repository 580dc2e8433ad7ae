#pragma once
// LLM-Adapters' answer extraction for the commonsense suite (commonsense_evaluate.py): the model's
// greedy response to the prompt without its output is decoded, cut at a repeated "### Response:"
// (the script decodes prompt and response together and keeps split("### Response:")[1]) and
// stripped; the prediction is then the first match of the set's pattern, case-sensitive and
// anywhere in the text (re.findall(...)[0]):
//   boolq                                     true|false
//   piqa                                      solution1|solution2
//   social_i_qa, arc_easy, arc_challenge,     answer1|answer2|answer3|answer4|answer5
//   openbookqa
//   winogrande                                option1|option2
// No match is the empty answer, which is never right. The prediction is right when it equals the
// row's `answer`.
#include <string>
#include <vector>

#include "lightpeft/data/commonsense.h"

namespace lightpeft {

// The alternatives of the set's pattern, in the pattern's order.
const std::vector<std::string>& answer_pattern(CommonsenseSet set);

// The response as commonsense_evaluate.py keeps it: the text up to a "### Response:" in it, with
// Python's str.strip() whitespace removed at both ends.
std::string clean_generated_response(const std::string& generated);

// The first match of the set's pattern in `response` (after clean_generated_response), or "".
std::string extract_answer(CommonsenseSet set, const std::string& generated);

}  // namespace lightpeft
