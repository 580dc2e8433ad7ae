// Task names: the commonsense sets for decoders and encoders, BoolQ's two meanings, the ARC encoder
// task's filler choices, and errors for unknown or ambiguous names.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tasks/registry.h"
#include "tasks_test_util.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::contains;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kArcRows = R"([
 {"instruction": "Please choose the correct answer to the question: q1?\n\nAnswer1: a Answer2: b Answer3: c Answer4: d\n\nAnswer format: answer1/answer2/answer3/answer4", "input": "", "output": "the correct answer is answer2", "answer": "answer2"},
 {"instruction": "Please choose the correct answer to the question: q2?\n\nAnswer1: a Answer2: b Answer3: c\n\nAnswer format: answer1/answer2/answer3", "input": "", "output": "the correct answer is answer3", "answer": "answer3"}])";

void write_superglue_boolq(const fs::path& dir) {
  fs::create_directories(dir / "BoolQ");
  const std::string row = R"({"question": "is it", "passage": "It is.", "idx": 0, "label": true})";
  testing::write_file(dir / "BoolQ" / "train.jsonl", row + "\n");
  testing::write_file(dir / "BoolQ" / "val.jsonl", row + "\n");
}

void write_commonsense_boolq(const fs::path& dir) {
  fs::create_directories(dir / "boolq");
  testing::write_file(dir / "boolq" / "test.json",
                      R"([{"instruction": "Please answer the following question with true or false, question: is it?\n\nAnswer format: true/false", "input": "", "output": "the correct answer is true", "answer": "true"}])");
}

TEST(TaskRegistry, BoolqIsWhicheverDataDirHolds) {
  testing::TempDir sg, cs, both, neither;
  write_superglue_boolq(sg.path());
  write_commonsense_boolq(cs.path());
  write_superglue_boolq(both.path());
  write_commonsense_boolq(both.path());
  EXPECT_EQ(make_task("boolq", sg.path())->spec().benchmark, "superglue");
  EXPECT_EQ(make_task("boolq", cs.path())->spec().benchmark, "commonsense");
  EXPECT_EQ(make_task("boolq", cs.path())->name(), "commonsense-boolq");
  for (const auto* dir : {&both, &neither}) {
    const std::string e = error_of([&] { make_task("boolq", dir->path()); });
    EXPECT_TRUE(contains(e, "ambiguous")) << e;
    EXPECT_TRUE(contains(e, "superglue-boolq")) << e;
    EXPECT_TRUE(contains(e, "commonsense-boolq")) << e;
  }
  // The explicit names always work.
  EXPECT_EQ(make_task("superglue-boolq", both.path())->spec().benchmark, "superglue");
  EXPECT_EQ(make_task("commonsense-boolq", both.path())->spec().benchmark, "commonsense");
  EXPECT_EQ(make_task("cs-boolq", both.path())->spec().benchmark, "commonsense");
}

