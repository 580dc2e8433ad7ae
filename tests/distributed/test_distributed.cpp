// Data-parallel training on c10d (Gloo over loopback, CPU): the launch contract, the sharded
// sampler, and whole `lightpeft train` runs with 2 processes against 1 process with the same global
// batch (same weights and pruning plan), plus the failure modes (bad environment, a killed worker).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/data/batcher.h"
#include "lightpeft/distributed/launch_env.h"
#include "lightpeft/distributed/local_launcher.h"
#include "lightpeft/io/safetensors.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

using testing::contains;
using testing::TempDir;
namespace fs = std::filesystem;

dist::EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    dist::read_launch_env(env_of(vars));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchEnv, TorchrunVariables) {
  auto e = dist::read_launch_env(env_of({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                         {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29511"}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rank, 1);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->master_addr, "node7");
  EXPECT_EQ(e->master_port, 29511);
  EXPECT_EQ(e->source, "torchrun");
}

TEST(LaunchEnv, SlurmFallbackAndSingleProcess) {
  auto e = dist::read_launch_env(env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                         {"MASTER_ADDR", "n1"}, {"MASTER_PORT", "29500"}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->rank, 5);
  EXPECT_EQ(e->world_size, 8);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->source, "slurm");
  EXPECT_FALSE(dist::read_launch_env(env_of({})));
  EXPECT_FALSE(dist::read_launch_env(env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}})));
  EXPECT_FALSE(dist::read_launch_env(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})));
}

