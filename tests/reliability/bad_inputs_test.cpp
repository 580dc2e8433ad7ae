// The catalogue of bad inputs (docs/reliability.md): for every parser of user files, inputs of
// each class (truncated, wrong types, huge sizes, bad UTF-8, wrong label sets, missing columns, ...)
// must be refused with lightpeft::Error carrying a specific message, never a crash or another
// exception. Inputs the fuzzers found to misbehave are kept here as regression cases.
//
// LIGHTPEFT_PRINT_BAD_INPUTS=1 prints every case as a Markdown table row with the full message
// (the table in docs/reliability.md is that output).
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/chat_template.h"
#include "lightpeft/data/commonsense.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/instruction_data.h"
#include "lightpeft/data/squad.h"
#include "lightpeft/data/prompt_format.h"
#include "lightpeft/data/user_task.h"
#include "lightpeft/io/gguf.h"
#include "lightpeft/io/gguf_hf.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/io/torch_bin.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/peft/peft_config.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"
#include "lightpeft/tokenizers/wordpiece.h"
#include "lightpeft/train/train_config.h"
#include "test_support.h"
#include "../io/gguf_builder.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Case {
  std::string parser;   // what reads the input
  std::string klass;    // truncated, wrong type, huge size, bad UTF-8, ...
  std::string input;    // a few words on the input (for the table)
  std::string bytes;    // the input itself
  std::string expect;   // a part of the error message that must be there
};

// 8-byte little-endian header length + header text + data.
std::string safetensors(const std::string& header, const std::string& data = "", uint64_t n = UINT64_MAX) {
  if (n == UINT64_MAX) n = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

const std::string kBadUtf8 = "caf\xC3\x28";  // 0xC3 must be followed by a continuation byte

class BadInputs : public ::testing::Test {
 protected:
  // Runs `parse` on each case's bytes; each must throw lightpeft::Error containing case.expect.
  void check(const std::vector<Case>& cases, const std::function<void(const std::string&)>& parse) {
    const bool print = std::getenv("LIGHTPEFT_PRINT_BAD_INPUTS") != nullptr;
    for (const Case& c : cases) {
      std::string message;
      try {
        parse(c.bytes);
        ADD_FAILURE() << c.parser << " / " << c.input << ": accepted, expected an error containing '"
                      << c.expect << "'";
        continue;
      } catch (const Error& e) {
        message = e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << c.parser << " / " << c.input << ": threw a non-lightpeft exception: " << e.what();
        continue;
      }
      EXPECT_TRUE(testing::contains(message, c.expect))
          << c.parser << " / " << c.input << ":\n  got:      " << message << "\n  expected: ..." << c.expect << "...";
      if (print) {
        std::string shown = message;
        for (size_t p; (p = shown.find(dir_.path().string())) != std::string::npos;)
          shown.replace(p, dir_.path().string().size(), "DIR");
        for (size_t p; (p = shown.find('|')) != std::string::npos;) shown.replace(p, 1, "\\|");
        for (size_t p; (p = shown.find('\n')) != std::string::npos;) shown.replace(p, 1, " ");
        std::cout << "| " << c.parser << " | " << c.klass << " | " << c.input << " | `" << shown << "` |\n";
      }
    }
  }
  fs::path file(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    testing::write_file(p, bytes);
    return p;
  }
  TempDir dir_;
};

TEST_F(BadInputs, Safetensors) {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  check({
      {"safetensors", "truncated", "4 bytes", std::string("\x10\0\0\0", 4), "shorter than the 8-byte header length"},
      {"safetensors", "truncated", "header length past the end", safetensors("{}", "", 64),
       "runs beyond the end of the file"},
      {"safetensors", "truncated", "data cut short", safetensors("{" + ok_entry + "}", "1234"), "w"},
      {"safetensors", "huge size", "header length 2^60", safetensors("{}", "", 1ull << 60), "exceeds the limit"},
      {"safetensors", "huge size", "shape [2^62, 4]",
       safetensors(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", "12345678"),
       "w"},
      {"safetensors", "wrong type", "dtype 5", safetensors(R"({"w":{"dtype":5,"shape":[2],"data_offsets":[0,8]}})", "12345678"),
       "dtype must be a string"},
      {"safetensors", "wrong type", "negative shape",
       safetensors(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "12345678"),
       "shape must hold non-negative integers"},
      {"safetensors", "unknown value", "dtype F128",
       safetensors(R"({"w":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}})", "12345678"), "unknown or unsupported dtype"},
      {"safetensors", "duplicate", "key twice", safetensors("{" + ok_entry + "," + ok_entry + "}", "12345678"),
       "duplicate key 'w'"},
      {"safetensors", "bad UTF-8", "in the header", safetensors("{\"" + kBadUtf8 + "\":1}"), "not valid JSON"},
      {"safetensors", "not the format", "a text file", safetensors("hello world"), "must start with '{'"},
  },
        [](const std::string& b) {
          parse_safetensors(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "x.safetensors");
        });
}

TEST_F(BadInputs, TorchBin) {
  check({
      {"pytorch_model.bin", "truncated", "empty file", "", "pytorch_model.bin"},
      {"pytorch_model.bin", "not the format", "a text file", "not a zip archive at all\n", "pytorch_model.bin"},
      {"pytorch_model.bin", "truncated", "a zip's first 30 bytes", std::string("PK\x03\x04", 4) + std::string(26, '\0'),
       "pytorch_model.bin"},
  },
        [&](const std::string& b) { load_torch_bin(file("pytorch_model.bin", b)); });
}

TEST_F(BadInputs, ModelConfig) {
  const std::string base = R"("vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2, "intermediate_size": 24)";
  check({
      {"config.json", "truncated", "cut mid-object", "{\"model_type\": \"bert\", \"hidd", "config.json"},
      {"config.json", "wrong type", "num_attention_heads \"4\"",
       "{\"model_type\": \"bert\", " + base + ", \"num_attention_heads\": \"4\"}", "num_attention_heads"},
      {"config.json", "missing key", "no hidden_size",
       R"({"model_type": "bert", "vocab_size": 30, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 24})",
       "hidden_size"},
      {"config.json", "inconsistent", "hidden 16, 3 heads",
       "{\"model_type\": \"bert\", " + base + ", \"num_attention_heads\": 3}", "num_attention_heads"},
      {"config.json", "huge size", "num_hidden_layers 10^12",
       R"({"model_type": "bert", "vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 1000000000000, "num_attention_heads": 4, "intermediate_size": 24})",
       "is beyond the supported 1024"},
      {"config.json", "unknown value", "model_type t5", "{\"model_type\": \"t5\", " + base + ", \"num_attention_heads\": 4}",
       "t5"},
      {"config.json", "bad UTF-8", "in a string", "{\"model_type\": \"" + kBadUtf8 + "\"}", "config.json"},
      {"config.json", "unknown value", "rope_scaling yarn",
       "{\"model_type\": \"llama\", " + base + ", \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}",
       "key 'rope_scaling': unsupported rope_type 'yarn' (supported: default, linear, llama3)"},
      {"config.json", "inconsistent", "6 heads over 4 KV heads",
       "{\"model_type\": \"llama\", \"vocab_size\": 30, \"hidden_size\": 24, \"num_hidden_layers\": 2, "
       "\"intermediate_size\": 24, \"num_attention_heads\": 6, \"num_key_value_heads\": 4}",
       "key 'num_key_value_heads': 4 does not divide num_attention_heads 6"},
  },
        [](const std::string& b) { parse_model_config(b, "config.json"); });
}

