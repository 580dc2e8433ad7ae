// Instruction rows (Alpaca / LLM-Adapters and chat, JSON lists and JSON Lines) with their exact
// errors, and the prompt formats: the Alpaca strings, custom templates and the chat-template split
// prompt + response == the whole conversation's rendering.
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/instruction_data.h"
#include "lightpeft/data/prompt_format.h"

namespace lightpeft {
namespace {

using testing::error_of;
using testing::put;
using testing::TempDir;

const char* kChatML =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// ---- rows ----------------------------------------------------------------------------------------

TEST(InstructionData, ReadsAlpacaAndLlmAdaptersRows) {
  TempDir dir;
  const auto file = put(dir, "math.json", R"([
  {"instruction": "Add 2 and 3.", "input": "", "output": "5", "answer": ["5"]},
  {"instruction": "Translate.", "input": "chat", "output": "cat", "extra": 1},
  {"instruction": "Q?", "input": null, "output": "A", "answer": [2304.0, 7]},
  {"instruction": "R?", "output": "B", "answer": "b"}
])");
  const auto rows = load_instruction_file(file);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].instruction, "Add 2 and 3.");
  EXPECT_EQ(rows[0].input, "");
  EXPECT_EQ(rows[0].output, "5");
  EXPECT_EQ(rows[0].answer, std::vector<std::string>{"5"});
  EXPECT_EQ(rows[0].location(), "row 0");
  EXPECT_EQ(rows[1].input, "chat");
  EXPECT_EQ(rows[2].input, "");
  EXPECT_EQ(rows[2].answer, (std::vector<std::string>{"2304.0", "7"}));
  EXPECT_EQ(rows[3].answer, std::vector<std::string>{"b"});
  EXPECT_FALSE(rows[3].is_chat());
  EXPECT_EQ(rows[3].index, 3);
}

TEST(InstructionData, ReadsChatRowsFromJsonLines) {
  TempDir dir;
  const auto file = put(dir, "chat.jsonl",
                        R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})"
                        "\n\n"
                        R"({"messages": [{"role": "user", "content": "é 😀"}, {"role": "assistant", "content": ""}], "id": 7})"
                        "\n");
  const auto rows = load_instruction_file(file);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(rows[0].is_chat());
  EXPECT_EQ(rows[0].messages.size(), 3u);
  EXPECT_EQ(rows[0].messages[2].role, "assistant");
  EXPECT_EQ(rows[0].messages[2].content, "Hello");
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].location(), "line 3");
  EXPECT_EQ(rows[1].messages[0].content, "é 😀");
  // A .json file of one object per line is JSON Lines, as HF datasets reads it.
  const auto lines = put(dir, "lines.json", R"({"instruction": "a", "output": "b"})" "\n" R"({"instruction": "c", "output": "d"})" "\n");
  const auto rows2 = load_instruction_file(lines);
  ASSERT_EQ(rows2.size(), 2u);
  EXPECT_EQ(rows2[1].line, 2);
}

