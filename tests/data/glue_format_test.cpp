// Each GLUE and SuperGLUE format parsed from tiny files written in the distributed layout
// (including QNLI, MNLI and QQP, whose train files are not in ../shared).
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/glue.h"

namespace lightpeft {
namespace {

using testing::put;
using testing::TempDir;

TEST(GlueFormats, CoLA) {
  TempDir dir;
  put(dir, "CoLA/train.tsv", "gj04\t1\t\tThe sailors rode the breeze.\ngj04\t0\t*\tRope the stretch.\n");
  put(dir, "CoLA/test.tsv", "index\tsentence\n0\tA test sentence.\n1\tAnother.\n");
  const auto train = load_task_split("cola", dir.path(), Split::train);
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[0].text, "The sailors rode the breeze.");
  EXPECT_FALSE(train[0].text_pair);
  EXPECT_EQ(train[0].label, 1.0f);
  EXPECT_EQ(train[1].label, 0.0f);
  EXPECT_EQ(train[1].line, 2);
  EXPECT_EQ(train[1].index, 1);
  const auto test = load_task_split("CoLA", dir.path(), Split::test);
  ASSERT_EQ(test.size(), 2u);
  EXPECT_FALSE(test[0].has_label);
  EXPECT_EQ(test[1].index, 1);
  EXPECT_EQ(test[1].text, "Another.");
}

TEST(GlueFormats, SST2) {
  TempDir dir;
  put(dir, "SST-2/dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\nbleak \"and desperate \t0\n");
  put(dir, "SST-2/test.tsv", "index\tsentence\n0\tuneasy mishmash .\n");
  const auto dev = load_task_split("sst-2", dir.path(), Split::dev);
  ASSERT_EQ(dev.size(), 2u);
  EXPECT_EQ(dev[1].text, "bleak \"and desperate ");  // no quote processing, trailing space kept
  EXPECT_EQ(dev[1].label, 0.0f);
  EXPECT_TRUE(dev[1].has_label);
  const auto test = load_task_split("sst2", dir.path(), Split::test);
  EXPECT_EQ(test.at(0).text, "uneasy mishmash .");
}

TEST(GlueFormats, MRPCWithBom) {
  TempDir dir;
  put(dir, "MRPC/train.tsv",
      "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
      "1\t702876\t702977\tAmrozi accused his brother.\t\"The witness\", Amrozi said.\n");
  put(dir, "MRPC/test.tsv", "index\t#1 ID\t#2 ID\t#1 String\t#2 String\n5\t1\t2\tA.\tB.\n");
  const auto train = load_task_split("mrpc", dir.path(), Split::train);
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train[0].text, "Amrozi accused his brother.");
  EXPECT_EQ(*train[0].text_pair, "\"The witness\", Amrozi said.");
  EXPECT_EQ(train[0].label, 1.0f);
  const auto test = load_task_split("mrpc", dir.path(), Split::test);
  EXPECT_EQ(test.at(0).index, 5);
  EXPECT_EQ(*test.at(0).text_pair, "B.");
}

TEST(GlueFormats, STSB) {
  TempDir dir;
  const std::string header =
      "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2";
  put(dir, "STS-B/dev.tsv", header + "\tscore\n0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\t"
                                     "A man is dancing.\tA man dances.\t4.750\n");
  put(dir, "STS-B/test.tsv", header + "\n3\tmain-captions\tMSRvid\t2012test\t0024\tnone\tnone\tA.\tB.\n");
  const auto dev = load_task_split("sts-b", dir.path(), Split::dev);
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_FLOAT_EQ(dev[0].label, 4.75f);
  EXPECT_EQ(*dev[0].text_pair, "A man dances.");
  EXPECT_TRUE(task_spec("stsb").regression);
  EXPECT_EQ(task_spec("stsb").num_outputs(), 1);
  EXPECT_EQ(load_task_split("stsb", dir.path(), Split::test).at(0).index, 3);
}

