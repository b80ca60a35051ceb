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

}  // namespace

TEST_CASE("a wall-clock budget stops proposing once the evaluation time is spent", "[search]") {
  TempDir dir("seconds");
  json config = {
      {"name", "seconds"},
      {"seed", 1},
      {"budget", {{"seconds", 35}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "random"}}},
      {"evaluator",
       {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
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
