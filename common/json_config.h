#pragma once
// Helpers for hand-written from_json of configs: required keys via at(), defaults for optional
// ones, unknown keys rejected, and every error naming the path of the offending value.
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace nasforge::config {

using nlohmann::json;

void require_object(const json& j, const std::string& where);
// Throws ConfigError for the first key of `j` not in `allowed`, listing the allowed ones.
void reject_unknown_keys(const json& j, const std::string& where,
                         std::initializer_list<const char*> allowed);

std::string type_name(const json& j);

template <typename T>
T get_as(const json& value, const std::string& where) {
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!value.is_boolean()) throw json::type_error::create(302, "", nullptr);
    } else if constexpr (std::is_integral_v<T>) {
      if (!value.is_number_integer()) throw json::type_error::create(302, "", nullptr);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!value.is_number()) throw json::type_error::create(302, "", nullptr);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!value.is_string()) throw json::type_error::create(302, "", nullptr);
    }
    return value.get<T>();
  } catch (const json::exception&) {
    const char* expected = std::is_same_v<T, bool>          ? "a boolean"
                           : std::is_integral_v<T>          ? "an integer"
                           : std::is_floating_point_v<T>    ? "a number"
                           : std::is_same_v<T, std::string> ? "a string"
                                                            : "a different type";
    throw ConfigError(where + ": expected " + expected + ", got " + type_name(value) + " " +
                      value.dump());
  }
}

template <typename T>
T required(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw ConfigError(where + ": missing required key \"" + key + "\"");
  return get_as<T>(j.at(key), where + "." + key);
}

template <typename T>
T optional(const json& j, const char* key, const std::string& where, T fallback) {
  if (!j.contains(key)) return fallback;
  return get_as<T>(j.at(key), where + "." + key);
}

// A scalar or an array of scalars, as a list of T (a scalar is a list of one).
template <typename T>
std::vector<T> list_of(const json& j, const std::string& where) {
  std::vector<T> out;
  if (j.is_array()) {
    if (j.empty()) throw ConfigError(where + ": expected at least one value");
    for (size_t i = 0; i < j.size(); ++i)
      out.push_back(get_as<T>(j[i], where + "[" + std::to_string(i) + "]"));
  } else {
    out.push_back(get_as<T>(j, where));
  }
  return out;
}

// Checks lo <= value <= hi.
template <typename T>
T in_range(T value, T lo, T hi, const std::string& where) {
  if (value < lo || value > hi) {
    throw ConfigError(where + ": " + std::to_string(value) + " is out of range [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

}  // namespace nasforge::config