TEST(GlueFormats, QQP) {
  TempDir dir;
  put(dir, "QQP/train.tsv",
      "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
      "133273\t213221\t213222\tHow is the life of a math student?\tWhich level of prepration?\t0\n"
      "402555\t536040\t536041\tHow do I control my horny emotions?\tHow do you control it?\t1\n");
  put(dir, "QQP/test.tsv", "id\tquestion1\tquestion2\n0\tWhy?\tHow?\n");
  const auto train = load_task_split("qqp", dir.path(), Split::train);
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[1].index, 402555);
  EXPECT_EQ(train[1].label, 1.0f);
  EXPECT_EQ(*train[0].text_pair, "Which level of prepration?");
  EXPECT_EQ(load_task_split("qqp", dir.path(), Split::test).at(0).text, "Why?");
  EXPECT_EQ(task_spec("qqp").metric, "accuracy_f1");
}

TEST(GlueFormats, MNLIMatchedAndMismatched) {
  TempDir dir;
  const std::string cols =
      "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
      "sentence1_parse\tsentence2_parse\tsentence1\tsentence2";
  put(dir, "MNLI/train.tsv", cols + "\tlabel1\tgold_label\n"
                                    "0\t31193\t31193n\tgovernment\t(a)\t(b)\t(A)\t(B)\tPremise.\tHypothesis.\tneutral\tneutral\n"
                                    "1\t101457\t101457e\ttelephone\t(a)\t(b)\t(A)\t(B)\tP2.\tH2.\tcontradiction\tcontradiction\n");
  const std::string five = "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n";
  put(dir, "MNLI/dev_matched.tsv", cols + five +
                                       "0\t63735\t63735n\tslate\t(a)\t(b)\t(A)\t(B)\tM.\tMH.\tneutral\tentailment\t"
                                       "entailment\tentailment\tneutral\tentailment\n");
  put(dir, "MNLI/dev_mismatched.tsv", cols + five +
                                          "0\t75290\t75290c\tletters\t(a)\t(b)\t(A)\t(B)\tMM.\tMMH.\tcontradiction\t"
                                          "contradiction\tcontradiction\tcontradiction\tcontradiction\tentailment\n");
  put(dir, "MNLI/test_matched.tsv", cols + "\n7\t1\t1n\tslate\t(a)\t(b)\t(A)\t(B)\tT.\tTH.\n");
  const auto train = load_task_split("mnli", dir.path(), Split::train);
  ASSERT_EQ(train.size(), 2u);
  EXPECT_EQ(train[0].label, 1.0f);  // entailment, neutral, contradiction
  EXPECT_EQ(train[1].label, 2.0f);
  EXPECT_EQ(train[1].text, "P2.");
  const auto m = load_task_split("mnli", dir.path(), Split::dev);
  EXPECT_EQ(m.at(0).label, 0.0f);  // gold_label, not label1
  const auto mm = load_task_split("mnli", dir.path(), Split::dev_mismatched);
  EXPECT_EQ(mm.at(0).label, 0.0f);
  EXPECT_EQ(mm.at(0).text, "MM.");
  EXPECT_EQ(load_task_split("mnli", dir.path(), parse_split("test_matched")).at(0).index, 7);
  EXPECT_THROW(load_task_split("rte", dir.path(), Split::dev_mismatched), Error);
}

TEST(GlueFormats, QNLIRTEWNLI) {
  TempDir dir;
  put(dir, "QNLI/train.tsv",
      "index\tquestion\tsentence\tlabel\n0\tWhat came into force?\tThe constitution did.\tentailment\n"
      "1\tWhat city?\tThe Neckar.\tnot_entailment\n");
  put(dir, "RTE/dev.tsv",
      "index\tsentence1\tsentence2\tlabel\n0\tDana Reeve died.\tReeve had an accident.\tnot_entailment\n");
  put(dir, "WNLI/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tI stuck a pin.\tIt had a hole.\t1\n");
  const auto qnli = load_task_split("qnli", dir.path(), Split::train);
  ASSERT_EQ(qnli.size(), 2u);
  EXPECT_EQ(qnli[0].text, "What came into force?");
  EXPECT_EQ(qnli[0].label, 0.0f);
  EXPECT_EQ(qnli[1].label, 1.0f);
  const auto rte = load_task_split("rte", dir.path(), Split::dev);
  EXPECT_EQ(rte.at(0).label, 1.0f);
  EXPECT_EQ(*rte.at(0).text_pair, "Reeve had an accident.");
  EXPECT_EQ(load_task_split("wnli", dir.path(), Split::train).at(0).label, 1.0f);
}

