// Template text -> the chat-template parser and interpreter, rendered for a fixed conversation
// (with and without the generation prompt) and through render_json with tool calls. Limits keep
// each input fast; hitting one is a lightpeft::Error like any other refusal.
#include "fuzz_support.h"
#include "lightpeft/data/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lightpeft;
  static const std::vector<ChatMessage> kConversation = {
      {"system", "Be brief. é 😀"}, {"user", "Hi {{ there }}\n"}, {"assistant", " Hello!  "}, {"user", "Bye"}};
  static const char* kVariables =
      R"({"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null,)"
      R"( "tool_calls": [{"type": "function", "function": {"name": "get", "arguments": {"city": "Zürich", "n": 2.5}}}]},)"
      R"( {"role": "tool", "content": "{\"t\": 21}"}], "tools": [{"type": "function", "function": {"name": "get",)"
      R"( "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}], "add_generation_prompt": true,)"
      R"( "bos_token": "<s>", "flags": [true, false, null, 1e300, -7]})";
  (void)fuzz::scratch_dir();  // quiets the parsers' warnings
  ChatTemplateLimits limits;
  limits.max_steps = 200000;
  limits.max_output_bytes = 1 << 20;
  fuzz::refuse_only_with_lightpeft_errors([&] {
    const ChatTemplate t(fuzz::as_string(data, size), "fuzz", limits);
    ChatRenderOptions o;
    o.bos_token = "<s>";
    o.eos_token = "</s>";
    fuzz::refuse_only_with_lightpeft_errors([&] { (void)t.render(kConversation, o); });
    o.add_generation_prompt = true;
    fuzz::refuse_only_with_lightpeft_errors([&] { (void)t.render(kConversation, o); });
    (void)t.render_json(kVariables);
  });
  return 0;
}
