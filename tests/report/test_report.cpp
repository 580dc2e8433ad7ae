// `lightpeft report` on tiny runs (tiny_run.h: a random-init BERT, a tiny CSV task): a light-peft
// run gets every figure, a lora run only the curves and parameter counts (and the index says why),
// and a directory that is not a run, or a python that is missing, is a clear error.
#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lightpeft/train/trainer.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// ---- running the CLI ----

using testing::contains;
using testing::run_cli;

// Empty when the venv python can plot, else why not.
std::string why_no_matplotlib() {
  const std::string py = testing::python_path();
  if (py.empty()) return "no project python known (LIGHTPEFT_PYTHON)";
  if (!fs::exists(py)) return "python " + py + " does not exist";
  const std::string cmd = "'" + py + "' -c 'import matplotlib, safetensors' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return py + " lacks matplotlib (run tools/setup.sh: tools/requirements.txt pins it)";
  return "";
}

#define LP_REQUIRE_MATPLOTLIB()                                                   \
  do {                                                                            \
    const std::string why = why_no_matplotlib();                                  \
    if (!why.empty()) GTEST_SKIP() << "lightpeft report needs matplotlib: " << why; \
  } while (0)

// A PNG: the 8-byte signature, an IHDR chunk, and more than a blank few hundred bytes.
void expect_png(const fs::path& file) {
  ASSERT_TRUE(fs::is_regular_file(file)) << file;
  const std::string bytes = testing::read_file(file);
  EXPECT_GT(bytes.size(), 5000u) << file;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << file;
  EXPECT_EQ(bytes.substr(12, 4), "IHDR") << file;
  EXPECT_EQ(bytes.substr(bytes.size() - 8, 4), "IEND") << file;
}

std::vector<std::string> pngs_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".png") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_tiny_run_files(root_.path()); }
  fs::path train(const std::string& method) {
    const fs::path out = root_ / method;
    run_training(parse_train_config(testing::tiny_config_yaml(root_.path(), method, out), "test.yaml"));
    return out;
  }
  TempDir root_;
};

const std::vector<std::string> kCommonFigures = {"curves.png", "dev_metrics.png", "parameters.png"};
const std::vector<std::string> kPruningFigures = {"heads.png", "ffn_neurons.png",
                                                  "peft_modules.png", "peft_ranks.png"};

TEST_F(ReportTest, LightPeftRunGetsEveryFigureAndAnIndex) {
  LP_REQUIRE_MATPLOTLIB();
  const fs::path run = train("light-peft");
  auto r = run_cli("report " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path report = run / "report";
  EXPECT_TRUE(contains(r.output, (report / "index.md").string())) << r.output;

  std::vector<std::string> expected = kCommonFigures;
  expected.insert(expected.end(), kPruningFigures.begin(), kPruningFigures.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(pngs_in(report), expected);
  const std::string index = testing::read_file(report / "index.md");
  for (const auto& png : expected) {
    expect_png(report / png);
    EXPECT_TRUE(contains(index, "](" + png + ")")) << png << " not linked from index.md:\n" << index;
  }
  // The final dev metrics as a table, the method and the pruning summary.
  EXPECT_TRUE(contains(index, "| accuracy")) << index;
  EXPECT_TRUE(contains(index, "light-peft")) << index;
  EXPECT_TRUE(contains(index, "random-init")) << index;

  // Running it again replaces the pictures (no error for an existing report/).
  auto again = run_cli("report " + run.string());
  EXPECT_EQ(again.code, 0) << again.output;
}

TEST_F(ReportTest, LoraRunGetsCurvesAndParametersOnlyAndTheIndexSaysWhy) {
  LP_REQUIRE_MATPLOTLIB();
  const fs::path run = train("lora");
  auto r = run_cli("report " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path report = run / "report";
  EXPECT_EQ(pngs_in(report), kCommonFigures);
  const std::string index = testing::read_file(report / "index.md");
  for (const auto& png : kCommonFigures) {
    expect_png(report / png);
    EXPECT_TRUE(contains(index, "](" + png + ")")) << png;
  }
  for (const auto& png : kPruningFigures) EXPECT_FALSE(contains(index, png)) << png;
  EXPECT_TRUE(contains(index, "no pruning")) << index;
  EXPECT_TRUE(contains(index, "| accuracy")) << index;
}

TEST(Report, DirectoryWithoutARunIsAClearError) {
  TempDir dir;
  auto r = run_cli("report " + dir.path().string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "not a lightpeft run")) << r.output;
  EXPECT_TRUE(contains(r.output, dir.path().string())) << r.output;
  EXPECT_FALSE(fs::exists(dir / "report"));

  auto missing = run_cli("report " + (dir / "nope").string());
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_TRUE(contains(missing.output, "no such directory")) << missing.output;
}

TEST(Report, MissingPythonIsAClearError) {
  TempDir dir;
  testing::write_file(dir / "results.json", "{}");
  auto r = run_cli("report " + dir.path().string() + " --python /nonexistent/bin/python");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/bin/python")) << r.output;
  EXPECT_TRUE(contains(r.output, "does not exist")) << r.output;
}

TEST(Report, PythonWithoutMatplotlibIsAClearError) {
  // The system python of the build machine normally lacks matplotlib; skip where it has it.
  const fs::path py = "/usr/bin/python3";
  if (!fs::exists(py)) GTEST_SKIP() << "no /usr/bin/python3 to try";
  if (std::system("/usr/bin/python3 -c 'import matplotlib, numpy, safetensors' >/dev/null 2>&1") == 0)
    GTEST_SKIP() << "/usr/bin/python3 has matplotlib, numpy and safetensors";
  TempDir dir;
  testing::write_file(dir / "results.json", "{}");
  auto r = run_cli("report " + dir.path().string() + " --python " + py.string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot import matplotlib")) << r.output;
}

}  // namespace
}  // namespace lightpeft