TEST(LaunchEnv, BadEnvironmentsSayWhatIsWrong) {
  const std::map<std::string, std::string> ok = {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"},
                                                 {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& k, const std::string& v) {
    auto m = ok;
    m[k] = v;
    return m;
  };
  auto without = [&](const std::string& k) {
    auto m = ok;
    m.erase(k);
    return m;
  };
  EXPECT_TRUE(contains(error_of(with("RANK", "2")), "RANK=2 must be below WORLD_SIZE=2"));
  EXPECT_TRUE(contains(error_of(without("MASTER_ADDR")), "MASTER_ADDR is not set"));
  EXPECT_TRUE(contains(error_of(without("MASTER_PORT")), "MASTER_PORT is not set"));
  EXPECT_TRUE(contains(error_of(without("WORLD_SIZE")), "RANK is set but WORLD_SIZE is not"));
  EXPECT_TRUE(contains(error_of(without("RANK")), "WORLD_SIZE is set but RANK is not"));
  EXPECT_TRUE(contains(error_of(with("WORLD_SIZE", "two")), "WORLD_SIZE='two' is not an integer"));
  EXPECT_TRUE(contains(error_of(with("MASTER_PORT", "70000")), "MASTER_PORT=70000 is not a TCP port"));
  EXPECT_TRUE(contains(error_of(with("RANK", "-1")), "RANK='-1'") ||
              contains(error_of(with("RANK", "-1")), "RANK=-1"));
}

TEST(Launcher, DropsNprocFromTheWorkersCommandLine) {
  EXPECT_EQ(dist::without_nproc({"lightpeft", "train", "--nproc", "2", "--config", "c.yaml"}),
            (std::vector<std::string>{"lightpeft", "train", "--config", "c.yaml"}));
  EXPECT_EQ(dist::without_nproc({"lightpeft", "train", "--nproc=3", "--config", "c.yaml"}),
            (std::vector<std::string>{"lightpeft", "train", "--config", "c.yaml"}));
  const int port = dist::free_tcp_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

std::vector<EncodedExample> examples(int n) {
  std::vector<EncodedExample> out;
  for (int i = 0; i < n; ++i) out.push_back({std::vector<int64_t>(1 + i % 5, 7), {}, float(i % 2)});
  return out;
}

TEST(DistributedSampler, ShardsTogetherAreTheSingleProcessBatches) {
  for (bool by_length : {false, true}) {
    BatcherOptions o;
    o.batch_size = 6;
    o.shuffle = true;
    o.group_by_length = by_length;
    o.seed = 11;
    Batcher single(examples(23), o);  // 4 batches, the last one of 5 items
    for (int64_t world : {2, 3, 4}) {
      for (int64_t epoch : {0, 1}) {
        const auto global = single.batches(epoch);
        std::vector<Batcher::Stream> streams;
        std::vector<Batcher> shards;
        shards.reserve(world);
        for (int64_t r = 0; r < world; ++r) {
          BatcherOptions so = o;
          so.num_shards = world;
          so.shard = r;
          shards.emplace_back(examples(23), so);
          ASSERT_EQ(shards.back().num_batches(), single.num_batches());
        }
        for (int64_t r = 0; r < world; ++r) streams.push_back(shards[r].stream(epoch));
        for (const auto& g : global) {
          std::vector<int64_t> joined;
          for (auto& s : streams) {
            auto b = s.next();
            ASSERT_TRUE(b);
            EXPECT_EQ(b->global_items, static_cast<int64_t>(g.size()));
            if (!b->empty()) EXPECT_EQ(b->labels.size(0), static_cast<int64_t>(b->indices.size()));
            joined.insert(joined.end(), b->indices.begin(), b->indices.end());
          }
          EXPECT_EQ(joined, g) << "world " << world << " epoch " << epoch;
        }
        for (auto& s : streams) EXPECT_FALSE(s.next());
      }
    }
  }
  const auto last = shard_range(1, 1, 2);  // a rank may get nothing of a 1-item batch
  EXPECT_EQ(last.first, last.second);
}

// ---- whole runs -------------------------------------------------------------------------------

struct ShellResult {
  int code;
  std::string output;
  double seconds;
};
ShellResult run_shell(const std::string& cmd) {
  const auto t0 = std::chrono::steady_clock::now();
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pipe ? pclose(pipe) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

// The tiny run without dropout (ranks draw different dropout masks than one process would).
fs::path tiny_run(const TempDir& tmp) {
  testing::make_tiny_run_files(tmp.path());
  auto cfg_file = tmp / "model" / "config.json";
  auto j = nlohmann::json::parse(testing::read_file(cfg_file));
  j["hidden_dropout_prob"] = 0.0;
  j["attention_probs_dropout_prob"] = 0.0;
  testing::write_file(cfg_file, j.dump(2));
  return tmp.path();
}

std::string train_cmd(const fs::path& root, const fs::path& out, int per_device, const std::string& extra,
                      int timeout_s = 60) {
  const fs::path cfg = out.string() + ".yaml";
  testing::write_file(cfg, testing::tiny_config_yaml(root, "light-peft", out));
  return "env LIGHTPEFT_DIST_TIMEOUT=" + std::to_string(timeout_s) + " OMP_NUM_THREADS=1 " + testing::cli_path().string() + " train --config " +
         cfg.string() + " --set threads=1 --set lora.dropout=0 --set training.per_device_train_batch_size=" +
         std::to_string(per_device) + " " + extra;
}

StateDict final_weights(const fs::path& out) {
  StateDict all;
  for (const auto& f : fs::directory_iterator(out / "finetune" / "final"))
    if (f.path().extension() == ".safetensors")
      for (auto& [k, v] : load_safetensors(f.path())) all[f.path().filename().string() + ":" + k] = v;
  return all;
}

// Numbers within a tolerance, everything else equal.
void expect_json_near(const nlohmann::json& a, const nlohmann::json& b, const std::string& where) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_NEAR(x, y, 1e-4 * std::max(1.0, std::abs(y))) << where;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << where;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << where << "." << it.key();
      expect_json_near(it.value(), b[it.key()], where + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (size_t i = 0; i < a.size(); ++i) expect_json_near(a[i], b[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

TEST(DistributedTrain, TwoProcessesEqualOneProcessWithTheSameGlobalBatch) {
  TempDir tmp;
  const fs::path root = tiny_run(tmp);
  // Global batch 8: one process x 8, or two processes x 4.
  auto one = run_shell(train_cmd(root, tmp / "one", 8, ""));
  ASSERT_EQ(one.code, 0) << one.output;
  auto two = run_shell(train_cmd(root, tmp / "two", 4, "--nproc 2"));
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_TRUE(contains(two.output, "started 2 workers")) << two.output;
  EXPECT_TRUE(contains(two.output, "dev accuracy")) << two.output;  // rank 0 prints the result

  const std::string log = testing::read_file(tmp / "two" / "train.log");
  EXPECT_TRUE(contains(two.output, "distributed: rank 0 of 2 (local rank 0, torchrun), gloo")) << two.output;
  EXPECT_TRUE(contains(log, "the plans made on all 2 ranks are identical to rank 0's")) << log;
  EXPECT_TRUE(contains(log, "estimate: the trainable parameters of all 2 ranks are identical")) << log;
  EXPECT_TRUE(contains(log, "finetune: the trainable parameters of all 2 ranks are identical")) << log;

  // The plan of two processes is the one-process plan (scores to fp32 rounding, decisions exactly).
  expect_json_near(nlohmann::json::parse(testing::read_file(tmp / "two" / "prune" / "pruning_plan.json")),
                   nlohmann::json::parse(testing::read_file(tmp / "one" / "prune" / "pruning_plan.json")), "plan");

  const StateDict w1 = final_weights(tmp / "one"), w2 = final_weights(tmp / "two");
  ASSERT_FALSE(w1.empty());
  ASSERT_EQ(w1.size(), w2.size());
  for (const auto& [name, a] : w1) {
    ASSERT_TRUE(w2.count(name)) << name;
    const at::Tensor& b = w2.at(name);
    ASSERT_EQ(a.sizes(), b.sizes()) << name;
    const double diff = a.to(at::kDouble).sub(b.to(at::kDouble)).abs().max().item<double>();
    EXPECT_LT(diff, 2e-5) << name << " differs by " << diff;
  }
  // Both wrote the same number of finetune steps' metrics (rank 0 alone writes metrics.jsonl).
  const auto count_lines = [](const std::string& s, const std::string& part) {
    size_t n = 0;
    for (size_t p = s.find(part); p != std::string::npos; p = s.find(part, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count_lines(testing::read_file(tmp / "two" / "metrics.jsonl"), "\"stage\":\"finetune\""),
            count_lines(testing::read_file(tmp / "one" / "metrics.jsonl"), "\"stage\":\"finetune\""));
}

TEST(DistributedTrain, BadLaunchEnvironmentIsAClearError) {
  TempDir tmp;
  const fs::path root = tiny_run(tmp);
  auto r = run_shell("env RANK=2 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29999 " +
                     train_cmd(root, tmp / "bad", 4, ""));
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "error: distributed launch: RANK=2 must be below WORLD_SIZE=2")) << r.output;
  r = run_shell("env RANK=0 WORLD_SIZE=2 MASTER_PORT=29999 " + train_cmd(root, tmp / "bad", 4, ""));
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "MASTER_ADDR is not set")) << r.output;
  // Rank 1 of 2 whose rank 0 never comes: fails at the rendezvous within the timeout.
  const int port = dist::free_tcp_port();
  r = run_shell("env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
                train_cmd(root, tmp / "alone", 4, "", /*timeout_s=*/3));
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "rendezvous at 127.0.0.1:" + std::to_string(port))) << r.output;
  EXPECT_LT(r.seconds, 30.0);  // c10d tries to connect twice
}

// Finds the pids of the processes whose parent is `parent`.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::string text;
  try {
    text = testing::read_file("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  } catch (...) {
    return out;
  }
  std::istringstream in(text);
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

TEST(DistributedTrain, AKilledWorkerFailsTheJobWithAClearMessage) {
  TempDir tmp;
  const fs::path root = tiny_run(tmp);
  // Long enough to be killed mid-way: lora for many steps.
  const fs::path out = tmp / "long";
  const fs::path cfg = out.string() + ".yaml";
  testing::write_file(cfg, testing::tiny_config_yaml(root, "lora", out));
  const fs::path log_file = tmp / "long.out";
  const std::string cmd = "exec env LIGHTPEFT_DIST_TIMEOUT=20 OMP_NUM_THREADS=1 " + testing::cli_path().string() +
                          " train --config " + cfg.string() +
                          " --set threads=1 --set training.max_steps=100000 --set training.eval_steps=100000"
                          " --set training.save_steps=100000 --set training.logging_steps=10 --nproc 2 > " +
                          log_file.string() + " 2>&1";
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until rank 0 reports training steps, then kill rank 1 (the second child).
  const auto t0 = std::chrono::steady_clock::now();
  bool training = false;
  while (!training && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    try {
      training = contains(testing::read_file(out / "train.log"), "[finetune] step 10/");
    } catch (...) {
    }
  }
  ASSERT_TRUE(training) << "the run did not start training: " << testing::read_file(log_file);
  const auto workers = children_of(launcher);
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(kill(workers[1], SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  int status = 0;
  ASSERT_EQ(waitpid(launcher, &status, 0), launcher);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LT(seconds, 30.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  const std::string output = testing::read_file(log_file);
  EXPECT_TRUE(contains(output, "worker rank 1 of 2 was killed by signal 9")) << output;
  // Rank 0 itself noticed: its collective failed with lightpeft's message, or the launcher stopped it.
  EXPECT_TRUE(contains(output, "distributed: rank 0 of 2") || contains(output, "stopping the other workers"))
      << output;
}

TEST(DistributedTrain, ASurvivingRankFailsWithinTheTimeoutWhenItsPeerDies) {
  TempDir tmp;
  const fs::path root = tiny_run(tmp);
  const fs::path out = tmp / "peer";
  const fs::path cfg = out.string() + ".yaml";
  testing::write_file(cfg, testing::tiny_config_yaml(root, "lora", out));
  const int port = dist::free_tcp_port();
  auto start = [&](int rank) {
    const std::string cmd = "exec env LIGHTPEFT_DIST_TIMEOUT=20 OMP_NUM_THREADS=1 RANK=" + std::to_string(rank) +
                            " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
                            testing::cli_path().string() + " train --config " + cfg.string() +
                            " --set threads=1 --set training.max_steps=100000 --set training.eval_steps=100000"
                            " --set training.save_steps=100000 --set training.logging_steps=10 > " +
                            (tmp / ("rank" + std::to_string(rank) + ".out")).string() + " 2>&1";
    const pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  };
  const pid_t r0 = start(0), r1 = start(1);
  ASSERT_GT(r0, 0);
  ASSERT_GT(r1, 0);
  const auto t0 = std::chrono::steady_clock::now();
  bool training = false;
  while (!training && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    try {
      training = contains(testing::read_file(out / "train.log"), "[finetune] step 10/");
    } catch (...) {
    }
  }
  if (!training) {
    kill(r0, SIGKILL);
    kill(r1, SIGKILL);
  }
  ASSERT_TRUE(training) << "the run did not start training: " << testing::read_file(tmp / "rank0.out");
  ASSERT_EQ(kill(r1, SIGKILL), 0);
  const auto killed_at = std::chrono::steady_clock::now();
  int status = 0;
  waitpid(r1, &status, 0);
  ASSERT_EQ(waitpid(r0, &status, 0), r0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count(), 30.0);
  ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status) << ": " << testing::read_file(tmp / "rank0.out");
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const std::string output = testing::read_file(tmp / "rank0.out");
  EXPECT_TRUE(contains(output, "error: distributed: rank 0 of 2: ")) << output;
  EXPECT_TRUE(contains(output, "another worker died, hung or could not be reached")) << output;
}

}  // namespace
}  // namespace lightpeft
