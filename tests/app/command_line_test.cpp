// The command line of the real `nasforge` binary: help for the program and each command, and bad
// usage as one line on stderr with exit code 2 (CLI11 on its own prints several).
#include "tests/nasforge_catch.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "app/cli.h"
#include "common/errors.h"
#include "tests/search/cli_helpers.h"

using nasforge::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the binary in `dir` (so a default database would land there) with stdout and stderr apart.
Outcome run_nasforge(const TempDir& dir, const std::string& args) {
  const auto out = dir.file("stdout");
  const auto err = dir.file("stderr");
  const std::string command =
      "cd " + dir.path.string() + " && " + NASFORGE_BINARY + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  Outcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = read(out);
  outcome.err = read(err);
  return outcome;
}

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("help for the program and for each command exits 0 and lists the options", "[app]") {
  TempDir dir("app-help");
  const auto run = run_nasforge(dir, "run --help");
  CHECK(run.exit_code == 0);
  CHECK(run.err.empty());
  CHECK_THAT(run.out, Catch::Contains("nasforge run") && Catch::Contains("CONFIG") &&
                          Catch::Contains("--workers") && Catch::Contains("--devices") &&
                          Catch::Contains("--db") && Catch::Contains("--quiet"));

  const auto program = run_nasforge(dir, "--help");
  CHECK(program.exit_code == 0);
  for (const char* command : {"run", "launch", "resume", "status", "export", "evaluate", "data"}) {
    CHECK_THAT(program.out, Catch::Contains(command));
  }

  const std::pair<const char*, const char*> options[] = {
      {"launch", "--nproc"}, {"resume", "--db"},      {"status", "--db"},
      {"export", "--onnx"},  {"evaluate", "--split"}, {"data inspect", "--image-size"}};
  for (const auto& [command, option] : options) {
    INFO(command);
    const auto help = run_nasforge(dir, std::string(command) + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out,
               Catch::Contains(std::string("nasforge ") + command) && Catch::Contains(option));
  }
  // --help wins over a missing required option.
  CHECK(run_nasforge(dir, "launch --help").exit_code == 0);
  CHECK(run_nasforge(dir, "help").exit_code == 0);
}

TEST_CASE("bad usage is one line on stderr naming the command, exit code 2 and no database",
          "[app]") {
  TempDir dir("app-usage");
  const std::pair<const char*, const char*> cases[] = {
      {"run c.json --bogus", "run: unknown option --bogus"},
      {"run c.json --bogus 3", "run: unknown option --bogus"},
      {"--bogus", "unknown option --bogus"},
      {"run a.json b.json", "run: unexpected argument 'b.json'"},
      {"launch --nproc x c.json", "launch: --nproc: 'x': expected a positive integer"},
      {"launch --nproc 010x c.json", "launch: --nproc: '010x': expected a positive integer"},
      {"launch c.json", "launch: --nproc is required"},
      {"run c.json --workers 0", "run: --workers: '0': expected a positive integer"},
      {"run c.json --workers", "run: --workers"},
      {"run", "run: CONFIG is required"},
      {"status", "status: --db is required"},
      {"export --db x.db", "export: --out is required"},
      {"frobnicate", "unknown command 'frobnicate'; expected run, launch"},
      {"data", "data: expected `data inspect CONFIG`"},
      {"data frobnicate", "data: unexpected argument 'frobnicate'"},
      {"data inspect", "data inspect: give an experiment file CONFIG, or --format and --path"},
      {"data inspect --image-size 8", "data inspect: --image-size needs --format and --path"},
      {"data inspect --format idx --path p --channels three",
       "data inspect: --channels: 'three': expected a whole number"},
      {"data inspect c.json --format idx", "data inspect: CONFIG excludes --format"},
  };
  for (const auto& [args, message] : cases) {
    INFO(args);
    const auto result = run_nasforge(dir, args);
    INFO(result.err);
    CHECK(result.exit_code == 2);
    CHECK(lines(result.err) == 1);
    CHECK_THAT(result.err, Catch::StartsWith("nasforge: error: ") && Catch::Contains(message));
    CHECK(result.out.empty());
  }
  CHECK_FALSE(fs::exists(dir.path / "runs"));
}

TEST_CASE("no command prints the usage and exits 2", "[app]") {
  TempDir dir("app-none");
  const auto result = run_nasforge(dir, "");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.out, Catch::Contains("run") && Catch::Contains("data"));
}

TEST_CASE("a usage error is a ConfigError that points to the command's help", "[app]") {
  std::ostringstream out;
  const char* argv[] = {"nasforge", "status", "--db", "x.db", "--bogus"};
  std::string message;
  try {
    nasforge::app::run_command_line(5, argv, out);
  } catch (const nasforge::ConfigError& e) {
    message = e.what();
  }
  CHECK(message == "status: unknown option --bogus (see nasforge status --help)");
  CHECK(out.str().empty());
}
