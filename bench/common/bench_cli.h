#pragma once
// The benchmarks' command line: flags declared on a CLI11 app (a flag given twice keeps its last
// value), comma-separated lists and NAME=JSON specs, and the main() every benchmark runs through,
// which turns an error into one line on stderr and an exit code.
#include <algorithm>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
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

// The value of `text` when all of it is a number above 0 (T: int or double).
template <typename T>
std::optional<T> parse_positive(const std::string& text) {
  static_assert(std::is_same_v<T, int> || std::is_same_v<T, double>);
  try {
    size_t used = 0;
    T value;
    if constexpr (std::is_same_v<T, int>) {
      value = std::stoi(text, &used);
    } else {
      value = std::stod(text, &used);
    }
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

template <typename T>
std::string expected_positive(const std::string& text) {
  return std::string("expected a positive ") + (std::is_same_v<T, int> ? "integer" : "number") +
         ", got '" + text + "'";
}

}  // namespace detail

// ->check(bench::positive<int>()) on a flag that takes a positive int (or double); the message
// of CLI::PositiveNumber is a range up to 1.8e308.
template <typename T>
CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& text) {
        return detail::parse_positive<T>(text) ? std::string() : detail::expected_positive<T>(text);
      },
      "POSITIVE");
}

// "--name N": a positive int (or double); its default is shown in --help when it is one (0 stands
// for "decided later" in some benchmarks).
template <typename T>
CLI::Option* add_positive(CLI::App& app, const std::string& name, T& value,
                          const std::string& help) {
  auto* option = app.add_option(name, value, help)->check(positive<T>());
  if (value > 0) option->capture_default_str();
  return option;
}

enum class Order { kAsGiven, kSorted };

// "--name 256,512": positive integers, kept in the order given or sorted.
inline CLI::Option* add_int_list(CLI::App& app, const std::string& name, std::vector<int>& values,
                                 const std::string& help, Order order) {
  auto parse = [&values, name, order](const std::string& text) {
    std::vector<int> parsed;
    for (const auto& item : detail::split_commas(text)) {
      const auto value = detail::parse_positive<int>(item);
      if (!value) throw ConfigError(name + ": " + detail::expected_positive<int>(item));
      parsed.push_back(*value);
    }
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

// --seeds, --budgets, --jobs and --table: the flags of the benchmarks that repeat a search on the
// NAS-Bench-201 table for seeds 1..N, N at a time, and judge it at several budgets.
inline void add_seed_flags(CLI::App& app, int& seeds, std::vector<int>& budgets, int& jobs,
                           std::string& table, const std::string& budgets_help) {
  add_positive(app, "--seeds", seeds, "runs per strategy (seeds 1..N)");
  add_int_list(app, "--budgets", budgets, budgets_help, Order::kSorted);
  app.add_option("--jobs", jobs, "seeds run in parallel")->capture_default_str();
  app.add_option("--table", table, "the NAS-Bench-201 table")->capture_default_str();
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
