#include "tests/nasforge_catch.h"

#include <filesystem>

#include "search/experiment.h"
#include "search/search_loop.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

search::Experiment nb201_experiment(const json& controller, int trials) {
  return search::Experiment::from_json(nb201_table_search("loop", 17, controller, trials), "test");
}

std::vector<std::string> run_in(const std::string& db, const search::Experiment& experiment,
                                bool create) {
  auto store = create ? store::SqliteStore::create(db) : store::SqliteStore::open(db);
  if (create) store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  search::SearchLoop loop(store, store.experiment().id, experiment, prepared, db + ".artifacts");
  loop.run();
  std::vector<std::string> archs;
  for (const auto& t : store.trials(store.experiment().id)) archs.push_back(t.arch_canonical);
  return archs;
}

}  // namespace

TEST_CASE("a search stopped and resumed proposes exactly what an uninterrupted one does",
          "[search]") {
  for (const json& controller :
       {json{{"type", "random"}}, json{{"type", "evolution"}, {"population", 8}, {"sample", 4}},
        json{{"type", "reinforce"}, {"batch_size", 3}}, json{{"type", "local_search"}},
        json{{"type", "predictor"}, {"warmup", 5}, {"retrain_every", 3}, {"steps", 20}}}) {
    DYNAMIC_SECTION(controller.at("type").get<std::string>()) {
      TempDir dir("loop");
      const auto uninterrupted = run_in(dir.file("a.db"), nb201_experiment(controller, 30), true);
      // Stop after 12 trials (a fresh process would start from the store like this), resume to 30.
      run_in(dir.file("b.db"), nb201_experiment(controller, 12), true);
      const auto resumed = run_in(dir.file("b.db"), nb201_experiment(controller, 30), false);
      REQUIRE(uninterrupted.size() == 30);
      CHECK(resumed == uninterrupted);
    }
  }
}

TEST_CASE("an interrupted trial is run again with the controller state saved at its proposal",
          "[search]") {
  TempDir dir("loop-interrupted");
  const json controller = {{"type", "evolution"}, {"population", 6}, {"sample", 3}};
  const auto uninterrupted = run_in(dir.file("a.db"), nb201_experiment(controller, 20), true);
  run_in(dir.file("b.db"), nb201_experiment(controller, 10), true);
  {
    // Simulate a crash during trial 10: proposed and recorded, then never finished.
    auto store = store::SqliteStore::open(dir.file("b.db"));
    auto experiment = nb201_experiment(controller, 11);
    auto prepared = search::prepare(experiment);
    auto live =
        controllers::make_controller(experiment.controller, *prepared.space, experiment.seed);
    live->load_state(json::from_cbor(store.controller_state(store.experiment().id)->cbor));
    const auto arch = live->propose();
    const auto id = store.create_trial(store.experiment().id,
                                       {10,
                                        arch.canonical(),
                                        arch.hash(),
                                        prepared.space->to_json(arch),
                                        {},
                                        TrialKind::kNew,
                                        std::nullopt},
                                       {10, json::to_cbor(live->state())});
    store.start_trial(id);
  }
  const auto resumed = run_in(dir.file("b.db"), nb201_experiment(controller, 20), false);
  CHECK(resumed == uninterrupted);
}
