// The `lightpeft` executable as a user runs it: subcommands listed, init-model -> info round trip,
// clear errors for bad input.
#include <array>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "test_support.h"

namespace lightpeft {
namespace {

struct Result {
  int code;
  std::string output;  // stdout and stderr
};

Result run(const std::string& args) {
  std::string cmd = testing::cli_path().string() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Cli, HelpListsSubcommands) {
  auto r = run("--help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* sub : {"train", "info", "init-model"}) EXPECT_TRUE(has(r.output, sub)) << r.output;
}

TEST(Cli, InitModelWritesAModelThatLoadsBackBitExactly) {
  LP_REQUIRE_SHARED(shared);
  testing::TempDir dir;
  auto src = shared / "models/google-bert-uncased-L-4_H-256_A-4-config-vocab-only";
  auto out = dir / "mini";
  auto r = run("init-model --arch bert --config " + (src / "bert_config.json").string() +
               " --vocab " + (src / "vocab.txt").string() + " --seed 7 --num-labels 3 --out " +
               out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "random init")) << r.output;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f;

  // The files load back strictly and carry exactly the tensors written.
  auto loaded = load_pretrained(out, 0, /*strict=*/true);
  EXPECT_EQ(loaded.model->config().num_labels, 3);
  EXPECT_EQ(loaded.model->config().num_hidden_layers, 4);
  auto on_disk = load_safetensors(out / "model.safetensors");
  auto in_model = module_state_dict(*loaded.model);
  ASSERT_EQ(on_disk.size(), in_model.size());
  for (const auto& [k, v] : on_disk) EXPECT_TRUE(v.equal(in_model.at(k))) << k;

  auto info = run("info " + out.string() + " --strict");
  EXPECT_EQ(info.code, 0) << info.output;
  EXPECT_TRUE(has(info.output, "RANDOM-INIT")) << info.output;
  EXPECT_TRUE(has(info.output, "heads:       4 4 4 4")) << info.output;

  // Same seed, same weights: init-model is reproducible.
  auto again = dir / "again";
  ASSERT_EQ(run("init-model --arch bert --config " + (src / "bert_config.json").string() +
                " --vocab " + (src / "vocab.txt").string() + " --seed 7 --num-labels 3 --out " +
                again.string()).code, 0);
  EXPECT_EQ(testing::read_file(out / "model.safetensors"), testing::read_file(again / "model.safetensors"));
}

TEST(Cli, InfoOnAMissingDirectoryIsAClearError) {
  auto r = run("info /nonexistent/model");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "/nonexistent/model")) << r.output;
}

TEST(Cli, InitModelRejectsABadConfig) {
  testing::TempDir dir;
  testing::write_file(dir / "config.json", R"({"model_type": "bert", "vocab_size": 10})");
  testing::write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n");
  auto r = run("init-model --config " + (dir / "config.json").string() + " --vocab " +
               (dir / "vocab.txt").string() + " --out " + (dir / "m").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "config.json: missing key 'hidden_size'")) << r.output;
}

TEST(Cli, UnknownOptionFailsWithUsage) {
  auto r = run("info --bogus x");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(has(r.output, "bogus")) << r.output;
}

}  // namespace
}  // namespace lightpeft
