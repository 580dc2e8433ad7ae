#include <sstream>

#include "config_codec.h"
#include "lightpeft/core/error.h"

namespace lightpeft::models_detail {

using nlohmann::json;

ConfigReader::ConfigReader(const json& object, std::string origin)
    : object_(object), origin_(std::move(origin)) {}

void ConfigReader::fail(const char* key, const std::string& message) const {
  throw_error(origin_, ": key '", key, "': ", message);
}

const json* ConfigReader::value(const char* key) {
  used_.insert(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t ConfigReader::integer(const char* key) {
  const json* v = value(key);
  LP_CHECK(v != nullptr, origin_, ": missing key '", key, "'");
  if (!v->is_number_integer())
    fail(key, std::string("expected an integer, got ") + v->type_name() + " " + v->dump());
  return v->get<int64_t>();
}

int64_t ConfigReader::integer(const char* key, int64_t fallback) {
  if (object_.contains(key) && !object_[key].is_null()) return integer(key);
  used_.insert(key);
  return fallback;
}

double ConfigReader::number(const char* key, double fallback) {
  const json* v = value(key);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(key, std::string("expected a number, got ") + v->type_name() + " " + v->dump());
  return v->get<double>();
}

std::string ConfigReader::string(const char* key, const std::string& fallback) {
  const json* v = value(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) fail(key, std::string("expected a string, got ") + v->type_name() + " " + v->dump());
  return v->get<std::string>();
}

bool ConfigReader::boolean(const char* key, bool fallback) {
  const json* v = value(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(key, std::string("expected true or false, got ") + v->type_name() + " " + v->dump());
  return v->get<bool>();
}

std::optional<std::vector<int64_t>> ConfigReader::int_list(const char* key) {
  const json* v = value(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) fail(key, std::string("expected a list of integers, got ") + v->type_name());
  std::vector<int64_t> out;
  for (const auto& e : *v) {
    if (!e.is_number_integer()) fail(key, "expected integers, got " + e.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::string ConfigReader::unread_keys() const {
  json extra = json::object();
  for (auto it = object_.begin(); it != object_.end(); ++it)
    if (!used_.count(it.key())) extra[it.key()] = it.value();
  return extra.dump();
}

}  // namespace lightpeft::models_detail