TEST_F(BadInputs, TrainConfig) {
  check({
      {"config YAML", "truncated", "unterminated flow list", "task: rte\nlora: {r: [8,\n", "x.yaml"},
      {"config YAML", "wrong type", "learning_rate: fast", "task: rte\nmodel: m\noutput_dir: o\ntraining:\n  learning_rate: fast\n",
       "learning_rate"},
      {"config YAML", "unknown key", "learning_rat (typo)", "task: rte\nmodel: m\noutput_dir: o\ntraining:\n  learning_rat: 0.1\n",
       "learning_rate"},
      {"config YAML", "missing key", "no model", "task: rte\noutput_dir: o\n", "model"},
      {"config YAML", "out of range", "batch size 0",
       "task: rte\nmodel: m\noutput_dir: o\ntraining:\n  per_device_train_batch_size: 0\n", "per_device_train_batch_size"},
      {"config YAML", "huge size", "r: 10^30", "task: rte\nmodel: m\noutput_dir: o\nlora:\n  r: 1000000000000000000000000000000\n",
       "r"},
      {"config YAML", "unknown value", "method: prefix", "task: rte\nmodel: m\noutput_dir: o\nmethod: prefix\n", "method"},
      // Found by fuzz_train_config: a mapping used as a key made yaml-cpp throw a bad conversion.
      {"config YAML", "wrong type", "a mapping as a key", "task: rte\n? {seed: 3}\n: 1\n",
       "x.yaml:2: a key must be a plain name, got a YAML mapping or list"},
      {"config YAML", "bad UTF-8", "in a value", "task: rte\ndata_dir: " + kBadUtf8 + "\nmodel: m\noutput_dir: o\n",
       "x.yaml:2: not valid UTF-8"},
  },
        [](const std::string& b) { parse_train_config(b, "x.yaml"); });
}