TEST(InstructionData, BadRowsNameTheFileTheRowAndWhatWasExpected) {
  TempDir dir;
  auto json_error = [&](const std::string& content) {
    const auto f = put(dir, "rows.json", content);
    return error_of([&] { load_instruction_file(f); });
  };
  const std::string j = (dir / "rows.json").string();
  EXPECT_EQ(json_error(R"([{"instruction": "a", "output": "b"}, {"instruction": "no output"}])"),
            j + ": row 1: missing 'output' (the response to train on)");
  EXPECT_EQ(json_error(R"([{"instruction": 5, "output": "b"}])"), j + ": row 0: 'instruction' is not a string (got number)");
  EXPECT_EQ(json_error(R"([{"instruction": "a", "input": ["x"], "output": "b"}])"),
            j + ": row 0: 'input' is not a string (got array)");
  EXPECT_EQ(json_error(R"([{"prompt": "a", "completion": "b"}])"),
            j + ": row 0: expected 'instruction' and 'output' (Alpaca, LLM-Adapters) or 'messages' (chat); the row has "
                "keys: completion, prompt");
  EXPECT_EQ(json_error(R"([[1, 2]])"), j + ": row 0: expected a JSON object, got array");
  EXPECT_EQ(json_error(R"([{"messages": [{"role": "user", "content": "hi"}]}])"),
            j + ": row 0: no assistant message (the response to train on)");
  EXPECT_EQ(json_error(R"([{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": 5}]}])"),
            j + ": row 0: messages[1]: 'content' is not a string (got number)");
  EXPECT_EQ(json_error(R"([{"messages": []}])"), j + ": row 0: 'messages' is empty");
  EXPECT_EQ(json_error(R"([{"messages": {"role": "user"}}])"), j + ": row 0: 'messages' is not a list (got object)");
  EXPECT_EQ(json_error(R"([{"conversations": [{"from": "human", "value": "hi"}]}])"),
            j + ": row 0: ShareGPT rows ('conversations' with from/value) are not read; convert them to 'messages' "
                "with role/content");
  EXPECT_EQ(json_error(R"([{"instruction": "a", "output": "b", "answer": {"x": 1}}])"),
            j + ": row 0: 'answer' holds a object (expected a string, a number or a list of them)");
  // The whole file: wrong top-level type, broken JSON, bad UTF-8, nothing at all.
  EXPECT_EQ(json_error("{\n  \"data\": [],\n  \"version\": 1\n}"),
            j + ": expected a JSON list of rows (or one JSON object per line), got a JSON object with keys: data, version");
  EXPECT_EQ(json_error("42"), j + ": expected a JSON list of rows (or one JSON object per line), got a JSON number");
  EXPECT_TRUE(testing::contains(json_error("[\n  {\"instruction\": \"a\",\n   \"output\": }\n]"), j + ":3:14: not valid JSON"));
  EXPECT_EQ(json_error("[\n{\"instruction\": \"caf\xC3\x28\", \"output\": \"b\"}]"), j + ":2:21: invalid UTF-8");
  EXPECT_EQ(json_error(" \n"), j + ": the file is empty (expected a JSON list of rows)");
  // A number beyond a double is nlohmann's out_of_range, not its parse_error (found by fuzz.instruction_json).
  EXPECT_TRUE(testing::contains(json_error("[\n  4E0000438557816067049]"), j + ": not valid JSON"));

  auto jsonl_error = [&](const std::string& content) {
    const auto f = put(dir, "rows.jsonl", content);
    return error_of([&] { load_instruction_file(f); });
  };
  const std::string l = (dir / "rows.jsonl").string();
  EXPECT_EQ(jsonl_error(R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})" "\n"
                        R"({"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]})" "\n"),
            l + ":2: messages[1]: unknown role 'tool' (expected system, user or assistant)");
  EXPECT_EQ(jsonl_error("{\"instruction\": \"caf\xC3\x28\", \"output\": \"b\"}\n"), l + ":1: invalid UTF-8");
  EXPECT_TRUE(testing::contains(jsonl_error("{\"instruction\": \"a\"\n"), l + ":1: invalid JSON"));
  EXPECT_EQ(jsonl_error("[1]\n"), l + ":1: expected a JSON object, got array");
  EXPECT_EQ(jsonl_error("{\"messages\": [{\"content\": \"x\"}]}\n"), l + ":1: messages[0] has no 'role'");
}

TEST(InstructionData, SkipBadRowsAndMaxExamples) {
  TempDir dir;
  const auto file = put(dir, "mixed.jsonl",
                        R"({"instruction": "a", "output": "1"})" "\n"
                        R"({"instruction": "b"})" "\n"
                        "\xFF\n"
                        R"({"messages": [{"role": "user", "content": "x"}]})" "\n"
                        R"({"instruction": "c", "output": "3"})" "\n");
  LoadOptions options;
  options.skip_bad_rows = true;
  const auto rows = load_instruction_file(file, options);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].output, "1");
  EXPECT_EQ(rows[1].output, "3");
  EXPECT_EQ(rows[1].line, 5);
  options.max_examples = 1;
  EXPECT_EQ(load_instruction_file(file, options).size(), 1u);
  const auto list = put(dir, "mixed.json", R"([{"instruction": "a", "output": "1"}, 5, {"instruction": "c", "output": "3"}])");
  options.max_examples = 0;
  const auto listed = load_instruction_file(list, options);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].index, 2);
}

// ---- prompt formats ------------------------------------------------------------------------------

InstructionRow alpaca_row(const std::string& instruction, const std::string& input, const std::string& output) {
  InstructionRow r;
  r.index = 0;
  r.instruction = instruction;
  r.input = input;
  r.output = output;
  return r;
}

