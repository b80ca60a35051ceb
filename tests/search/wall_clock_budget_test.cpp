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

// Epochs of four seconds each (five, or the trial's "epochs"), with accuracy rising by epoch,
// reported through the context like the trainer does.
class EpochsEvaluator final : public trainer::Evaluator {
 public:
  std::string type() const override { return "epochs"; }
  trainer::TrialResult evaluate(const space::Architecture&,
                                const trainer::TrialContext& context) override {
    trainer::TrialResult result;
    result.status = trainer::TrialStatus::kCompleted;
    const int epochs = context.hparams.value("epochs", 5);
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      trainer::EpochRecord record;
      record.epoch = epoch;
      record.val_accuracy = 0.001 * epoch;
      record.seconds = 4;
      result.epochs = epoch;
      result.val_accuracy = record.val_accuracy;
      result.wall_seconds += record.seconds;
      if (!context.on_epoch(record)) {
        if (epoch < epochs) result.status = trainer::TrialStatus::kPruned;
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

// Runs `config` in dir/s.db with `evaluator` standing in for training; returns the store.
store::SqliteStore run_search(const TempDir& dir, const json& config,
                              std::unique_ptr<trainer::Evaluator> evaluator) {
  const auto experiment = search::Experiment::from_json(config, "e");
  {
    auto store = store::SqliteStore::create(dir.file("s.db"));
    const auto id = store.create_experiment(experiment.name, experiment.to_json());
    search::SearchParts parts;
    parts.space = space::make_search_space(experiment.space);
    parts.evaluator = std::move(evaluator);
    search::SearchLoop loop(store, id, experiment, parts, dir.file("s.db.artifacts"));
    loop.run();
  }
  return store::SqliteStore::open(dir.file("s.db"));
}

}  // namespace

TEST_CASE("a wall-clock budget stops proposing once the evaluation time is spent", "[search]") {
  TempDir dir("seconds");
  json config = table_experiment(35);
  const auto experiment = search::Experiment::from_json(config, "e");
  CHECK(experiment.seconds == 35);
  CHECK(search::Experiment::from_json(experiment.to_json(), "e").seconds == 35);
  auto store = run_search(dir, config, std::make_unique<TenSecondEvaluator>());
  // 10 + 10 + 10 < 35, so a fourth trial starts; after it 40 >= 35 and the search ends.
  CHECK(store.trials(store.experiment().id).size() == 4);

  config["budget"]["seconds"] = -1;
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("e.budget.seconds: expected a positive number"));
}

TEST_CASE("a trial still running when the time budget is spent stops at that epoch", "[search]") {
  TempDir dir("seconds-stop");
  auto store = run_search(dir, table_experiment(50), std::make_unique<EpochsEvaluator>());
  const auto id = store.experiment().id;
  // Two trials of 20 s complete; the third reaches 40 + 12 >= 50 after its third epoch.
  const auto trials = store.trials(id);
  REQUIRE(trials.size() == 3);
  CHECK(trials[0].status == "completed");
  CHECK(trials[1].status == "completed");
  CHECK(trials[2].status == "pruned");
  CHECK(trials[2].outcome.epochs == 3);
  CHECK(trials[2].outcome.error == "time budget spent");
  CHECK(store.epochs(trials[2].id).size() == 3);
  REQUIRE(store.best_trial(id));
  CHECK(store.best_trial(id)->outcome.epochs == 5);
}

TEST_CASE("a trial stopped by the time budget is never the best, however far it got", "[search]") {
  TempDir dir("seconds-best");
  // Three 12-epoch trials (144 s), then the promotion to 200 epochs stops after epoch 14: more
  // epochs and a higher accuracy than any completed trial.
  auto config = table_experiment(200);
  config["fidelity"] = {
      {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 3}};
  auto store = run_search(dir, config, std::make_unique<EpochsEvaluator>());
  const auto id = store.experiment().id;
  const auto trials = store.trials(id);
  REQUIRE(trials.size() == 4);
  CHECK(trials[3].status == "pruned");
  CHECK(trials[3].outcome.epochs == 14);
  CHECK(trials[3].outcome.error == "time budget spent");
  const auto best = store.best_trial(id);
  REQUIRE(best);
  CHECK(best->status == "completed");
  CHECK(best->outcome.epochs == 12);
}