TEST_F(BadInputs, VocabTxt) {
  check({
      {"vocab.txt", "truncated", "empty file", "", "vocab.txt"},
      {"vocab.txt", "missing token", "no [SEP]", "[PAD]\n[UNK]\n[CLS]\nhello\n", "[SEP]"},
      {"vocab.txt", "bad UTF-8", "a token", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n" + kBadUtf8 + "\n",
       "vocab.txt:5: the token is not valid UTF-8"},
  },
        [&](const std::string& b) { WordPieceTokenizer::from_vocab_txt(file("vocab.txt", b)); });
}

TEST_F(BadInputs, VocabJsonAndMerges) {
  const std::string vocab = R"({"<s>":0,"<pad>":1,"</s>":2,"<unk>":3,"l":4,"o":5,"lo":6})";
  // bytes: vocab.json, a NUL, merges.txt
  check({
      {"vocab.json", "truncated", "cut mid-object", std::string(R"({"<s>":0,"<pa)") + '\0', "vocab.json"},
      {"vocab.json", "wrong type", "id \"0\"", std::string(R"({"<s>":"0"})") + '\0', "vocab.json"},
      {"vocab.json", "huge size", "id 2^40", std::string(R"({"<s>":0,"<pad>":1,"</s>":2,"<unk>":1099511627776})") + '\0',
       "is beyond the largest supported id"},
      {"vocab.json", "missing token", "no </s>", std::string(R"({"<s>":0,"<pad>":1})") + '\0', "</s>"},
      {"merges.txt", "wrong format", "one token on a line", vocab + '\0' + "#version: 0.2\nl\n", "merges.txt"},
      {"merges.txt", "unknown token", "merge of tokens not in vocab", vocab + '\0' + "x y\n", "merges.txt"},
      {"merges.txt", "bad UTF-8", "a merge", vocab + '\0' + kBadUtf8 + " o\n", "merges.txt"},
  },
        [&](const std::string& b) {
          const size_t nul = b.find('\0');
          ByteBpeTokenizer::from_files(file("vocab.json", b.substr(0, nul)), file("merges.txt", b.substr(nul + 1)));
        });
}

TEST_F(BadInputs, TokenizerJson) {
  check({
      {"tokenizer.json", "truncated", "cut mid-object", R"({"model": {"type": "WordPie)", "tokenizer.json"},
      {"tokenizer.json", "missing key", "no model", R"({"version": "1.0"})", "model"},
      {"tokenizer.json", "unknown value", "model Unigram", R"({"model": {"type": "Unigram", "vocab": []}})", "Unigram"},
      {"tokenizer.json", "missing key", "no pre_tokenizer",
       R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}})", "pre_tokenizer"},
      {"tokenizer.json", "bad UTF-8", "in the vocab", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"" + kBadUtf8 + "\": 0}}}",
       "tokenizer.json"},
  },
        [&](const std::string& b) { load_hf_tokenizer_json(file("tokenizer.json", b)); });
}

TEST_F(BadInputs, GlueTsv) {
  auto load = [&](const std::string& task, const std::string& bytes) {
    load_task_file(task, file("dev.tsv", bytes), Split::dev);
  };
  const std::string header = "index\tsentence1\tsentence2\tlabel\n";
  check({
      {"GLUE TSV (rte)", "truncated", "empty file", "", "dev.tsv"},
      {"GLUE TSV (rte)", "missing column", "no label column", "index\tsentence1\tsentence2\n0\ta\tb\n", "label"},
      {"GLUE TSV (rte)", "wrong label set", "label 'maybe'", header + "0\ta\tb\tmaybe\n", "maybe"},
      {"GLUE TSV (rte)", "missing field", "row of 3 fields", header + "0\ta\tb\n", "dev.tsv"},
      {"GLUE TSV (rte)", "bad UTF-8", "a sentence", header + "0\t" + kBadUtf8 + "\tb\tentailment\n", "UTF-8"},
  },
        [&](const std::string& b) { load("rte", b); });
  check({
      {"GLUE TSV (stsb)", "wrong type", "score 'high'",
       "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
       "0\tg\tf\ty\t0\ts\ts\ta\tb\thigh\n",
       "high"},
      {"GLUE TSV (stsb)", "huge size", "score 1e999",
       "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
       "0\tg\tf\ty\t0\ts\ts\ta\tb\t1e999\n",
       "1e999"},
  },
        [&](const std::string& b) { load("stsb", b); });
}

