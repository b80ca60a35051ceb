#include "tests/nasforge_catch.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "search/experiment.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Runs the rest of a scope in another working directory.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const fs::path& dir) : previous_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~WorkingDirectory() { fs::current_path(previous_); }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  fs::path previous_;
};

json nb201_experiment(const std::string& table_path, int trials) {
  return {
      {"name", "paths"},
      {"seed", 2},
      {"budget", {{"trials", trials}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "random"}}},
      {"evaluator", {{"type", "nb201-table"}, {"path", table_path}, {"column", "cifar10_valid"}}}};
}

}  // namespace

TEST_CASE(
    "relative paths in an experiment file resolve against the file's folder, not the "
    "working directory",
    "[search]") {
  TempDir root("experiment-paths");
  const auto experiments = root.path / "project" / "experiments";
  const auto elsewhere = root.path / "elsewhere";
  fs::create_directories(experiments);
  fs::create_directories(elsewhere / "tables");
  fs::create_directories(root.path / "project" / "tables");
  // The real table beside the experiment, and a decoy at the same relative path from the working
  // directory: the old rule (working directory first) would have taken the decoy.
  fs::copy_file(nb201_table_path(), root.path / "project" / "tables" / "nb201.csv.gz");
  std::ofstream(elsewhere / "tables" / "nb201.csv.gz") << "not a table\n";
  const auto file = (experiments / "nb.json").string();
  std::ofstream(file) << nb201_experiment("../tables/nb201.csv.gz", 5).dump(2);

  auto training = tiny_fashion_experiment(1);
  training["dataset"]["path"] = "data/fashion";  // need not exist to be resolved
  const auto training_file = (experiments / "train.json").string();
  std::ofstream(training_file) << training.dump(2);

  WorkingDirectory cwd(elsewhere);
  const auto experiment = search::load_experiment_file(file);
  CHECK(experiment.evaluator.at("path").get<std::string>() ==
        (root.path / "project" / "tables" / "nb201.csv.gz").string());
  CHECK(search::load_experiment_file(training_file).dataset.path ==
        (experiments / "data" / "fashion").string());
  // A relative name of the experiment file itself is still read from the working directory.
  CHECK(search::load_experiment_file("../project/experiments/nb.json")
            .evaluator.at("path")
            .get<std::string>() == (root.path / "project" / "tables" / "nb201.csv.gz").string());

  // Absolute paths are kept as written.
  training["dataset"]["path"] = "/usr/share/datasets/fashion-mnist";
  std::ofstream(training_file) << training.dump(2);
  CHECK(search::load_experiment_file(training_file).dataset.path ==
        "/usr/share/datasets/fashion-mnist");

  // The CLI, started in the other folder, finds the table and stores its absolute path, so the
  // run completes there and `resume` would work from anywhere.
  const auto db = (elsewhere / "nb.db").string();
  const auto result = run_cli("run " + file + " --db " + db + " --quiet");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  CHECK(store.trials(store.experiment().id).size() == 5);
  CHECK(store.experiment().config.at("evaluator").at("path").get<std::string>() ==
        (root.path / "project" / "tables" / "nb201.csv.gz").string());
}

TEST_CASE("every experiment file shipped in experiments/ parses and validates", "[search]") {
  const fs::path folder = fs::path(NASFORGE_SOURCE_DIR) / "experiments";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    const auto experiment = search::load_experiment_file(entry.path().string());
    CHECK_FALSE(experiment.name.empty());
    ++files;
  }
  CHECK(files >= 8);
}

TEST_CASE("the quickstart is a learning search that fits in five minutes", "[search]") {
  const auto experiment = search::load_experiment_file(std::string(NASFORGE_SOURCE_DIR) +
                                                       "/experiments/quickstart.json");
  CHECK(experiment.controller.at("type") != "random");
  REQUIRE(experiment.fidelity.has_value());
  CHECK(experiment.fidelity->extend_best);
  CHECK(experiment.budget.seconds > 0);
  CHECK(experiment.budget.seconds <= 280);  // plus start-up, at most 5 minutes of wall time
}