TEST(GlueFormats, DataDirLayouts) {
  TempDir dir;
  put(dir, "glue/RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n");
  put(dir, "superglue/RTE/train.jsonl",
      "{\"premise\": \"P.\", \"hypothesis\": \"H.\", \"label\": \"not_entailment\", \"idx\": 0}\n");
  put(dir, "lower/rte/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tC.\tD.\tentailment\n");
  // <data_dir>/glue/<TASK>, <data_dir>/superglue/<TASK>, the task folder itself, lower-case folders.
  EXPECT_EQ(load_task_split("rte", dir.path(), Split::train).at(0).text, "A.");
  EXPECT_EQ(load_task_split("superglue-rte", dir.path(), Split::train).at(0).text, "P.");
  EXPECT_EQ(load_task_split("rte", dir.path() / "glue" / "RTE", Split::train).at(0).text, "A.");
  EXPECT_EQ(load_task_split("rte", dir.path() / "lower", Split::dev).at(0).text, "C.");
  EXPECT_EQ(task_split_file("super_glue_rte", dir.path(), Split::train).filename(), "train.jsonl");
}

TEST(SuperGlueFormats, BoolQCBRTE) {
  TempDir dir;
  put(dir, "BoolQ/val.jsonl",
      "{\"question\": \"is it true\", \"passage\": \"It is.\", \"idx\": 0, \"label\": true}\n"
      "{\"question\": \"is it false\", \"passage\": \"No.\", \"idx\": 1, \"label\": false}\n");
  put(dir, "CB/train.jsonl",
      "{\"premise\": \"It was complex.\", \"hypothesis\": \"it was peeled\", \"label\": \"neutral\", "
      "\"idx\": 4}\n");
  put(dir, "CB/test.jsonl", "{\"premise\": \"X.\", \"hypothesis\": \"Y\", \"idx\": 0}\n");
  const auto boolq = load_task_split("boolq", dir.path(), Split::dev);
  ASSERT_EQ(boolq.size(), 2u);
  EXPECT_EQ(boolq[0].text, "is it true");
  EXPECT_EQ(*boolq[0].text_pair, "It is.");
  EXPECT_EQ(boolq[0].label, 1.0f);
  EXPECT_EQ(boolq[1].label, 0.0f);
  const auto cb = load_task_split("cb", dir.path(), Split::train);
  EXPECT_EQ(cb.at(0).label, 2.0f);  // entailment, contradiction, neutral
  EXPECT_EQ(cb.at(0).index, 4);
  EXPECT_FALSE(load_task_split("cb", dir.path(), Split::test).at(0).has_label);
}

