// Chat templates: our renderings against transformers' (the goldens of
// tests/golden/gen_chat_templates.py: real templates x conversations, one-construct templates,
// seeded random templates, and what jinja2 refuses), then errors with their line:column, limits on
// runaway templates, and reading templates from files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data_test_util.h"
#include "lightpeft/data/chat_template.h"

namespace lightpeft {
namespace {

using ojson = nlohmann::ordered_json;
using testing::error_of;
using testing::put;
using testing::TempDir;
namespace fs = std::filesystem;

std::optional<ojson> read_golden() {
  const auto path = testing::golden_dir() / "chat_templates" / "chat_templates.json";
  if (!fs::is_regular_file(path)) return std::nullopt;
  return ojson::parse(testing::read_file(path));
}

std::vector<ChatMessage> messages_of(const ojson& list) {
  std::vector<ChatMessage> out;
  for (const auto& m : list) out.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  return out;
}

// Renders one golden case: "" when it matches, else what differs.
std::string check_case(const ojson& golden, const ojson& c) {
  std::string got;
  std::string error;
  try {
    if (c.contains("source")) {
      ChatTemplate t(c.at("source").get<std::string>(), c.at("name").get<std::string>());
      got = t.render_json(c.at("vars").dump());
    } else {
      const std::string name = c.at("template").get<std::string>();
      ChatTemplate t(golden.at("templates").at(name).get<std::string>(), name);
      ChatRenderOptions o;
      o.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
      if (!c.at("bos_token").is_null()) o.bos_token = c.at("bos_token").get<std::string>();
      if (!c.at("eos_token").is_null()) o.eos_token = c.at("eos_token").get<std::string>();
      if (!c.at("extra").empty()) o.extra_variables_json = c.at("extra").dump();
      got = t.render(messages_of(golden.at("conversations").at(c.at("conversation").get<std::string>())), o);
    }
  } catch (const Error& e) {
    error = e.what();
  } catch (const std::exception& e) {
    return std::string("threw a non-lightpeft exception: ") + e.what();
  }
  if (c.contains("error")) {
    const std::string py = c.at("error").get<std::string>();
    if (error.empty()) return "jinja2 raised (" + py + ") but lightpeft rendered " + ojson(got).dump();
    // The template's own raise_exception message must come through.
    const std::string prefix = "TemplateError: ";
    if (py.rfind(prefix, 0) == 0 && error.find("raise_exception: " + py.substr(prefix.size())) == std::string::npos) {
      return "expected the raise_exception message '" + py.substr(prefix.size()) + "', got: " + error;
    }
    return "";
  }
  if (!error.empty()) return "lightpeft raised: " + error;
  const std::string want = c.at("expected").get<std::string>();
  if (got != want) return "\n  expected " + ojson(want).dump() + "\n  got      " + ojson(got).dump();
  return "";
}

TEST(ChatTemplate, MatchesTransformersGoldens) {
  const auto golden = read_golden();
  if (!golden) GTEST_SKIP() << "no chat-template goldens (run tests/golden/make_test_golden.py)";
  int failures = 0, cases = 0, errors = 0;
  for (const auto& c : golden->at("cases")) {
    ++cases;
    errors += c.contains("error");
    const std::string diff = check_case(*golden, c);
    if (!diff.empty() && ++failures <= 10) ADD_FAILURE() << c.at("name").get<std::string>() << ": " << diff;
  }
  EXPECT_EQ(failures, 0) << "of " << cases << " cases";
  EXPECT_GT(cases, 400);
  EXPECT_GT(errors, 20);  // raise_exception, type errors, syntax errors
  // Every real template took part (SmolLM2's only where its GGUF is installed).
  for (const char* name : {"chatml", "qwen2.5", "llama2", "llama3", "llama3.1", "mistral", "mistral_v3", "zephyr",
                           "gemma", "phi3", "deepseek_r1", "macro_style"}) {
    EXPECT_TRUE(golden->at("templates").contains(name)) << name;
  }
}

// ---- bad templates: the origin, line and column, and the construct -----------------------------

TEST(ChatTemplate, SyntaxErrorsNameLineAndColumn) {
  auto parse = [](const std::string& src) { return error_of([&] { ChatTemplate t(src, "tpl.jinja"); }); };
  EXPECT_EQ(parse("ab\n{% if x %}\nnever closed"),
            "tpl.jinja:2:4: the 'if' tag opened here is never closed (expected 'elif', 'else' or 'endif' "
            "before the end of the template)");
  EXPECT_EQ(parse("{{ x }}\n  {{ y "), "tpl.jinja:2:3: '{{' is never closed with '}}'");
  EXPECT_EQ(parse("{# open"), "tpl.jinja:1:1: comment opened with '{#' is never closed with '#}'");
  EXPECT_EQ(parse("{{ x | frobnicate }}"), "tpl.jinja:1:8: unknown filter 'frobnicate'");
  EXPECT_EQ(parse("{{ x is frobnicated }}"), "tpl.jinja:1:6: unknown test 'frobnicated'");
  EXPECT_EQ(parse("{{ x | wordwrap }}"), "tpl.jinja:1:8: the filter 'wordwrap' is not supported by lightpeft");
  EXPECT_EQ(parse("{{ 1 + }}"), "tpl.jinja:1:8: unexpected end of print statement '}}'");
  EXPECT_EQ(parse("{% for x in y %}{% endif %}"),
            "tpl.jinja:1:20: unknown tag 'endif' (the innermost open tag is 'for', which expects 'endfor' or 'else')");
  EXPECT_EQ(parse("{% include 'x.jinja' %}"),
            "tpl.jinja:1:4: the '{% include %}' tag is not supported in chat templates by lightpeft");
  EXPECT_EQ(parse("{{ (1 }}"), "tpl.jinja:1:7: unexpected '}', expected ')'");
  EXPECT_EQ(parse("{{ 'abc }}"), "tpl.jinja:1:4: string literal is never closed");
  EXPECT_EQ(parse("{% break %}"), "tpl.jinja:1:4: 'break' outside of a for loop");
  EXPECT_EQ(parse("{{ x ! y }}"), "tpl.jinja:1:6: unexpected character '!' in a tag");
  EXPECT_EQ(parse("é\n  {{ f(*args) }}"), "tpl.jinja:2:8: *args and **kwargs in calls are not supported by lightpeft");
  EXPECT_EQ(parse("ok\n\xC3\x28"), "tpl.jinja:2:1: the template is not valid UTF-8");
  // An unknown filter in an if-branch fails only when the branch runs, as in jinja2.
  ChatTemplate lazy("{% if messages %}{{ x | frobnicate }}{% endif %}ok", "lazy");
  EXPECT_EQ(lazy.render({}), "ok");
  EXPECT_EQ(error_of([&] { lazy.render({{"user", "hi"}}); }), "lazy:1:25: unknown filter 'frobnicate'");
}

TEST(ChatTemplate, RaiseExceptionIsAnErrorWithTheTemplatesMessage) {
  ChatTemplate t("{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}"
                 "{{ raise_exception('Unknown role: ' ~ m.role) }}{% endif %}{% endfor %}",
                 "config.json: chat_template");
  EXPECT_EQ(error_of([&] { t.render({{"user", "a"}, {"tool", "b"}}); }),
            "config.json: chat_template:1:71: raise_exception: Unknown role: tool");
}

TEST(ChatTemplate, RuntimeErrorsNameTheExpression) {
  ChatTemplate t("line one\n{{ messages[0].content + 1 }}", "t");
  EXPECT_EQ(error_of([&] { t.render({{"user", "x"}}); }), "t:2:4: can only concatenate str (not \"int\") to str");
  ChatTemplate u("{{ nothing.attr }}", "u");
  EXPECT_EQ(error_of([&] { u.render({}); }), "u:1:11: 'nothing' is undefined");
}

// ---- runaway templates -----------------------------------------------------------------------------

TEST(ChatTemplate, RunawayTemplatesStopWithAnError) {
  ChatTemplateLimits limits;
  limits.max_steps = 100000;
  limits.max_output_bytes = 1 << 16;
  ChatTemplate loops("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loops", limits);
  EXPECT_TRUE(testing::contains(error_of([&] { loops.render({}); }), "evaluation steps"));
  ChatTemplate big("{{ 'x' * 100000 }}", "big", limits);
  EXPECT_TRUE(testing::contains(error_of([&] { big.render({}); }), "limit of 65536 bytes"));
  ChatTemplate out("{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}", "out", limits);
  EXPECT_TRUE(testing::contains(error_of([&] { out.render({}); }), "the output would grow past the limit"));
  ChatTemplate recursion("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "rec");
  EXPECT_TRUE(testing::contains(error_of([&] { recursion.render({}); }), "deeper than 400 levels"));
  ChatTemplate doubling("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                        "doubling", limits);
  EXPECT_TRUE(testing::contains(error_of([&] { doubling.render({}); }), "bytes"));
  // Nesting is bounded while parsing.
  EXPECT_TRUE(testing::contains(
      error_of([&] { ChatTemplate("{{ " + std::string(500, '(') + "1" + std::string(500, ')') + " }}"); }),
      "deeper than"));
  std::string chain = "{{ 1";
  for (int i = 0; i < 1000; ++i) chain += " + 1";
  EXPECT_TRUE(testing::contains(error_of([&] { ChatTemplate(chain + " }}"); }), "expression nested deeper than 200"));
  std::string nested;
  for (int i = 0; i < 300; ++i) nested += "{% if true %}";
  EXPECT_TRUE(testing::contains(error_of([&] { ChatTemplate t(nested); }), "deeper than"));
}

// What lightpeft refuses on purpose rather than render differently from Python.
TEST(ChatTemplate, DeliberateRefusals) {
  EXPECT_TRUE(testing::contains(error_of([] { ChatTemplate("{{ 9223372036854775807 + 1 }}").render({}); }),
                                "integer overflow"));
  EXPECT_TRUE(testing::contains(error_of([] { ChatTemplate("{{ 99999999999999999999 }}"); }), "beyond the 64-bit range"));
  EXPECT_TRUE(testing::contains(error_of([] { ChatTemplate("{{ '%s' % 1 }}").render({}); }), "not supported"));
  // jinja2 would print "<generator object ... at 0x...>".
  EXPECT_TRUE(testing::contains(error_of([] { ChatTemplate("{{ [1]|select }}").render({}); }), "add |list"));
  EXPECT_TRUE(testing::contains(error_of([] { ChatTemplate("{{ 'a'.strip }}").render({}); }), "memory address"));
  // Namespaces hold plain data, so no reference cycle can be built.
  EXPECT_TRUE(testing::contains(
      error_of([] { ChatTemplate("{% set ns = namespace() %}{% set ns.me = ns %}").render({}); }),
      "lightpeft refuses a Namespace in 'ns.me'"));
}

// ---- inputs --------------------------------------------------------------------------------------

TEST(ChatTemplate, RenderOptionsAndExtraVariables) {
  ChatTemplate t("{{ bos_token }}|{{ eos_token is defined }}|{{ add_generation_prompt }}|{{ tools }}|{{ flag }}|"
                 "{{ messages | map(attribute='role') | join(',') }}");
  ChatRenderOptions o;
  o.bos_token = "<s>";
  o.add_generation_prompt = true;
  o.extra_variables_json = R"({"flag": [1, {"b": 2, "a": 1}], "bos_token": "<override>"})";
  EXPECT_EQ(t.render({{"system", "s"}, {"user", "u"}}, o), "<override>|False|True|None|[1, {'b': 2, 'a': 1}]|system,user");
  o.extra_variables_json = R"({"messages": []})";
  EXPECT_TRUE(testing::contains(error_of([&] { t.render({}, o); }), "extra variable 'messages' conflicts"));
  o.extra_variables_json = "[1]";
  EXPECT_TRUE(testing::contains(error_of([&] { t.render({}, o); }), "expected a JSON object of variables, got array"));
  o.extra_variables_json = "{";
  EXPECT_TRUE(testing::contains(error_of([&] { t.render({}, o); }), "extra variables: not valid JSON"));
  EXPECT_EQ(error_of([&] { t.render({{"user", "bad \xFF byte"}}); }), "chat template: message 0: the content is not valid UTF-8");
}

TEST(ChatTemplate, RenderJsonNormalisesMessagesAsTransformers) {
  ChatTemplate t("{% for m in messages %}{{ m | tojson }}{% endfor %}");
  EXPECT_EQ(t.render_json(R"({"messages": [{"role": "assistant", "content": "x", "tool_calls": null,
                              "reasoning": "why"}]})"),
            R"({"thinking": "why", "role": "assistant", "content": "x", "reasoning": "why", "reasoning_content": "why"})");
  EXPECT_TRUE(testing::contains(error_of([&] { t.render_json("[]"); }), "expected a JSON object of variables"));
}

TEST(ChatTemplate, FromFile) {
  TempDir dir;
  const std::string tpl = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}";
  const auto jinja = put(dir, "chat_template.jinja", tpl + "\n");
  EXPECT_EQ(ChatTemplate::from_file(jinja).render({{"user", "hi"}}), "<user>hi");
  const auto config = put(dir, "tokenizer_config.json",
                          ojson({{"chat_template", tpl}, {"bos_token", {{"content", "<s>"}}}, {"eos_token", "</s>"},
                                 {"pad_token", nullptr}, {"unk_token", "<unk>"}})
                              .dump());
  EXPECT_EQ(ChatTemplate::from_file(config).origin(), config.string() + ": chat_template");
  const ChatRenderOptions o = chat_options_from_tokenizer_config(config);
  EXPECT_EQ(o.bos_token.value_or("-"), "<s>");
  EXPECT_EQ(o.eos_token.value_or("-"), "</s>");
  EXPECT_EQ(o.extra_variables_json, R"({"unk_token":"<unk>"})");
  const auto listed = put(dir, "listed/tokenizer_config.json",
                          ojson({{"chat_template", ojson::array({{{"name", "tool_use"}, {"template", "T"}},
                                                                 {{"name", "default"}, {"template", "D"}}})}})
                              .dump());
  EXPECT_EQ(ChatTemplate::from_file(listed).render({}), "D");
  const auto none = put(dir, "none/tokenizer_config.json", R"({"bos_token": "<s>"})");
  EXPECT_EQ(error_of([&] { ChatTemplate::from_file(none); }),
            none.string() + ": no 'chat_template' key (newer checkpoints keep the template in chat_template.jinja beside it)");
  const auto bad = put(dir, "bad/tokenizer_config.json", ojson({{"chat_template", "{% if %}"}}).dump());
  EXPECT_EQ(error_of([&] { ChatTemplate::from_file(bad); }),
            bad.string() + ": chat_template:1:7: expected an expression, got end of statement block '%}'");
}

}  // namespace
}  // namespace lightpeft
