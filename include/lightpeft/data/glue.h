#pragma once
// Loaders for the GLUE and SuperGLUE tasks in their distributed file formats.
//
// GLUE (TSV, split on tabs with no quoting, as GLUE's own readers do):
//   cola   no header on train/dev: source, label(0/1), original judgement, sentence; test: index, sentence
//   sst2   sentence, label(0/1); test: index, sentence
//   mrpc   Quality, #1 ID, #2 ID, #1 String, #2 String (header starts with a UTF-8 BOM); test: index first
//   stsb   index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score(0-5)
//   qqp    id, qid1, qid2, question1, question2, is_duplicate; test: id, question1, question2
//   mnli   index, ..., sentence1, sentence2, [label1..label5,] gold_label; dev_matched.tsv,
//          dev_mismatched.tsv, test_matched.tsv, test_mismatched.tsv
//   qnli   index, question, sentence, label(entailment/not_entailment)
//   rte    index, sentence1, sentence2, label(entailment/not_entailment)
//   wnli   index, sentence1, sentence2, label(0/1)
// Columns are found by their header names, so every row must have as many columns as the header.
//
// SuperGLUE (JSONL, one object per line; text templates follow P-tuning v2's tasks/superglue, whose
// preprocessing Light-PEFT's nlu_dataset.py reuses):
//   boolq          text = question, pair = passage; label false/true
//   cb             text = premise, pair = hypothesis; label entailment/contradiction/neutral
//   superglue-rte  text = premise, pair = hypothesis; label entailment/not_entailment
//   copa           multiple choice: text = "<premise> because" (question "cause") or "<premise> so"
//                  ("effect"), choices = {choice1, choice2}; label 0/1 = the right choice
//   wic            text = "<sentence1> <sentence2> Does <word> have the same meaning in both
//                  sentences?", no pair; label false/true
//   wsc            text = "<span2_text>: <text>", pair = span1_text; label false/true (does the
//                  pronoun span2 refer to span1?)
//   multirc        one example per answer: text = passage text, pair = "<question> <answer>";
//                  label 0/1; index = answer idx, group = question idx
//
// Labels map to class ids in GLUE's / HF datasets' order (TaskSpec::label_names).
#include <filesystem>
#include <string>
#include <vector>

#include "lightpeft/data/example.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

// dev_mismatched / test_mismatched exist for MNLI only.
enum class Split { train, dev, dev_mismatched, test, test_mismatched };

// "train", "dev", "dev_mismatched", "test", "test_mismatched".
std::string split_name(Split split);
// Parses a split name; also accepts "validation"/"val" (dev) and "dev_matched"/"test_matched".
Split parse_split(const std::string& name);

// All task names task_spec() knows, GLUE first.
std::vector<std::string> glue_task_names();
std::vector<std::string> superglue_task_names();

// Normalises a task name: case-insensitive, '-', '_' and '.' ignored ("SST-2" == "sst2",
// "STS-B" == "stsb", "super_glue_rte" == "superglue-rte"). Throws lightpeft::Error for an unknown
// task, listing the known ones.
std::string canonical_task_name(const std::string& task);

// Label order and metric of a GLUE/SuperGLUE task:
//   cola: 0,1 matthews | sst2, wnli: 0,1 accuracy | mrpc, qqp: 0,1 accuracy_f1
//   stsb: regression pearson_spearman | mnli: entailment, neutral, contradiction accuracy
//   qnli, rte, superglue-rte: entailment, not_entailment accuracy
//   cb: entailment, contradiction, neutral accuracy_macro_f1 | boolq, wic, wsc: False, True accuracy
//   copa: multiple choice accuracy | multirc: 0,1 f1 (plus exact match over questions)
TaskSpec task_spec(const std::string& task);

// The file a split is read from. `data_dir` may be the task's folder itself, a folder holding task
// folders (<data_dir>/RTE/train.tsv), or one holding glue/ and superglue/ (<data_dir>/glue/RTE/...);
// folder names match case-insensitively. Throws lightpeft::Error naming every path tried when the
// file is in none of them.
std::filesystem::path task_split_file(const std::string& task, const std::filesystem::path& data_dir,
                                      Split split);

// Loads one split. Test splits are unlabelled (Example::has_label false; labels there are ignored).
std::vector<Example> load_task_split(const std::string& task, const std::filesystem::path& data_dir,
                                     Split split, const LoadOptions& options = {});

// Loads one file in `task`'s format for `split`'s layout (labelled unless split is a test split).
std::vector<Example> load_task_file(const std::string& task, const std::filesystem::path& file,
                                    Split split, const LoadOptions& options = {});

// Checks before any work that every (task, split) file exists; throws one lightpeft::Error that
// lists each task with its missing files (e.g. "qnli: train (looked in ...)").
void check_task_files(const std::vector<std::string>& tasks, const std::filesystem::path& data_dir,
                      const std::vector<Split>& splits);

}  // namespace lightpeft
