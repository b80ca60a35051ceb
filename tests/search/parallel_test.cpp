#include "tests/nasforge_catch.h"

#include <set>

#include "common/errors.h"
#include "search/experiment.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

TEST_CASE("two worker slots train two trials at once and record each trial once", "[search]") {
  TempDir dir("cli-parallel");
  auto config = tiny_fashion_experiment(4, 2);
  const auto db = dir.file("parallel.db");
  const auto result =
      run_cli("run " + write_json(dir, "p.json", config) + " --db " + db + " --workers 2");
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 4);
  std::set<std::int64_t> ordinals;
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 2);
    ordinals.insert(t.ordinal);
  }
  CHECK(ordinals.size() == 4);
  // Both slots busy at once: some two trials ran during overlapping intervals.
  int overlapping = 0;
  for (size_t i = 0; i < trials.size(); ++i) {
    for (size_t j = i + 1; j < trials.size(); ++j) {
      overlapping += trials[i].started_at < trials[j].finished_at &&
                     trials[j].started_at < trials[i].finished_at;
    }
  }
  CHECK(overlapping >= 2);
  CHECK(store.experiment().config.at("parallel").at("workers") == 2);
}

TEST_CASE("parallel settings are validated", "[search]") {
  auto config = tiny_fashion_experiment(2);
  config["parallel"] = {{"workers", 0}};
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("e.parallel.workers"));
  config["parallel"] = {{"devices", "tpu:0"}};
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("unknown device 'tpu:0'"));
  config["parallel"] = {{"workers", 2}, {"slots", 2}};
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"), Catch::Contains("\"slots\""));
  config["parallel"] = {{"devices", json::array({"cuda:0", "cuda:1"})}};
  const auto e = search::Experiment::from_json(config, "e");
  CHECK(e.parallel.workers == 2);
  CHECK(e.parallel.device_of(3) == "cuda:1");
  CHECK(search::Experiment::from_json(e.to_json(), "e").parallel.devices == e.parallel.devices);
}
