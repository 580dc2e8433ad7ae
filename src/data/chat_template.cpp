#include "lightpeft/data/chat_template.h"

#include <limits>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "jinja/interpreter.h"
#include "jinja/parser.h"
#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {

namespace {

using ojson = nlohmann::ordered_json;
using jinja::Value;

// JSON -> template values. Objects keep their key order (tojson prints them in it).
Value from_json(const ojson& j, const std::string& where, int depth) {
  if (depth > jinja::kMaxValueDepth) {
    throw_error(where, ": variables nested deeper than ", jinja::kMaxValueDepth, " levels");
  }
  switch (j.type()) {
    case ojson::value_t::null: return Value::none();
    case ojson::value_t::boolean: return Value::boolean(j.get<bool>());
    case ojson::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case ojson::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return Value::floating(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case ojson::value_t::number_float: return Value::floating(j.get<double>());
    case ojson::value_t::string: return Value::string(j.get<std::string>());
    case ojson::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(from_json(x, where, depth + 1));
      return Value::list(std::move(items));
    }
    case ojson::value_t::object: {
      auto d = std::make_shared<jinja::Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) {
        d->set(Value::string(it.key()), from_json(it.value(), where, depth + 1));
      }
      return Value::dict(std::move(d));
    }
    default: throw_error(where, ": unsupported JSON value (binary)");
  }
}

ojson parse_object(std::string_view text, const std::string& where) {
  ojson j;
  try {
    j = ojson::parse(text.begin(), text.end());
  } catch (const ojson::exception& e) {
    throw_error(where, ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object(), where, ": expected a JSON object of variables, got ", j.type_name());
  return j;
}

const char* const kReasoningFields[] = {"reasoning_content", "thinking", "reasoning"};

// transformers' _normalize_chat_messages (null keys dropped) and _alias_reasoning_fields.
ojson normalize_message(const ojson& m) {
  if (!m.is_object()) return m;
  ojson out = ojson::object();
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_null()) out[it.key()] = it.value();
  }
  for (const char* key : kReasoningFields) {
    if (!out.contains(key)) continue;
    const ojson reasoning = out[key];
    ojson aliased = ojson::object();
    aliased["thinking"] = reasoning;
    for (auto it = out.begin(); it != out.end(); ++it) aliased[it.key()] = it.value();
    aliased["reasoning_content"] = reasoning;
    return aliased;
  }
  return out;
}

}  // namespace

struct ChatTemplate::Impl {
  std::string source;
  std::string origin;
  jinja::Program program;
  ChatTemplateLimits limits;

  std::string run(std::unordered_map<std::string, Value> variables) const {
    jinja::Limits l;
    l.max_bytes = limits.max_output_bytes;
    l.max_steps = limits.max_steps;
    l.max_depth = limits.max_depth;
    jinja::Interpreter in(program, origin, l);
    try {
      return in.render(std::move(variables));
    } catch (const jinja::TemplateError& e) {
      throw Error(origin + ": " + e.message);
    }
  }

  std::unordered_map<std::string, Value> variables(const ojson& vars, const std::string& where) const {
    std::unordered_map<std::string, Value> out;
    try {
      for (auto it = vars.begin(); it != vars.end(); ++it) {
        if (it.key() == "messages" && it.value().is_array()) {
          ojson messages = ojson::array();
          for (const auto& m : it.value()) messages.push_back(normalize_message(m));
          out[it.key()] = from_json(messages, where, 0);
        } else {
          out[it.key()] = from_json(it.value(), where, 0);
        }
      }
    } catch (const jinja::TemplateError& e) {
      throw Error(where + ": " + e.message);
    }
    // render_jinja_template always passes these.
    if (!out.count("tools")) out["tools"] = Value::none();
    if (!out.count("documents")) out["documents"] = Value::none();
    if (!out.count("add_generation_prompt")) out["add_generation_prompt"] = Value::boolean(false);
    return out;
  }
};

ChatTemplate::ChatTemplate(std::string_view source, std::string origin, ChatTemplateLimits limits) {
  LP_CHECK(limits.max_output_bytes > 0 && limits.max_steps > 0 && limits.max_depth > 0, origin,
           ": chat template limits must be positive");
  auto impl = std::make_shared<Impl>();
  impl->source = std::string(source);
  impl->origin = std::move(origin);
  impl->limits = limits;
  impl->program = jinja::parse_template(impl->source, impl->origin);
  impl_ = std::move(impl);
}

