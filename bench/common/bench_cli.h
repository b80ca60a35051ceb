#pragma once
// The benchmarks' command line: flags declared on a CLI11 app (a flag given twice keeps its last
// value), comma-separated lists and NAME=JSON specs, and the main() every benchmark runs through,
// which turns an error into one line on stderr and an exit code.
#include <algorithm>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/errors.h"

namespace nasforge::bench {

namespace detail {

// "a,,b" -> {"a", "b"}
inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

template <typename T>
std::string join_commas(const std::vector<T>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

inline int positive_int(const std::string& text, const std::string& flag) {
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw ConfigError(flag + ": expected a positive integer, got '" + text + "'");
}

}  // namespace detail

// ->check(bench::positive()) on an integer flag (CLI::PositiveNumber's message is a range).
inline CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          size_t used = 0;
          if (std::stol(text, &used) > 0 && used == text.size()) return "";
        } catch (const std::exception&) {
        }
        return "expected a positive integer, got '" + text + "'";
      },
      "POSITIVE");
}

enum class Order { kAsGiven, kSorted };

// "--name 256,512": positive integers, kept in the order given or sorted.
inline CLI::Option* add_int_list(CLI::App& app, const std::string& name, std::vector<int>& values,
                                 const std::string& help, Order order) {
  auto parse = [&values, name, order](const std::string& text) {
    std::vector<int> parsed;
    for (const auto& item : detail::split_commas(text))
      parsed.push_back(detail::positive_int(item, name));
    if (parsed.empty()) throw ConfigError(name + ": expected at least one value");
    if (order == Order::kSorted) std::sort(parsed.begin(), parsed.end());
    values = std::move(parsed);
  };
  return app.add_option_function<std::string>(name, parse, help)
      ->type_name("N,...")
      ->default_str(detail::join_commas(values));
}

// "--name a,b": names, each one of `allowed` when that is not empty.
inline CLI::Option* add_list(CLI::App& app, const std::string& name,
                             std::vector<std::string>& values, const std::string& help,
                             std::vector<std::string> allowed = {}) {
  auto parse = [&values, name, allowed](const std::string& text) {
    auto parsed = detail::split_commas(text);
    if (parsed.empty()) throw ConfigError(name + ": expected at least one value");
    for (const auto& item : parsed) {
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
        std::string expected;
        for (const auto& a : allowed) expected += (expected.empty() ? "" : ", ") + a;
        throw ConfigError(name + ": expected " + expected + ", got '" + item + "'");
      }
    }
    values = std::move(parsed);
  };
  return app.add_option_function<std::string>(name, parse, help)
      ->type_name("NAME,...")
      ->default_str(detail::join_commas(values));
}

// "--name NAME=JSON", repeatable: `add(NAME, parsed JSON)` for each, in order.
inline CLI::Option* add_named_json(
    CLI::App& app, const std::string& name,
    std::function<void(const std::string&, const nlohmann::json&)> add, const std::string& help) {
  auto parse = [add = std::move(add), name](const std::vector<std::string>& specs) {
    for (const auto& spec : specs) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos) throw ConfigError(name + ": expected NAME=JSON, got " + spec);
      try {
        add(spec.substr(0, eq), nlohmann::json::parse(spec.substr(eq + 1)));
      } catch (const nlohmann::json::parse_error& e) {
        throw ConfigError(name + " " + spec.substr(0, eq) + ": invalid JSON (" + e.what() + ")");
      }
    }
  };
  return app.add_option_function<std::vector<std::string>>(name, parse, help)
      ->type_name("NAME=JSON")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);
}

// A benchmark's main(): add_flags(app, options) declares the flags, CLI11 parses argv, then
// run(options) runs. --help prints the usage and exits 0. A bad flag or value, or a ConfigError,
// is one line "<name>: <what>" on stderr and exit code 2; any other error is exit code 1.
template <typename Options, typename AddFlags, typename Run>
int run_main(int argc, char** argv, const std::string& name, const std::string& description,
             AddFlags add_flags, Run run) {
  auto fail = [&name](const std::string& what, int code) {
    std::string line = what;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::cerr << name << ": " << line << "\n";
    return code;
  };
  try {
    Options options;
    CLI::App app(description, name);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    add_flags(app, options);
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      return fail(std::string(e.what()) + " (see --help)", 2);
    }
    return run(options);
  } catch (const ConfigError& e) {
    return fail(e.what(), 2);
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace nasforge::bench
