#pragma once
// Helpers for tests that drive the real `nasforge` binary.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace nasforge::testing {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// A shell command line, its stderr with its stdout.
inline CliResult run_shell(const std::string& command) {
  CliResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The nasforge binary with `args`.
inline CliResult run_cli(const std::string& args) {
  return run_shell(std::string(NASFORGE_BINARY) + " " + args);
}

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() /
           ("nasforge-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string write_json(const TempDir& dir, const std::string& name,
                              const nlohmann::json& j) {
  const auto path = dir.file(name);
  std::ofstream(path) << j.dump(2);
  return path;
}

// A tiny but real search: Fashion-MNIST, a few hundred training images, two small stages.
inline nlohmann::json tiny_fashion_experiment(int trials, int epochs = 2) {
  auto j = nlohmann::json::parse(R"({
    "name": "tiny", "seed": 5,
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic", "bottleneck", "dense"], "depth": [1], "width": [8, 12], "growth_rate": [4]},
      {"block": ["basic", "dense"], "depth": [1], "width": [16], "growth_rate": [4, 8]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist",
                "validation_fraction": 0.02, "train_subset": 1024},
    "training": {"batch_size": 32, "learning_rate": 0.05, "device": "cpu", "threads": 1}})");
  j["budget"] = {{"trials", trials}};
  j["training"]["epochs"] = epochs;
  return j;
}

inline std::string nb201_table_path() {
  return std::string(NASFORGE_SOURCE_DIR) + "/benchmarks/nb201/nb201.csv.gz";
}

// An experiment that searches the NAS-Bench-201 table (cifar10_valid) for `trials` trials.
inline nlohmann::json nb201_table_search(const std::string& name, int seed,
                                         const nlohmann::json& controller, int trials) {
  return {{"name", name},
          {"seed", seed},
          {"budget", {{"trials", trials}}},
          {"space", {{"type", "nb201"}}},
          {"controller", controller},
          {"evaluator",
           {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
}

}  // namespace nasforge::testing
