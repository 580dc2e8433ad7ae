// Encode / decode throughput of one tokenizer on a list of texts (Google Benchmark), to set against
// HF tokenizers' on the same texts (benchmarks/tokenizer_throughput.py writes both inputs and runs
// both sides):
//   BM_Encode       encode(text) with special tokens and offsets, one text at a time, one thread
//   BM_EncodePlain  encode_plain(text): ids only
//   BM_Decode       decode(ids) of each text's ids
// Inputs: LIGHTPEFT_BENCH_TOKENIZER (a model directory or tokenizer.json) and LIGHTPEFT_BENCH_TEXTS
// (a JSON list of strings). Counters: bytes_per_second of input text, items_per_second (texts).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/tokenizers/tokenizer.h"

namespace {

struct Inputs {
  std::unique_ptr<lightpeft::Tokenizer> tokenizer;
  std::vector<std::string> texts;
  int64_t bytes = 0;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs out;
    const char* tok = std::getenv("LIGHTPEFT_BENCH_TOKENIZER");
    const char* texts = std::getenv("LIGHTPEFT_BENCH_TEXTS");
    if (tok == nullptr || texts == nullptr) {
      std::cerr << "set LIGHTPEFT_BENCH_TOKENIZER and LIGHTPEFT_BENCH_TEXTS\n";
      std::exit(2);
    }
    out.tokenizer = lightpeft::load_tokenizer(tok);
    std::ifstream in(texts, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    out.texts = nlohmann::json::parse(buffer.str()).get<std::vector<std::string>>();
    for (const auto& t : out.texts) out.bytes += static_cast<int64_t>(t.size());
    return out;
  }();
  return in;
}

void BM_Encode(benchmark::State& state) {
  const Inputs& in = inputs();
  lightpeft::EncodeOptions options;
  options.truncation = lightpeft::Truncation::none;
  for (auto _ : state) {
    for (const auto& text : in.texts) benchmark::DoNotOptimize(in.tokenizer->encode(text, nullptr, options));
  }
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(in.texts.size()));
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);

void BM_EncodePlain(benchmark::State& state) {
  const Inputs& in = inputs();
  for (auto _ : state) {
    for (const auto& text : in.texts) benchmark::DoNotOptimize(in.tokenizer->encode_plain(text));
  }
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(in.texts.size()));
}
BENCHMARK(BM_EncodePlain)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const Inputs& in = inputs();
  std::vector<std::vector<int64_t>> ids;
  for (const auto& text : in.texts) ids.push_back(in.tokenizer->encode_plain(text));
  for (auto _ : state) {
    for (const auto& seq : ids) benchmark::DoNotOptimize(in.tokenizer->decode(seq));
  }
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(in.texts.size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