ChatTemplate ChatTemplate::from_file(const std::filesystem::path& path, ChatTemplateLimits limits) {
  const std::string text = read_text_file(path);
  if (path.extension() != ".json") return ChatTemplate(text, path.string(), limits);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_error(path.string(), ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object(), path.string(), ": expected a JSON object (a tokenizer_config.json)");
  LP_CHECK(j.contains("chat_template") && !j["chat_template"].is_null(), path.string(),
           ": no 'chat_template' key (newer checkpoints keep the template in chat_template.jinja beside it)");
  const auto& t = j["chat_template"];
  const std::string origin = path.string() + ": chat_template";
  if (t.is_string()) return ChatTemplate(t.get<std::string>(), origin, limits);
  LP_CHECK(t.is_array(), origin, ": expected a string or a list of {name, template}, got ", t.type_name());
  for (const auto& entry : t) {
    if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
        entry["template"].is_string()) {
      return ChatTemplate(entry["template"].get<std::string>(), origin + "[default]", limits);
    }
  }
  throw_error(origin, ": the list of templates has no {\"name\": \"default\", \"template\": \"...\"} entry");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, const ChatRenderOptions& options) const {
  const std::string& origin = impl_->origin;
  ojson vars = ojson::object();
  ojson list = ojson::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    LP_CHECK(is_valid_utf8(messages[i].role), origin, ": message ", i, ": the role is not valid UTF-8");
    LP_CHECK(is_valid_utf8(messages[i].content), origin, ": message ", i, ": the content is not valid UTF-8");
    ojson m = ojson::object();
    m["role"] = messages[i].role;
    m["content"] = messages[i].content;
    list.push_back(std::move(m));
  }
  vars["messages"] = std::move(list);
  vars["tools"] = nullptr;
  vars["documents"] = nullptr;
  vars["add_generation_prompt"] = options.add_generation_prompt;
  if (options.bos_token) {
    LP_CHECK(is_valid_utf8(*options.bos_token), origin, ": bos_token is not valid UTF-8");
    vars["bos_token"] = *options.bos_token;
  }
  if (options.eos_token) {
    LP_CHECK(is_valid_utf8(*options.eos_token), origin, ": eos_token is not valid UTF-8");
    vars["eos_token"] = *options.eos_token;
  }
  if (!options.extra_variables_json.empty()) {
    const ojson extra = parse_object(options.extra_variables_json, origin + ": extra variables");
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      LP_CHECK(it.key() != "messages" && it.key() != "add_generation_prompt", origin, ": extra variable '",
               it.key(), "' conflicts with the argument of the same name");
      vars[it.key()] = it.value();
    }
  }
  return impl_->run(impl_->variables(vars, origin + ": variables"));
}

std::string ChatTemplate::render_json(std::string_view variables_json) const {
  const std::string where = impl_->origin + ": variables";
  return impl_->run(impl_->variables(parse_object(variables_json, where), where));
}

const std::string& ChatTemplate::origin() const { return impl_->origin; }
const std::string& ChatTemplate::source() const { return impl_->source; }

ChatRenderOptions chat_options_from_tokenizer_config(const std::filesystem::path& tokenizer_config) {
  const std::string text = read_text_file(tokenizer_config);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_error(tokenizer_config.string(), ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object(), tokenizer_config.string(), ": expected a JSON object (a tokenizer_config.json)");
  auto token = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    throw_error(tokenizer_config.string(), ": key '", key, "': expected a string or {\"content\": ...}, got ",
                v.type_name());
  };
  ChatRenderOptions o;
  o.bos_token = token("bos_token");
  o.eos_token = token("eos_token");
  nlohmann::json extra = nlohmann::json::object();
  for (const char* key : {"unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (auto t = token(key)) extra[key] = *t;
  }
  if (!extra.empty()) o.extra_variables_json = extra.dump();
  return o;
}

ChatTemplate load_chat_template(const std::filesystem::path& model_dir) {
  const auto jinja = model_dir / "chat_template.jinja";
  if (std::filesystem::is_regular_file(jinja)) return ChatTemplate::from_file(jinja);
  const auto config = model_dir / "tokenizer_config.json";
  LP_CHECK(std::filesystem::is_regular_file(config), model_dir.string(),
           ": no chat template (neither chat_template.jinja nor tokenizer_config.json)");
  return ChatTemplate::from_file(config);
}

ChatRenderOptions chat_options_of(const std::filesystem::path& model_dir) {
  const auto config = model_dir / "tokenizer_config.json";
  return std::filesystem::is_regular_file(config) ? chat_options_from_tokenizer_config(config)
                                                  : ChatRenderOptions{};
}

}  // namespace lightpeft
