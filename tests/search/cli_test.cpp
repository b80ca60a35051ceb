#include "tests/nasforge_catch.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("run records the experiment and every trial, status and export read them", "[search]") {
  TempDir dir("cli-run");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(3));
  const auto db = dir.file("tiny.db");
  const auto run = run_cli("run " + config + " --db " + db);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.output, Catch::Contains("best: trial"));

  auto store = store::SqliteStore::open(db);
  const auto experiment = store.experiment();
  CHECK(experiment.name == "tiny");
  CHECK(experiment.status == "completed");
  const auto trials = store.trials(experiment.id);
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(t.result.epochs == 2);
    CHECK(store.epochs(t.id).size() == 2);
    CHECK(t.result.val_accuracy > 0.3);  // 10 classes: well above chance after 2 epochs
    CHECK(fs::exists(t.result.weights_path));
  }

  const auto status = run_cli("status --db " + db);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.output, Catch::Contains("completed") && Catch::Contains("trials: 3 of 3"));

  const auto out = dir.file("model");
  const auto exported = run_cli("export --db " + db + " --out " + out);
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  REQUIRE(fs::exists(out + "/architecture.json"));
  REQUIRE(fs::exists(out + "/weights.pt"));
  json metrics;
  std::ifstream(out + "/metrics.json") >> metrics;
  const double test_accuracy = metrics.at("test_accuracy").get<double>();
  CHECK(test_accuracy > 0.3);
  CHECK(metrics.at("val_accuracy").get<double>() ==
        Approx(store.best_trial(experiment.id)->result.val_accuracy));

  // The exported model loads back and gives the same test accuracy.
  const auto evaluated = run_cli("evaluate --model " + out);
  INFO(evaluated.output);
  REQUIRE(evaluated.exit_code == 0);
  char expected[64];
  std::snprintf(expected, sizeof expected, "test accuracy %.4f", test_accuracy);
  CHECK_THAT(evaluated.output, Catch::Contains(expected));
  json model;
  std::ifstream(out + "/architecture.json") >> model;
  CHECK(model.at("architecture").at("canonical") ==
        store.best_trial(experiment.id)->arch_canonical);
}

TEST_CASE("bad input gives one clear line, exit code 2 and no database", "[search]") {
  TempDir dir("cli-bad");
  const auto db = dir.file("never.db");
  auto check_rejected = [&](const std::string& args, const std::string& message) {
    const auto result = run_cli(args);
    INFO(result.output);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::StartsWith("nasforge: error: ") && Catch::Contains(message));
    CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(db));
  };

  const auto malformed = dir.file("malformed.json");
  std::ofstream(malformed) << "{\"name\": \"x\", \"budget\": ";
  check_rejected("run " + malformed + " --db " + db, "malformed JSON");

  auto config = tiny_fashion_experiment(2);
  config.erase("budget");
  check_rejected("run " + write_json(dir, "incomplete.json", config) + " --db " + db,
                 "missing required key \"budget\"");

  config = tiny_fashion_experiment(2);
  config["space"]["stages"][1]["block"] = json::array({"basic", "resnext"});
  check_rejected(
      "run " + write_json(dir, "block.json", config) + " --db " + db,
      "stages[1].block[1]: unknown block type 'resnext'; expected basic, bottleneck or dense");

  config = tiny_fashion_experiment(2);
  config["dataset"]["path"] = dir.file("no-such-folder");
  check_rejected("run " + write_json(dir, "data.json", config) + " --db " + db,
                 "Fashion-MNIST directory not found");

  config = tiny_fashion_experiment(2);
  config["controller"] = {{"type", "bayesian"}};
  check_rejected("run " + write_json(dir, "controller.json", config) + " --db " + db,
                 "unknown controller 'bayesian'");

  config = tiny_fashion_experiment(2);
  config["training"]["learning_rat"] = 0.1;
  check_rejected("run " + write_json(dir, "typo.json", config) + " --db " + db,
                 "unknown key \"learning_rat\"");

  check_rejected("run " + dir.file("absent.json") + " --db " + db, "cannot read experiment file");

  const auto foreign = dir.file("foreign.db");
  std::ofstream(foreign) << "not a database at all, just text";
  for (const auto* command : {"status", "resume", "export"}) {
    const std::string extra = std::string(command) == "export" ? " --out " + dir.file("o") : "";
    const auto result = run_cli(std::string(command) + " --db " + foreign + extra);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains("not a nasforge database"));
  }
  CHECK(run_cli("frobnicate").exit_code == 2);
  CHECK(run_cli("status").exit_code == 2);
  CHECK(run_cli("run --help").exit_code == 0);
}

TEST_CASE("run refuses to overwrite an existing database", "[search]") {
  TempDir dir("cli-exists");
  const auto db = dir.file("x.db");
  std::ofstream(db) << "precious";
  const auto result =
      run_cli("run " + write_json(dir, "t.json", tiny_fashion_experiment(1)) + " --db " + db);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Contains("already exists"));
  std::string content;
  std::getline(std::ifstream(db), content);
  CHECK(content == "precious");
}

TEST_CASE("an NB201 table search runs from an experiment file", "[search]") {
  TempDir dir("cli-nb201");
  json config = {
      {"name", "nb201"},
      {"seed", 3},
      {"budget", {{"trials", 40}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "evolution"}}},
      {"evaluator",
       {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
  const auto db = dir.file("nb.db");
  const auto result =
      run_cli("run " + write_json(dir, "nb.json", config) + " --db " + db + " --quiet");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  CHECK(trials.size() == 40);
  const auto best = store.best_trial(store.experiment().id);
  REQUIRE(best);
  CHECK(best->result.val_accuracy > 0.88);
  CHECK(best->result.extra.contains("cifar100_test"));
  const auto exported = run_cli("export --db " + db + " --out " + dir.file("m"));
  CHECK(exported.exit_code == 0);
  CHECK(fs::exists(dir.file("m") + "/architecture.json"));
}