TEST_F(BadInputs, SuperGlueJsonl) {
  check({
      {"SuperGLUE JSONL (cb)", "truncated", "line cut mid-object", "{\"premise\": \"a\", \"hypo\n", "dev.jsonl"},
      {"SuperGLUE JSONL (cb)", "wrong type", "a JSON array line", "[1, 2]\n", "dev.jsonl"},
      {"SuperGLUE JSONL (cb)", "missing field", "no hypothesis", R"({"premise": "a", "idx": 0, "label": "neutral"})" "\n",
       "hypothesis"},
      {"SuperGLUE JSONL (cb)", "wrong type", "idx \"0\"",
       R"({"premise": "a", "hypothesis": "b", "idx": "0", "label": "neutral"})" "\n", "idx"},
      {"SuperGLUE JSONL (cb)", "wrong label set", "label 'maybe'",
       R"({"premise": "a", "hypothesis": "b", "idx": 0, "label": "maybe"})" "\n", "maybe"},
      {"SuperGLUE JSONL (cb)", "bad UTF-8", "a premise",
       "{\"premise\": \"" + kBadUtf8 + "\", \"hypothesis\": \"b\", \"idx\": 0, \"label\": \"neutral\"}\n", "UTF-8"},
  },
        [&](const std::string& b) { load_task_file("cb", file("dev.jsonl", b), Split::dev); });
}

TEST_F(BadInputs, UserFiles) {
  UserTaskSpec spec;
  spec.format = UserFileFormat::csv;
  spec.label_names = {"neg", "pos"};
  check({
      {"user CSV", "missing column", "no text column", "sentence,label\ngood,pos\n", "no column 'text'"},
      {"user CSV", "wrong label set", "label 'meh'", "text,label\ngood,pos\nok,meh\n", "meh"},
      {"user CSV", "truncated", "unterminated quote", "text,label\n\"good,pos\n", "data.csv"},
      {"user CSV", "missing field", "row of 1 field", "text,label\ngood\n", "data.csv"},
      {"user CSV", "bad UTF-8", "a text", "text,label\n" + kBadUtf8 + ",pos\n", "UTF-8"},
  },
        [&](const std::string& b) { load_user_file(file("data.csv", b), spec); });
  UserTaskSpec reg;
  reg.format = UserFileFormat::jsonl;
  reg.regression = true;
  check({
      {"user JSONL", "wrong type", "label \"high\" (regression)", R"({"text": "a", "label": "high"})" "\n", "high"},
      {"user JSONL", "wrong type", "text 5", R"({"text": 5, "label": 1.0})" "\n", "text"},
      {"user JSONL", "huge size", "label 1e300 (regression)", R"({"text": "a", "label": 1e300})" "\n",
       "is beyond the float32 range"},
      {"user JSONL", "missing column", "no text", R"({"label": 1.0})" "\n", "text"},
  },
        [&](const std::string& b) { load_user_file(file("data.jsonl", b), reg); });
}

