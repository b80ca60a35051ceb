#include "common/json_config.h"

namespace nasforge::config {

std::string type_name(const json& j) { return j.type_name(); }

void require_object(const json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": expected an object, got " + type_name(j));
}

void reject_unknown_keys(const json& j, const std::string& where,
                         std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (known) continue;
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    throw ConfigError(where + ": unknown key \"" + key + "\"; expected one of " + list);
  }
}

}  // namespace nasforge::config
