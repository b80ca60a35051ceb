#include "tests/nasforge_catch.h"

#include "search/experiment.h"
#include "search/search_loop.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

// Every trial "takes" ten seconds of evaluation.
class TenSecondEvaluator final : public trainer::Evaluator {
 public:
  std::string type() const override { return "ten-seconds"; }
  trainer::TrialResult evaluate(const space::Architecture&, const trainer::TrialContext&) override {
    trainer::TrialResult result;
    result.status = trainer::TrialStatus::kCompleted;
    result.val_accuracy = 0.5;
    result.epochs = 200;
    result.wall_seconds = 10;
    return result;
  }
};

// Five epochs of four seconds each, reported through the context like the trainer does.
class EpochsEvaluator final : public trainer::Evaluator {
 public:
  std::string type() const override { return "epochs"; }
  trainer::TrialResult evaluate(const space::Architecture&,
                                const trainer::TrialContext& context) override {
    trainer::TrialResult result;
    result.status = trainer::TrialStatus::kCompleted;
    for (int epoch = 1; epoch <= 5; ++epoch) {
      trainer::EpochRecord record;
      record.epoch = epoch;
      record.val_accuracy = 0.1 * epoch;
      record.seconds = 4;
      result.epochs = epoch;
      result.val_accuracy = record.val_accuracy;
      result.wall_seconds += record.seconds;
      if (!context.on_epoch(record)) {
        if (epoch < 5) result.status = trainer::TrialStatus::kPruned;
        break;
      }
    }
    return result;
  }
};

json table_experiment(double seconds) {
  return {{"name", "seconds"},
          {"seed", 1},
          {"budget", {{"seconds", seconds}}},
          {"space", {{"type", "nb201"}}},
          {"controller", {{"type", "random"}}},
          {"evaluator",
           {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
}

}  // namespace

TEST_CASE("a wall-clock budget stops proposing once the evaluation time is spent", "[search]") {
  TempDir dir("seconds");
  json config = table_experiment(35);
  const auto experiment = search::Experiment::from_json(config, "e");
  CHECK(experiment.seconds == 35);
  CHECK(search::Experiment::from_json(experiment.to_json(), "e").seconds == 35);
  auto store = store::SqliteStore::create(dir.file("s.db"));
  const auto id = store.create_experiment(experiment.name, experiment.to_json());
  search::SearchParts parts;
  parts.space = space::make_search_space(experiment.space);
  parts.evaluator = std::make_unique<TenSecondEvaluator>();
  search::SearchLoop loop(store, id, experiment, parts, dir.file("s.db.artifacts"));
  loop.run();
  // 10 + 10 + 10 < 35, so a fourth trial starts; after it 40 >= 35 and the search ends.
  CHECK(store.trials(id).size() == 4);

  config["budget"]["seconds"] = -1;
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("e.budget.seconds: expected a positive number"));
}

TEST_CASE("a trial still running when the time budget is spent stops at that epoch", "[search]") {
  TempDir dir("seconds-stop");
  const auto experiment = search::Experiment::from_json(table_experiment(50), "e");
  auto store = store::SqliteStore::create(dir.file("s.db"));
  const auto id = store.create_experiment(experiment.name, experiment.to_json());
  search::SearchParts parts;
  parts.space = space::make_search_space(experiment.space);
  parts.evaluator = std::make_unique<EpochsEvaluator>();
  search::SearchLoop loop(store, id, experiment, parts, dir.file("s.db.artifacts"));
  loop.run();
  // Two trials of 20 s complete; the third reaches 40 + 12 >= 50 after its third epoch.
  const auto trials = store.trials(id);
  REQUIRE(trials.size() == 3);
  CHECK(trials[0].status == "completed");
  CHECK(trials[1].status == "completed");
  CHECK(trials[2].status == "pruned");
  CHECK(trials[2].outcome.epochs == 3);
  CHECK(trials[2].outcome.error == "time budget spent");
  CHECK(store.epochs(trials[2].id).size() == 3);
  // The stopped trial is not the best: that one is judged at the full fidelity.
  REQUIRE(store.best_trial(id));
  CHECK(store.best_trial(id)->outcome.epochs == 5);
}