TEST_F(BadInputs, AdapterConfig) {
  auto parse = [](const std::string& b) {
    if (peft_type_of(b, "adapter_config.json") == PeftType::lora)
      parse_lora_config(b, "adapter_config.json");
    else
      parse_adapter_config(b, "adapter_config.json");
  };
  check({
      {"adapter_config.json", "truncated", "cut mid-object", R"({"peft_type": "LO)", "adapter_config.json"},
      {"adapter_config.json", "missing key", "no peft_type", R"({"r": 8})", "peft_type"},
      {"adapter_config.json", "unknown value", "peft_type PREFIX_TUNING", R"({"peft_type": "PREFIX_TUNING"})",
       "PREFIX_TUNING"},
      {"adapter_config.json", "wrong type", "r \"8\"", R"({"peft_type": "LORA", "r": "8", "target_modules": ["query"]})", "'r'"},
      // Found by fuzz_adapter_config: a float r beyond int64 was cast to an integer (undefined).
      {"adapter_config.json", "huge size", "r 8.4e49 (a float)", R"({"peft_type": "LORA", "r": 84444444444444444444444444444444444444444444444444})",
       "key 'r': expected an integer, got 8.444444444444445e+49"},
      {"adapter_config.json", "out of range", "r -1", R"({"peft_type": "LORA", "r": -1, "target_modules": ["query"]})", "r"},
      {"adapter_config.json", "wrong type", "bad regex target", R"({"peft_type": "LORA", "r": 8, "target_modules": "(("})",
       "target_modules"},
      // Found by fuzz_adapter_config: libstdc++'s regex compiler overflowed a long on a huge repeat count.
      {"adapter_config.json", "huge size", "regex repeat count of 24 digits",
       R"({"peft_type": "LORA", "r": 8, "target_modules": "task{999999999999999999999999,}"})",
       "key 'target_modules': regular expression \"task{999999999999999999999999,}\": repeat count "
       "999999999999999999999999 is above 1000"},
      // Found by fuzz_adapter_config: the same overflow on a backreference's number.
      {"adapter_config.json", "huge size", "regex backreference of 19 digits",
       R"({"peft_type": "LORA", "r": 8, "target_modules": "(a)\\9999999999999999999"})",
       "backreference \\9999999999999999999 is above 1000"},
      {"adapter_config.json", "huge size", "regex repeat bound above 1000",
       R"({"peft_type": "LORA", "r": 8, "target_modules": "q{2,5000}"})", "repeat count 5000 is above 1000"},
      {"adapter_config.json", "bad UTF-8", "a target", "{\"peft_type\": \"LORA\", \"target_modules\": [\"" + kBadUtf8 + "\"]}",
       "adapter_config.json"},
  },
        parse);
}

TEST_F(BadInputs, PruningPlan) {
  const std::string head = R"({"format": "lightpeft-pruning-plan", "version": 1, "options": {"head_ratio": 0.25,
    "head_scope": "layerwise", "neuron_ratio": 0.5, "neuron_scope": "global", "module_ratio": 0.5, "rank_ratio": 0.5,
    "importance": "mask"}, "module_threshold": null, "rank_threshold": null, )";
  check({
      {"pruning_plan.json", "truncated", "cut mid-object", head, "pruning_plan.json"},
      {"pruning_plan.json", "wrong format", "another JSON file", R"({"format": "other", "version": 1})", "format"},
      {"pruning_plan.json", "out of range", "kept head 7 of 4",
       head + R"("modules": [], "layers": [{"heads": {"scores": [1,2,3,4], "threshold": null, "kept": [0, 7]},
         "neurons": {"scores": [1], "threshold": null, "kept": [0]}}]})",
       "kept"},
      {"pruning_plan.json", "wrong type", "score \"high\"",
       head + R"("layers": [], "modules": [{"path": "m", "score": "high", "kept": true, "rank_scores": [], "kept_ranks": []}]})",
       "score"},
      {"pruning_plan.json", "duplicate", "module listed twice",
       head + R"("layers": [], "modules": [{"path": "m", "score": 1, "kept": true, "rank_scores": [1], "kept_ranks": [0]},
         {"path": "m", "score": 1, "kept": true, "rank_scores": [1], "kept_ranks": [0]}]})",
       "listed twice"},
      {"pruning_plan.json", "huge size", "ratio 1e999", R"({"format": "lightpeft-pruning-plan", "version": 1, "options": {"head_ratio": 1e999}})",
       "not valid JSON"},
  },
        [](const std::string& b) { parse_pruning_plan(b, "pruning_plan.json"); });
}

