#include "lightpeft/train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "lightpeft/core/crash_point.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/io/safetensors.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

const char* kTensors = "trainable.safetensors";
const char* kOptimizer = "optimizer.pt";
const char* kRng = "rng.safetensors";
const char* kState = "trainer_state.json";

void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::optional<int64_t> checkpoint_step(const fs::path& dir) {
  static const std::regex re("checkpoint-([0-9]+)");
  std::smatch m;
  const std::string name = dir.filename().string();
  if (!std::regex_match(name, m, re)) return std::nullopt;
  return std::stoll(m[1]);
}

std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& stage_dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  if (!fs::is_directory(stage_dir)) return out;
  for (const auto& e : fs::directory_iterator(stage_dir)) {
    if (!e.is_directory()) continue;
    if (auto step = checkpoint_step(e.path())) out.emplace_back(*step, e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json state_to_json(const TrainerState& s) {
  return {{"stage", s.stage},           {"global_step", s.global_step},
          {"epoch", s.epoch},           {"batch_in_epoch", s.batch_in_epoch},
          {"global_batch_size", s.global_batch_size},
          {"best_metric", s.best_metric}, {"best_step", s.best_step},
          {"extra", nlohmann::json::parse(s.extra_json)}};
}

TrainerState state_from_json(const nlohmann::json& j) {
  TrainerState s;
  s.stage = j.at("stage").get<std::string>();
  s.global_step = j.at("global_step").get<int64_t>();
  s.epoch = j.at("epoch").get<int64_t>();
  s.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
  s.global_batch_size = j.value("global_batch_size", int64_t{0});
  s.best_metric = j.at("best_metric").get<double>();
  s.best_step = j.at("best_step").get<int64_t>();
  s.extra_json = j.at("extra").dump();
  return s;
}

}  // namespace

void convert_position_for_batch_size(TrainerState& state, int64_t global_batch_size,
                                     const std::string& stage) {
  if (state.global_batch_size > 0 && state.global_batch_size != global_batch_size) {
    const int64_t samples = state.batch_in_epoch * state.global_batch_size;
    const int64_t batch = samples / global_batch_size;
    log::warn(stage, ": the checkpoint counted global batches of ", state.global_batch_size,
              " items, this run has ", global_batch_size, " (another world size or batch size); ",
              "continuing epoch ", state.epoch, " at sample ", batch * global_batch_size, " of the same seeded order",
              batch * global_batch_size == samples ? "" : " (a partly seen batch is seen again)");
    state.batch_in_epoch = batch;
  }
  state.global_batch_size = global_batch_size;
}

std::string file_checksum(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in.good(), file.string(), ": cannot read");
  uint64_t h = 1469598103934665603ULL;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

fs::path save_checkpoint(const fs::path& stage_dir, const TrainerState& state, const StateDict& tensors,
                         Optimizer& optimizer, int64_t keep_last) {
  const fs::path final_dir = stage_dir / ("checkpoint-" + std::to_string(state.global_step));
  const fs::path tmp = stage_dir / ("checkpoint-" + std::to_string(state.global_step) + ".tmp");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  LP_CHECK(!ec, tmp.string(), ": cannot create the checkpoint directory: ", ec.message());

  StateDict cpu;
  for (const auto& [k, v] : tensors) cpu.emplace(k, v.detach().to(at::kCPU));
  save_safetensors(tmp / kTensors, cpu);
  crash_point("checkpoint.write");
  save_safetensors(tmp / kRng, {{"cpu", at::detail::getDefaultCPUGenerator().get_state()}});
  {
    torch::serialize::OutputArchive archive;
    optimizer.adamw().save(archive);
    write_file_atomic(tmp / kOptimizer, [&](std::ostream& os) { archive.save_to(os); });
  }
  nlohmann::json j = state_to_json(state);
  for (const char* f : {kTensors, kRng, kOptimizer})
    j["files"][f] = {{"size", fs::file_size(tmp / f)}, {"fnv1a64", file_checksum(tmp / f)}};
  write_text_atomic(tmp / kState, j.dump(2) + "\n");
  fsync_path(tmp);

  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  LP_CHECK(!ec, final_dir.string(), ": cannot move the checkpoint into place: ", ec.message());
  fsync_path(stage_dir);

  // Rotation: the newest keep_last, and the best one, survive.
  auto all = list_checkpoints(stage_dir);
  int64_t to_drop = static_cast<int64_t>(all.size()) - keep_last;
  for (const auto& [step, dir] : all) {
    if (to_drop <= 0) break;
    if (step == state.best_step || step == state.global_step) continue;
    fs::remove_all(dir, ec);
    --to_drop;
  }
  return final_dir;
}

std::optional<LoadedCheckpoint> load_latest_checkpoint(const fs::path& stage_dir, Optimizer* optimizer) {
  auto all = list_checkpoints(stage_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const fs::path& dir = it->second;
    try {
      std::ifstream in(dir / kState);
      LP_CHECK(in.good(), "no ", kState);
      nlohmann::json j = nlohmann::json::parse(in);
      for (const char* f : {kTensors, kRng, kOptimizer}) {
        LP_CHECK(fs::exists(dir / f), "missing ", f);
        LP_CHECK(j["files"][f]["size"].get<uintmax_t>() == fs::file_size(dir / f), f,
                 " has the wrong size (cut short?)");
        LP_CHECK(j["files"][f]["fnv1a64"].get<std::string>() == file_checksum(dir / f), f,
                 " fails its checksum (corrupted?)");
      }
      LoadedCheckpoint out;
      out.dir = dir;
      out.state = state_from_json(j);
      out.tensors = load_safetensors(dir / kTensors);
      if (optimizer) {
        torch::serialize::InputArchive archive;
        archive.load_from((dir / kOptimizer).string());
        optimizer->adamw().load(archive);
      }
      auto rng = load_safetensors(dir / kRng);
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng.at("cpu"));
      return out;
    } catch (const std::exception& e) {
      log::warn("checkpoint ", dir.string(), " is not usable (", e.what(),
                "); trying the previous one");
    }
  }
  return std::nullopt;
}

}  // namespace lightpeft