TEST(PromptFormat, AlpacaStrings) {
  const PromptFormat f = PromptFormat::alpaca();
  const auto with = f.format(alpaca_row("Translate to French.", "cat", "chat"));
  ASSERT_EQ(with.size(), 1u);
  EXPECT_EQ(with[0].prompt,
            "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
            "response that appropriately completes the request.\n\n### Instruction:\nTranslate to French.\n\n### Input:\n"
            "cat\n\n### Response:\n");
  EXPECT_EQ(with[0].response, "chat");
  const auto without = f.format(alpaca_row("Name a prime.", "", "7"));
  EXPECT_EQ(without[0].prompt,
            "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            "\n\n### Instruction:\nName a prime.\n\n### Response:\n");
  EXPECT_EQ(without[0].response, "7");
  InstructionRow chat;
  chat.messages = {{"user", "a"}, {"assistant", "b"}};
  EXPECT_EQ(error_of([&] { f.format(chat); }),
            "a chat row ('messages') cannot be written in the alpaca format, which needs instruction/output rows; use "
            "the chat format (a chat template)");
}

TEST(PromptFormat, CustomTemplates) {
  const PromptFormat f = PromptFormat::custom("Q: {instruction} {input}\nA: {output}</s>", "config.yaml: prompt_template",
                                              "Q: {instruction}\nA: {output}</s>");
  const auto a = f.format(alpaca_row("2+2?", "(integers)", "4"));
  EXPECT_EQ(a[0].prompt, "Q: 2+2? (integers)\nA: ");
  EXPECT_EQ(a[0].response, "4</s>");
  const auto b = f.format(alpaca_row("2+2?", "", "4"));
  EXPECT_EQ(b[0].prompt, "Q: 2+2?\nA: ");
  // No {output}: the response is the output; other braces are text.
  const auto c = PromptFormat::custom("{\"q\": \"{instruction}\"} -> ", "t").format(alpaca_row("x", "", "y"));
  EXPECT_EQ(c[0].prompt, "{\"q\": \"x\"} -> ");
  EXPECT_EQ(c[0].response, "y");
  EXPECT_EQ(error_of([] { PromptFormat::custom("Answer: {output}", "config.yaml: prompt_template"); }),
            "config.yaml: prompt_template: the template has no {instruction} placeholder");
  EXPECT_EQ(error_of([] { PromptFormat::custom("{instruction} {inptu}", "t"); }),
            "t: unknown placeholder {inptu} (expected {instruction}, {input} and {output})");
  EXPECT_EQ(error_of([] { PromptFormat::custom("{output} {instruction}", "t"); }),
            "t: the placeholder {instruction} comes after {output}; the response part may only hold text");
}

TEST(PromptFormat, ChatSplitIsPromptPlusResponseEqualsTheWholeConversation) {
  const ChatTemplate t(kChatML, "chatml");
  const PromptFormat f = PromptFormat::chat(t);
  InstructionRow row;
  row.index = 0;
  row.messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}, {"assistant", "Bye!"}};
  const auto pairs = f.format(row);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(pairs[0].response, "Bye!<|im_end|>\n");
  EXPECT_EQ(pairs[0].prompt + pairs[0].response, t.render(row.messages));

  ChatPromptOptions all;
  all.all_assistant_turns = true;
  const auto turns = PromptFormat::chat(t, all).format(row);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].prompt, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(turns[0].response, "Hello!<|im_end|>\n");
  EXPECT_EQ(turns[1].prompt, "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(turns[1].response, "Bye!<|im_end|>\n");
  EXPECT_EQ(turns[0].prompt + turns[0].response + turns[1].prompt + turns[1].response, t.render(row.messages));

  // Alpaca rows as chat: the instruction and input are the user message.
  ChatPromptOptions sys;
  sys.system_prompt = "You solve math.";
  const auto a = PromptFormat::chat(t, sys).format(alpaca_row("Add.", "2 3", "5"));
  EXPECT_EQ(a[0].prompt,
            "<|im_start|>system\nYou solve math.<|im_end|>\n<|im_start|>user\nAdd.\n\n2 3<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(a[0].response, "5<|im_end|>\n");
}

TEST(PromptFormat, ChatSplitWithLlama2StyleAndSpecialTokens) {
  const ChatTemplate t(
      "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'].strip() "
      "+ ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'].strip() + ' ' + eos_token }}"
      "{% endif %}{% endfor %}",
      "llama2");
  ChatPromptOptions o;
  o.render.bos_token = "<s>";
  o.render.eos_token = "</s>";
  InstructionRow row;
  row.messages = {{"user", "Hi"}, {"assistant", " Hello "}};
  const auto p = PromptFormat::chat(t, o).format(row);
  EXPECT_EQ(p[0].prompt, "<s>[INST] Hi [/INST]");
  EXPECT_EQ(p[0].response, " Hello </s>");
}

TEST(PromptFormat, ChatRowsTheSplitCannotServeAreErrors) {
  // DeepSeek-R1's template drops earlier reasoning and its generation prompt opens <think>: the
  // generation-prompt rendering is no prefix of the full one.
  const ChatTemplate r1("{% for m in messages %}{% if m.role == 'user' %}<U>{{ m.content }}{% else %}<A>{{ m.content }}"
                        "{% endif %}{% endfor %}{% if add_generation_prompt %}<A><think>\n{% endif %}",
                        "r1");
  InstructionRow row;
  row.line = 4;
  row.messages = {{"user", "q"}, {"assistant", "a"}};
  const PromptFormat f = PromptFormat::chat(r1);
  EXPECT_EQ(error_of([&] { f.format(row); }),
            "the chat template's rendering of the messages before assistant message 1 with add_generation_prompt is not a "
            "prefix of the rendering that includes it, so prompt and response cannot be split (does the template rewrite "
            "earlier turns?)");
  EXPECT_EQ(error_of([&] { format_instruction_rows({row}, f, "train.jsonl"); }),
            "train.jsonl:4: the chat template's rendering of the messages before assistant message 1 with "
            "add_generation_prompt is not a prefix of the rendering that includes it, so prompt and response cannot be "
            "split (does the template rewrite earlier turns?)");
  // The template's own checks are row errors too, and skip_bad_rows skips them.
  const ChatTemplate strict("{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}"
                            "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
                            "{% endif %}{{ m.content }}{% endfor %}",
                            "strict");
  InstructionRow ok;
  ok.index = 0;
  ok.messages = {{"user", "q"}, {"assistant", "a"}};
  InstructionRow twice;
  twice.index = 1;
  twice.messages = {{"user", "q"}, {"user", "q2"}, {"assistant", "a"}};
  InstructionRow trailing;
  trailing.index = 2;
  trailing.messages = {{"user", "q"}, {"assistant", "a"}, {"user", "more?"}};
  const PromptFormat g = PromptFormat::chat(strict);
  EXPECT_EQ(error_of([&] { format_instruction_rows({ok, twice}, g, "d.json"); }),
            "d.json: row 1: strict:1:80: raise_exception: Conversation roles must alternate user/assistant/user/assistant/...");
  EXPECT_EQ(error_of([&] { g.format(trailing); }),
            "messages follow the last assistant message (the conversation ends with a 'user' message); there is no "
            "response to train on after them");
  LoadOptions skip;
  skip.skip_bad_rows = true;
  const auto formatted = format_instruction_rows({ok, twice, trailing}, g, "d.json", skip);
  ASSERT_EQ(formatted.size(), 1u);
  EXPECT_EQ(formatted[0].index, 0);
  EXPECT_EQ(formatted[0].turns[0].prompt, "q");
  EXPECT_EQ(formatted[0].turns[0].response, "a");
}

TEST(PromptFormat, FormatsAFileEndToEnd) {
  TempDir dir;
  const auto file = put(dir, "train.json",
                        R"([{"instruction": "Say hi.", "input": "", "output": "hi"},
                            {"messages": [{"role": "user", "content": "Yo"}, {"role": "assistant", "content": "Hey"}]}])");
  const auto rows = load_instruction_file(file);
  const auto formatted = format_instruction_rows(rows, PromptFormat::chat(ChatTemplate(kChatML)), file);
  ASSERT_EQ(formatted.size(), 2u);
  EXPECT_EQ(formatted[0].turns[0].prompt, "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(formatted[1].turns[0].response, "Hey<|im_end|>\n");
  EXPECT_EQ(error_of([&] { format_instruction_rows(rows, PromptFormat::alpaca(), file); }),
            file.string() + ": row 1: a chat row ('messages') cannot be written in the alpaca format, which needs "
                            "instruction/output rows; use the chat format (a chat template)");
}

}  // namespace
}  // namespace lightpeft