TEST_F(BadInputs, Gguf) {
  using testing::GgufBuilder;
  auto small = [] {
    GgufBuilder b;
    b.str("general.architecture", "llama").u32("llama.block_count", 1);
    b.tensor_f32("w", {2}, {1, 2});
    return b;
  };
  const std::string good = small().bytes();
  std::string long_string;
  GgufBuilder::put_u64(long_string, 1000000);
  std::string huge_array;
  GgufBuilder::put_u32(huge_array, 8);
  GgufBuilder::put_u64(huge_array, uint64_t{1} << 60);
  check({
      {"model.gguf", "not the format", "a text file", "hello world, not a model", "not a GGUF file"},
      {"model.gguf", "truncated", "tensor data cut short", good.substr(0, good.size() - 2),
       "tensor 'w': data [0, 8) of F32 [2] runs past the end of the data section"},
      {"model.gguf", "truncated", "string length past the end", GgufBuilder().kv("k", GgufBuilder::typed(8, long_string)).bytes(),
       "key 'k': string length 1000000"},
      {"model.gguf", "huge size", "2^60 metadata entries", small().count_kv(uint64_t{1} << 60).bytes(),
       "header claims 1152921504606846976 metadata entries"},
      {"model.gguf", "huge size", "array of 2^60 strings", small().kv("t.a", GgufBuilder::typed(9, huge_array)).bytes(),
       "key 't.a': array of 1152921504606846976 STRING"},
      {"model.gguf", "huge size", "dims 2^62 x 8", small().tensor("t", {uint64_t{1} << 62, 8}, 0, "").bytes(),
       "tensor 't': dimensions [4611686018427387904, ...] overflow"},
      {"model.gguf", "out of range", "offset past the end", small().offset_of("w", uint64_t{1} << 40).bytes(),
       "tensor 'w': data [1099511627776, 1099511627784)"},
      {"model.gguf", "out of range", "offset not aligned", small().tensor_f32("v", {1}, {3}).offset_of("v", 8).bytes(),
       "tensor 'v': data offset 8 is not a multiple of the alignment 32"},
      {"model.gguf", "duplicate", "two tensors share bytes", small().tensor_f32("v", {1}, {3}).offset_of("v", 0).bytes(),
       "tensor 'v': data at offset 0 overlaps tensor 'w'"},
      {"model.gguf", "duplicate", "key twice", small().u32("llama.block_count", 2).bytes(),
       "duplicate metadata key 'llama.block_count'"},
      {"model.gguf", "unknown value", "tensor type 99", small().tensor("t", {2}, 99, "12345678").bytes(),
       "tensor 't': unknown tensor type 99"},
      {"model.gguf", "unknown value", "value type 13", small().kv("k", GgufBuilder::typed(13, "")).bytes(),
       "key 'k': unknown value type 13"},
      {"model.gguf", "unknown value", "version 1", small().version(1).bytes(), "GGUF version 1 is not supported"},
      {"model.gguf", "wrong type", "alignment as INT32", small().i32("general.alignment", 64).bytes(),
       "key 'general.alignment': expected UINT32, got 64 (INT32)"},
  },
        [&](const std::string& b) { GgufFile::open(file("model.gguf", b)); });
  // Conversion to an HF folder: what the file says must fit HF's model.
  const std::string llama_header = GgufBuilder()
                                       .str("general.architecture", "llama")
                                       .u32("llama.embedding_length", 4)
                                       .u32("llama.feed_forward_length", 4)
                                       .u32("llama.block_count", 1)
                                       .u32("llama.attention.head_count", 2)
                                       .bytes();
  check({
      {"model.gguf (to HF)", "unknown value", "architecture gpt2", GgufBuilder().str("general.architecture", "gpt2").bytes(),
       "architecture 'gpt2' cannot be converted to an HF model folder (supported: llama)"},
      {"model.gguf (to HF)", "missing key", "no embedding_length", GgufBuilder().str("general.architecture", "llama").bytes(),
       "key 'llama.embedding_length': missing from the GGUF metadata"},
      {"model.gguf (to HF)", "missing key", "no vocabulary, no tensors", llama_header, "cannot tell the vocabulary size"},
      // Per-layer arrays (a pruned model's file, lightpeft export --gguf-layers per-layer).
      {"model.gguf (to HF)", "wrong size", "per-layer array of 1 for 2 layers",
       GgufBuilder().str("general.architecture", "llama").u32("llama.embedding_length", 4)
           .u32("llama.block_count", 2).i32_array("llama.feed_forward_length", {4})
           .u32("llama.attention.head_count", 2).bytes(),
       "key 'llama.feed_forward_length': expected one value per layer (2), got 1"},
      {"model.gguf (to HF)", "inconsistent", "group sizes differ by layer",
       GgufBuilder().str("general.architecture", "llama").u32("llama.embedding_length", 4)
           .u32("llama.block_count", 2).u32("llama.feed_forward_length", 4)
           .i32_array("llama.attention.head_count", {2, 2}).i32_array("llama.attention.head_count_kv", {1, 2}).bytes(),
       "layer 1 has 1 query heads per KV head, layer 0 2"},
  },
        [&](const std::string& b) { write_hf_folder(file("model.gguf", b), dir_ / "hf"); });
}