TEST(TaskRegistry, CommonsenseSetsByModelKind) {
  testing::TempDir dir;
  fs::create_directories(dir / "ARC-Easy");
  testing::write_file(dir / "ARC-Easy" / "test.json", kArcRows);
  testing::write_file(dir / "ARC-Easy" / "train.json", kArcRows);
  TaskOptions decoder;
  decoder.causal_lm = true;
  auto lm = make_task("arc_easy", dir.path(), decoder);
  EXPECT_EQ(lm->head(), HeadKind::causal_lm);
  EXPECT_TRUE(lm->evaluates_itself());
  auto mc = make_task("ARC-Easy", dir.path());
  EXPECT_EQ(mc->head(), HeadKind::multiple_choice);  // HF's ...ForMultipleChoice: one score per choice
  EXPECT_EQ(mc->choices_per_item(), 5);
  EXPECT_FALSE(mc->evaluates_itself());
  EXPECT_EQ(make_task("commonsense-boolq", dir.path())->spec().label_names, (std::vector<std::string>{"false", "true"}));
  // piqa has no train.json in LLM-Adapters' data: said when training on it alone.
  fs::create_directories(dir / "piqa");
  testing::write_file(dir / "piqa" / "test.json", "[]");
  auto piqa = make_task("piqa", dir.path(), decoder);
  const std::string e = error_of([&] { piqa->source().check_files({Split::train}); });
  EXPECT_TRUE(contains(e, "no train.json for piqa")) << e;
  // task commonsense is for decoders, with lists.
  EXPECT_TRUE(contains(error_of([&] { make_task("commonsense", dir.path()); }), "decoder"));
  EXPECT_TRUE(contains(error_of([&] { make_task("commonsense", dir.path(), decoder); }), "commonsense.train"));
  // An unknown name lists every kind of task.
  const std::string unknown = error_of([&] { make_task("arc_medium", dir.path()); });
  EXPECT_TRUE(contains(unknown, "unknown task 'arc_medium'")) << unknown;
  EXPECT_TRUE(contains(unknown, "arc_challenge")) << unknown;
  EXPECT_TRUE(contains(unknown, "instruction")) << unknown;
}

TEST(TaskRegistry, ArcEncoderPadsFewerChoicesWithMaskedFillers) {
  testing::TempDir dir;
  fs::create_directories(dir / "ARC-Easy");
  testing::write_file(dir / "ARC-Easy" / "test.json", kArcRows);
  auto task = make_task("arc_easy", dir.path());
  const auto rows = task->source().load(Split::dev, {});
  ASSERT_EQ(rows.size(), 2u);
  testing::TempDir tokdir;
  testing::write_byte_tokenizer(tokdir.path(), true);
  auto tok = load_tokenizer(tokdir.path());
  const EncodedSplit split = task->encode(rows, *tok, 32);
  ASSERT_EQ(split.examples.size(), 10u);  // 2 questions x 5 encodings
  EXPECT_FALSE(split.examples[3].filler_choice);
  EXPECT_TRUE(split.examples[4].filler_choice);
  EXPECT_TRUE(split.examples[8].filler_choice);
  EXPECT_TRUE(split.examples[9].filler_choice);
  BatcherOptions o;
  o.choices_per_example = 5;
  o.pad_id = testing::kPad;
  Batcher batcher(split.examples, o);
  const Batch b = batcher.collate({0, 1});
  ASSERT_TRUE(b.choice_mask.defined());
  EXPECT_EQ(b.choice_mask.sum().item<int64_t>(), 7);  // 4 + 3 real choices
  // A filler's score never wins, whatever the model says.
  ModelOutput out;
  out.logits = at::full({10, 1}, 0.0);
  out.logits[4][0] = 100.0;
  out.logits[1][0] = 1.0;
  out.logits[9][0] = 100.0;
  out.logits[7][0] = 1.0;
  EXPECT_EQ(task->predict(out, b), (std::vector<double>{1, 2}));
  EXPECT_TRUE(std::isfinite(task->loss(out, b).item<double>()));
  EXPECT_EQ(task->format_prediction(2), "answer3");
}

// A user task with labels x and y on these files (no test file).
TaskOptions user_task(const fs::path& train, const fs::path& dev) {
  TaskOptions options;
  options.user = UserTaskFiles{};
  options.user->spec.label_names = {"x", "y"};
  options.user->train_file = train;
  options.user->dev_file = dev;
  return options;
}

