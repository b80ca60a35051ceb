#pragma once
// Small helpers the benchmarks share: summary statistics and command-line lists.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace nasforge::bench {

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); 0 for fewer than two values.
inline double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
}

// "50,100,150" -> {50, 100, 150}, sorted.
inline std::vector<int> parse_sorted_ints(const std::string& text) {
  std::vector<int> values;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) values.push_back(std::stoi(item));
  std::sort(values.begin(), values.end());
  return values;
}

// "NAME=JSON" -> {NAME, parsed JSON}, for --strategy.
inline std::pair<std::string, nlohmann::json> parse_named_json(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) throw ConfigError("--strategy: expected NAME=JSON, got " + spec);
  return {spec.substr(0, eq), nlohmann::json::parse(spec.substr(eq + 1))};
}

}  // namespace nasforge::bench