TEST(SuperGlueFormats, TemplatedTasks) {
  TempDir dir;
  put(dir, "COPA/train.jsonl",
      "{\"premise\": \"My body cast a shadow.\", \"choice1\": \"The sun was rising.\", \"choice2\": "
      "\"The grass was cut.\", \"question\": \"cause\", \"idx\": 0, \"label\": 0}\n"
      "{\"premise\": \"I tipped the bottle.\", \"choice1\": \"It froze.\", \"choice2\": \"It "
      "spilled.\", \"question\": \"effect\", \"idx\": 1, \"label\": 1}\n");
  put(dir, "WiC/train.jsonl",
      "{\"word\": \"place\", \"sentence1\": \"Do you want to come over to my place later?\", "
      "\"sentence2\": \"A political system with no place for the less prominent groups.\", \"idx\": 0, "
      "\"label\": false, \"start1\": 31, \"start2\": 27, \"end1\": 36, \"end2\": 32}\n");
  put(dir, "WSC/train.jsonl",
      "{\"text\": \"Mark told Pete many lies about himself.\", \"target\": {\"span2_index\": 5, "
      "\"span1_index\": 0, \"span1_text\": \"Mark\", \"span2_text\": \"himself\"}, \"idx\": 0, "
      "\"label\": true}\n");
  const auto copa = load_task_split("copa", dir.path(), Split::train);
  ASSERT_EQ(copa.size(), 2u);
  EXPECT_EQ(copa[0].text, "My body cast a shadow. because");
  EXPECT_EQ(copa[1].text, "I tipped the bottle. so");
  EXPECT_EQ(copa[1].choices, (std::vector<std::string>{"It froze.", "It spilled."}));
  EXPECT_EQ(copa[1].label, 1.0f);
  EXPECT_TRUE(task_spec("copa").multiple_choice);
  const auto wic = load_task_split("wic", dir.path(), Split::train);
  EXPECT_EQ(wic.at(0).text,
            "Do you want to come over to my place later? A political system with no place for the "
            "less prominent groups. Does place have the same meaning in both sentences?");
  EXPECT_FALSE(wic.at(0).text_pair);
  EXPECT_EQ(wic.at(0).label, 0.0f);
  const auto wsc = load_task_split("wsc", dir.path(), Split::train);
  EXPECT_EQ(wsc.at(0).text, "himself: Mark told Pete many lies about himself.");
  EXPECT_EQ(*wsc.at(0).text_pair, "Mark");
  EXPECT_EQ(wsc.at(0).label, 1.0f);
}

TEST(SuperGlueFormats, MultiRCOneExamplePerAnswer) {
  TempDir dir;
  put(dir, "MultiRC/val.jsonl",
      "{\"idx\": 0, \"version\": 1.1, \"passage\": {\"text\": \"Sent 1: Tom ran.\", \"questions\": ["
      "{\"question\": \"Who ran?\", \"idx\": 0, \"answers\": [{\"text\": \"Tom\", \"idx\": 0, "
      "\"label\": 1}, {\"text\": \"Ann\", \"idx\": 1, \"label\": 0}]}, {\"question\": \"Did he "
      "walk?\", \"idx\": 1, \"answers\": [{\"text\": \"No\", \"idx\": 2, \"label\": 1}]}]}}\n");
  const auto ex = load_task_split("multirc", dir.path(), Split::dev);
  ASSERT_EQ(ex.size(), 3u);
  EXPECT_EQ(ex[0].text, "Sent 1: Tom ran.");
  EXPECT_EQ(*ex[1].text_pair, "Who ran? Ann");
  EXPECT_EQ(ex[1].label, 0.0f);
  EXPECT_EQ(ex[2].group, 1);
  EXPECT_EQ(ex[2].index, 2);
  EXPECT_EQ(task_spec("multirc").metric, "f1");
}

TEST(TaskSpecs, LabelOrdersAndMetrics) {
  EXPECT_EQ(task_spec("mnli").label_names,
            (std::vector<std::string>{"entailment", "neutral", "contradiction"}));
  EXPECT_EQ(task_spec("qnli").label_names, (std::vector<std::string>{"entailment", "not_entailment"}));
  EXPECT_EQ(task_spec("cb").label_names,
            (std::vector<std::string>{"entailment", "contradiction", "neutral"}));
  EXPECT_EQ(task_spec("cola").metric, "matthews");
  EXPECT_EQ(task_spec("stsb").metric, "pearson_spearman");
  EXPECT_EQ(task_spec("SST-2").name, "sst2");
  EXPECT_EQ(glue_task_names().size(), 9u);
  EXPECT_EQ(superglue_task_names().size(), 7u);
  const std::string err = testing::error_of([] { task_spec("squad"); });
  EXPECT_NE(err.find("unknown task 'squad'"), std::string::npos) << err;
}

}  // namespace
}  // namespace lightpeft