TEST_F(BadInputs, ChatTemplate) {
  check({
      {"chat template", "truncated", "unclosed if", "{% for m in messages %}{{ m.content }}{% endfor %}{% if x %}",
       "chat_template.jinja:1:54: the 'if' tag opened here is never closed"},
      {"chat template", "truncated", "unclosed print", "{{ messages[0].content", "chat_template.jinja:1:1: '{{' is never closed"},
      {"chat template", "unknown value", "filter frobnicate", "{{ messages | frobnicate }}",
       "chat_template.jinja:1:15: unknown filter 'frobnicate'"},
      {"chat template", "unknown value", "tag include", "{% include 'other.jinja' %}",
       "chat_template.jinja:1:4: the '{% include %}' tag is not supported"},
      {"chat template", "wrong format", "1 +", "{{ 1 + }}", "chat_template.jinja:1:8: unexpected end of print statement"},
      {"chat template", "wrong type", "'a' + 1", "{{ 'a' + 1 }}", "chat_template.jinja:1:4: can only concatenate str"},
      {"chat template", "huge size", "nesting 1000 deep", "{{ " + std::string(1000, '[') + std::string(1000, ']') + " }}",
       "levels"},
      {"chat template", "huge size", "a runaway loop", "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
       "evaluation steps"},
      {"chat template", "bad UTF-8", "in the text", "{{ 1 }}\n" + kBadUtf8, "chat_template.jinja:2:4: the template is not valid UTF-8"},
      {"chat template", "refused input", "raise_exception", "{{ raise_exception('System role not supported') }}",
       "chat_template.jinja:1:4: raise_exception: System role not supported"},
  },
        [](const std::string& b) {
          ChatTemplateLimits limits;
          limits.max_steps = 1000000;
          ChatTemplate(b, "chat_template.jinja", limits).render({{"user", "hi"}});
        });
}

TEST_F(BadInputs, InstructionData) {
  check({
      {"instruction JSON", "truncated", "cut mid-list", R"([{"instruction": "a", "output": "b"}, {"instr)",
       "train.json:1:46: not valid JSON"},
      {"instruction JSON", "missing field", "no output", R"([{"instruction": "a", "input": ""}])",
       "train.json: row 0: missing 'output' (the response to train on)"},
      {"instruction JSON", "missing field", "no assistant message", R"([{"messages": [{"role": "user", "content": "hi"}]}])",
       "train.json: row 0: no assistant message"},
      {"instruction JSON", "unknown value", "role tool",
       R"([{"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]}])",
       "train.json: row 0: messages[1]: unknown role 'tool' (expected system, user or assistant)"},
      {"instruction JSON", "wrong type", "content 5",
       R"([{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": 5}]}])",
       "train.json: row 0: messages[1]: 'content' is not a string (got number)"},
      {"instruction JSON", "wrong type", "an object, not a list", "{\n \"rows\": []\n}",
       "train.json: expected a JSON list of rows (or one JSON object per line), got a JSON object with keys: rows"},
      {"instruction JSON", "bad UTF-8", "an instruction", "[{\"instruction\": \"" + kBadUtf8 + "\", \"output\": \"b\"}]",
       "train.json:1:22: invalid UTF-8"},
  },
        [&](const std::string& b) { parse_instruction_rows(b, "train.json", {}, InstructionFileFormat::auto_detect); });
  check({
      {"instruction JSONL", "missing field", "no output", R"({"instruction": "a"})" "\n", "train.jsonl:1: missing 'output'"},
      {"instruction JSONL", "truncated", "line cut mid-object", "{\"instruction\": \"a\", \"out\n", "train.jsonl:1: invalid JSON"},
      {"instruction JSONL", "bad UTF-8", "a message", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + kBadUtf8 + "\"}]}\n",
       "train.jsonl:1: invalid UTF-8"},
  },
        [&](const std::string& b) { load_instruction_file(file("train.jsonl", b)); });
  check({
      {"prompt template", "missing field", "no {instruction}", "Q: {input}\nA: {output}",
       "template: the template has no {instruction} placeholder"},
      {"prompt template", "unknown value", "placeholder {question}", "Q: {question}\nA: {output}",
       "template: unknown placeholder {question} (expected {instruction}, {input} and {output})"},
      {"prompt template", "wrong format", "{output} twice", "{instruction} {output} {output}",
       "template: {output} appears 2 times (at most once)"},
  },
        [&](const std::string& b) { PromptFormat::custom(b, "template"); });
}