// The file-per-split sources (user, SQuAD, instruction) name every missing file of the splits asked
// for, and the config keys of a split without one.
TEST(TaskRegistry, FilePerSplitSourcesNameTheirMissingFiles) {
  testing::TempDir dir;
  testing::write_file(dir / "train.csv", "text,label\na,x\n");
  const fs::path train = dir / "train.csv", gone = dir / "gone.csv";

  TaskOptions user = user_task(train, gone);
  auto task = make_task("user", dir.path(), user);
  EXPECT_EQ(error_of([&] { task->source().check_files({Split::train, Split::dev, Split::test}); }),
            "user task: missing files: dev (" + gone.string() + "); test (no file given)");
  EXPECT_EQ(error_of([&] { task->source().load(Split::test, {}); }),
            "user task: no file for the test split (user_task.train_file, dev_file or test_file)");

  TaskOptions squad;
  squad.squad = SquadTaskFiles{};
  squad.squad->train_file = gone;
  task = make_task("squad", dir.path(), squad);
  EXPECT_EQ(error_of([&] { task->source().check_files({Split::train, Split::test}); }),
            "squad: missing files: train (" + gone.string() + "); test (no file given: squad.test_file; "
            "`lightpeft predict --split dev` predicts the dev file)");

  TaskOptions instruction;
  instruction.instruction = InstructionTaskFiles{};
  instruction.instruction->train_file = train;
  task = make_task("instruction", dir.path(), instruction);
  EXPECT_NO_THROW(task->source().check_files({Split::train}));
  EXPECT_EQ(error_of([&] { task->source().check_files({Split::train, Split::dev}); }),
            "task instruction: missing files: dev (no file given) (instruction.train_file, dev_file, test_file)");
  EXPECT_EQ(error_of([&] { task->source().load(Split::dev, {}); }),
            "task instruction: no file for the dev split (instruction.train_file, dev_file or test_file)");
}

// Which split `lightpeft predict --split` may read is each source's rule: user tasks their unlabelled
// test file only, instruction tuning its test or dev file, the others any split whose file is there.
TEST(TaskRegistry, EachSourceSaysWhichSplitsItPredicts) {
  testing::TempDir dir;
  testing::write_file(dir / "train.csv", "text,label\na,x\n");
  testing::write_file(dir / "test.csv", "text\na\n");
  const fs::path train = dir / "train.csv", test = dir / "test.csv", gone = dir / "gone.csv";

  TaskOptions user = user_task(train, train);
  auto task = make_task("user", dir.path(), user);
  EXPECT_EQ(error_of([&] { task->source().prediction_split("dev"); }),
            "task user predicts user_task.test_file only (--split test), not 'dev'");
  EXPECT_EQ(error_of([&] { task->source().prediction_split("test"); }),
            "key 'user_task.test_file': required to predict (an unlabelled file in the task's format)");
  user.user->test_file = gone;
  task = make_task("user", dir.path(), user);
  EXPECT_EQ(error_of([&] { task->source().prediction_split("test"); }),
            "key 'user_task.test_file': " + gone.string() + " does not exist");
  user.user->test_file = test;
  task = make_task("user", dir.path(), user);
  EXPECT_EQ(task->source().prediction_split("test"), Split::test);

  TaskOptions instruction;
  instruction.instruction = InstructionTaskFiles{};
  instruction.instruction->train_file = train;
  instruction.instruction->dev_file = train;
  task = make_task("instruction", dir.path(), instruction);
  EXPECT_EQ(error_of([&] { task->source().prediction_split("train"); }),
            "task instruction predicts instruction.test_file (--split test) or dev_file (--split dev), not 'train'");
  EXPECT_EQ(error_of([&] { task->source().prediction_split("test"); }),
            "key 'instruction.test_file': required to predict the test split (rows in the training files' format)");
  EXPECT_EQ(task->source().prediction_split("dev"), Split::dev);

  TaskOptions squad;
  squad.squad = SquadTaskFiles{};
  squad.squad->dev_file = gone;
  task = make_task("squad", dir.path(), squad);
  EXPECT_EQ(error_of([&] { task->source().prediction_split("dev"); }),
            "squad: missing files: dev (" + gone.string() + ")");
  EXPECT_EQ(error_of([&] { task->source().prediction_split("tset"); }),
            "unknown split 'tset' (expected train, dev, dev_mismatched, test, test_mismatched)");
}

}  // namespace
}  // namespace lightpeft
