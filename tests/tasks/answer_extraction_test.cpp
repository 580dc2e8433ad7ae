// LLM-Adapters' answer extraction (commonsense_evaluate.py's extract_answer) on hand-made responses.
#include <gtest/gtest.h>

#include "lightpeft/tasks/answer_extraction.h"

namespace lightpeft {
namespace {

TEST(AnswerExtraction, FirstMatchOfTheSetsPattern) {
  EXPECT_EQ(extract_answer(CommonsenseSet::arc_easy, "the correct answer is answer2"), "answer2");
  // The first match in the text, not the first alternative of the pattern.
  EXPECT_EQ(extract_answer(CommonsenseSet::arc_easy, "answer3, not answer1"), "answer3");
  EXPECT_EQ(extract_answer(CommonsenseSet::openbookqa, "answer5"), "answer5");
  EXPECT_EQ(extract_answer(CommonsenseSet::social_i_qa, "answer6 then answer4"), "answer4");
  EXPECT_EQ(extract_answer(CommonsenseSet::piqa, "solution2 is better than solution1"), "solution2");
  EXPECT_EQ(extract_answer(CommonsenseSet::winogrande, "the answer is option1."), "option1");
  EXPECT_EQ(extract_answer(CommonsenseSet::boolq, "the correct answer is false"), "false");
  // Substrings count, as re.findall finds them: "untrue" holds "true".
  EXPECT_EQ(extract_answer(CommonsenseSet::boolq, "that is untrue"), "true");
  // Case-sensitive, and another set's pattern is no answer.
  EXPECT_EQ(extract_answer(CommonsenseSet::boolq, "True"), "");
  EXPECT_EQ(extract_answer(CommonsenseSet::arc_easy, "Answer2"), "");
  EXPECT_EQ(extract_answer(CommonsenseSet::piqa, "answer1"), "");
  EXPECT_EQ(extract_answer(CommonsenseSet::winogrande, ""), "");
}

TEST(AnswerExtraction, ResponseCutAtARepeatedResponseHeader) {
  // commonsense_evaluate.py keeps split("### Response:")[1]: what follows a second header is gone.
  EXPECT_EQ(extract_answer(CommonsenseSet::arc_easy, "I think\n\n### Response:\nanswer1"), "");
  EXPECT_EQ(clean_generated_response("  the correct answer is answer1\n### Response: answer2"),
            "the correct answer is answer1");
  EXPECT_EQ(clean_generated_response("\n\t answer1 \n"), "answer1");
  EXPECT_EQ(answer_pattern(CommonsenseSet::arc_challenge).size(), 5u);
}

}  // namespace
}  // namespace lightpeft