// LLM-Adapters' commonsense files (data/commonsense.h): the rows must have the set's layout.
TEST_F(BadInputs, CommonsenseData) {
  const std::string arc = "Please choose the correct answer to the question: Why?\\n\\nAnswer1: a Answer2: b\\n\\n"
                          "Answer format: answer1/answer2";
  auto row = [](const std::string& instruction, const std::string& extra) {
    return "[{\"instruction\": \"" + instruction + "\", \"input\": \"\"" + extra + "}]";
  };
  check({
      {"commonsense JSON", "missing field", "no output", row(arc, R"(, "answer": "answer1")"),
       "test.json: row 0: missing 'output' (the response to train on)"},
      {"commonsense JSON", "missing field", "no answer", row(arc, R"(, "output": "the correct answer is answer1")"),
       "test.json: row 0: expected one 'answer' (answerN), got 0"},
      {"commonsense JSON", "unknown value", "answer answer3 of 2",
       row(arc, R"(, "output": "the correct answer is answer3", "answer": "answer3")"),
       "test.json: row 0: arc_easy: answer \"answer3\" is not one of answer1, answer2"},
      {"commonsense JSON", "wrong format", "no answer format",
       row("Please choose the correct answer to the question: Why?", R"(, "output": "x", "answer": "answer1")"),
       "test.json: row 0: arc_easy: the instruction has no"},
      {"commonsense JSON", "wrong format", "another set's row",
       row("Please answer the following question with true or false, question: is it?\\n\\nAnswer format: true/false",
           R"(, "output": "the correct answer is true", "answer": "true")"),
       "test.json: row 0: arc_easy: the instruction does not start with"},
      {"commonsense JSON", "wrong format", "a chat row",
       R"([{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}])",
       "test.json: row 0: a chat row ('messages'); LLM-Adapters' rows have instruction/output/answer"},
  },
        [&](const std::string& b) { load_commonsense_file(CommonsenseSet::arc_easy, file("test.json", b)); });
}

TEST_F(BadInputs, Squad) {
  // A SQuAD file around one question (`q`) of the paragraph "The cat sat on the mat.".
  auto one = [](const std::string& q) {
    return R"({"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "The cat sat on the mat.", "qas": [)" + q +
           "]}]}]}";
  };
  check({
      {"SQuAD JSON", "truncated", "cut mid-object", R"({"data": [{"paragraphs": [{"context": "x", "qa)",
       "dev.json:1:47: not valid JSON"},
      {"SQuAD JSON", "wrong type", "a list, not an object", "[]",
       "dev.json: expected a SQuAD JSON object with a 'data' list, got a JSON array"},
      {"SQuAD JSON", "missing field", "no data", R"({"version": "1.1"})",
       "dev.json: expected a SQuAD JSON object with a 'data' list of articles (the object has no 'data')"},
      {"SQuAD JSON", "missing field", "no id", one(R"({"question": "Who?", "answers": []})"),
       "dev.json: data[0].paragraphs[0].qas[0]: has no 'id'"},
      {"SQuAD JSON", "wrong type", "answer_start \"4\"",
       one(R"({"id": "q1", "question": "Who?", "answers": [{"text": "cat", "answer_start": "4"}]})"),
       "dev.json: question 'q1' (data[0].paragraphs[0].qas[0]): answers[0].answer_start is not an integer (got string \"4\")"},
      {"SQuAD JSON", "inconsistent", "answer_start pointing elsewhere",
       one(R"({"id": "q1", "question": "Who?", "answers": [{"text": "mat", "answer_start": 4}]})"),
       "dev.json: question 'q1' (data[0].paragraphs[0].qas[0]): answers[0].answer_start 4 points at 'cat' in the context, "
       "not at the answer's text 'mat' (found at character 19)"},
      {"SQuAD JSON", "huge size", "answer_start 2^40",
       one(R"({"id": "q1", "question": "Who?", "answers": [{"text": "mat", "answer_start": 1099511627776}]})"),
       "answers[0].answer_start 1099511627776 is past the context's end (23 characters)"},
      {"SQuAD JSON", "inconsistent", "is_impossible with an answer",
       one(R"({"id": "q1", "question": "Who?", "answers": [{"text": "cat", "answer_start": 4}], "is_impossible": true})"),
       "question 'q1' (data[0].paragraphs[0].qas[0]): is_impossible is true but the question has 1 answer"},
      {"SQuAD JSON", "duplicate", "id twice",
       one(R"({"id": "q1", "question": "Who?", "answers": []}, {"id": "q1", "question": "What?", "answers": []})"),
       "dev.json: question 'q1' (data[0].paragraphs[0].qas[1]): duplicate id (first at data[0].paragraphs[0].qas[0])"},
      {"SQuAD JSON", "huge size", "a number beyond double (fuzz_squad)", R"({"version": 3E4222222222222222, "data": []})",
       "dev.json: not valid JSON: [json.exception.out_of_range.406] number overflow parsing '3E4222222222222222'"},
      {"SQuAD JSON", "bad UTF-8", "a context", "{\"data\": [{\"paragraphs\": [{\"context\": \"" + kBadUtf8 + "\"}]}]}",
       "dev.json:1:43: invalid UTF-8"},
  },
        [&](const std::string& b) { parse_squad_json(b, "dev.json"); });
}

}  // namespace
}  // namespace lightpeft
