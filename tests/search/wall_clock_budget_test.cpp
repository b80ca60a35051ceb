#include "tests/nasforge_catch.h"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <utility>

#include "common/errors.h"
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
  TrialResult evaluate(const space::Architecture&, const trainer::TrialContext&) override {
    TrialResult result;
    result.state = TrialState::kCompleted;
    result.val_accuracy = 0.5;
    result.epochs = 200;
    result.wall_seconds = 10;
    return result;
  }
};

// Reports epochs first..last through the context like the trainer does, with the accuracy and
// seconds that `epoch_record` gives each; pruned when the context stops it before the last.
template <typename EpochFn>
TrialResult report_epochs(const trainer::TrialContext& context, int first, int last,
                          const EpochFn& epoch_record) {
  TrialResult result;
  result.state = TrialState::kCompleted;
  for (int epoch = first; epoch <= last; ++epoch) {
    const auto [accuracy, seconds] = epoch_record(epoch);
    EpochRecord record;
    record.epoch = epoch;
    record.val_accuracy = accuracy;
    record.seconds = seconds;
    result.epochs = epoch;
    result.val_accuracy = accuracy;
    result.wall_seconds += seconds;
    if (!context.on_epoch(record)) {
      if (epoch < last) result.state = TrialState::kPruned;
      break;
    }
  }
  return result;
}

// Epochs of four seconds each (five, or the trial's "epochs"), with accuracy rising by epoch.
class EpochsEvaluator final : public trainer::Evaluator {
 public:
  std::string type() const override { return "epochs"; }
  TrialResult evaluate(const space::Architecture&, const trainer::TrialContext& context) override {
    return report_epochs(context, 1, context.hparams.value("epochs", 5), [](int epoch) {
      return std::pair{0.001 * epoch, 4.0};
    });
  }
};

// Epochs from the trial's start_epoch + 1 to its "epochs", with accuracy rising by epoch and
// differing by architecture, like a trainer that continues from weights. Epochs take four seconds
// up to epoch 3, and two beyond (so that an extension leaves time over).
class ContinuingEvaluator final : public trainer::Evaluator {
 public:
  // crash_beyond: a trial that starts at or beyond this epoch throws (the process dies in it).
  explicit ContinuingEvaluator(int crash_beyond = 0) : crash_beyond_(crash_beyond) {}
  std::string type() const override { return "continuing"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override {
    const int start = context.hparams.value("start_epoch", 0);
    const int epochs = context.hparams.at("epochs").get<int>();
    if (start > 0 && context.init_weights_path.empty()) {
      throw InternalError("a continued trial without its parent's weights");
    }
    if (crash_beyond_ > 0 && start >= crash_beyond_) throw std::runtime_error("power cut");
    const double quality = static_cast<double>(std::hash<std::string>{}(arch.canonical()) % 97);
    return report_epochs(context, start + 1, epochs, [&](int epoch) {
      return std::pair{0.5 + 0.01 * epoch + 0.0001 * quality, epoch <= 3 ? 4.0 : 2.0};
    });
  }

 private:
  int crash_beyond_ = 0;
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
    search::PreparedExperiment prepared;
    prepared.space = space::make_search_space(experiment.space);
    prepared.evaluator = std::move(evaluator);
    search::SearchLoop loop(store, id, experiment, prepared, dir.file("s.db.artifacts"));
    loop.run();
  }
  return store::SqliteStore::open(dir.file("s.db"));
}

// Successive halving 3/1 at 1/3 epochs, continued, with the time left spent extending the best.
json extending_experiment(double seconds) {
  auto j = tiny_fashion_experiment(100, 3);
  j["budget"] = {{"seconds", seconds}};
  j["fidelity"] = {{"type", "successive_halving"},
                   {"rungs", {1, 3}},
                   {"eta", 3},
                   {"bracket_size", 3},
                   {"continue", true},
                   {"extend_best", true}};
  return j;
}

std::vector<int> epochs_of(const std::vector<store::TrialRow>& trials) {
  std::vector<int> out;
  for (const auto& t : trials) out.push_back(t.result.epochs);
  return out;
}

}  // namespace

TEST_CASE("a wall-clock budget stops proposing once the evaluation time is spent", "[search]") {
  TempDir dir("seconds");
  json config = table_experiment(35);
  const auto experiment = search::Experiment::from_json(config, "e");
  CHECK(experiment.budget.seconds == 35);
  CHECK(search::Experiment::from_json(experiment.to_json(), "e").budget.seconds == 35);
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
  CHECK(trials[0].state == TrialState::kCompleted);
  CHECK(trials[1].state == TrialState::kCompleted);
  CHECK(trials[2].state == TrialState::kPruned);
  CHECK(trials[2].result.epochs == 3);
  CHECK(trials[2].result.error == "time budget spent");
  CHECK(store.epochs(trials[2].id).size() == 3);
  REQUIRE(store.best_trial(id));
  CHECK(store.best_trial(id)->result.epochs == 5);
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
  CHECK(trials[3].state == TrialState::kPruned);
  CHECK(trials[3].result.epochs == 14);
  CHECK(trials[3].result.error == "time budget spent");
  const auto best = store.best_trial(id);
  REQUIRE(best);
  CHECK(best->state == TrialState::kCompleted);
  CHECK(best->result.epochs == 12);
}

TEST_CASE("extend_best spends the time a bracket cannot use on the best network", "[search]") {
  TempDir dir("extend");
  // A bracket is 3 x 1 + 2 epochs = 20 s. After the first, 15 s are left: not enough for another,
  // so the best 3-epoch trial trains floor(15 / (4 s x 1.05)) = 3 more epochs from its weights.
  // The process dies in that extension first; resume runs it again.
  const auto config = extending_experiment(35);
  CHECK_THROWS_WITH(run_search(dir, config, std::make_unique<ContinuingEvaluator>(3)), "power cut");
  auto store = store::SqliteStore::open(dir.file("s.db"));
  const auto id = store.experiment().id;
  REQUIRE(store.trials(id).size() == 5);
  CHECK(store.trials(id)[4].state == TrialState::kRunning);
  auto resume = [&] {
    const auto experiment = search::Experiment::from_json(config, "e");
    search::PreparedExperiment prepared;
    prepared.space = space::make_search_space(experiment.space);
    prepared.evaluator = std::make_unique<ContinuingEvaluator>();
    search::SearchLoop loop(store, id, experiment, prepared, dir.file("s.db.artifacts"));
    loop.run();
  };
  resume();
  auto trials = store.trials(id);
  CHECK(epochs_of(trials) == std::vector<int>{1, 1, 1, 3, 6});
  const auto& extension = trials[4];
  CHECK(extension.state == TrialState::kCompleted);
  CHECK(extension.hparams.at("start_epoch") == 3);
  CHECK(extension.kind == TrialKind::kExtension);
  CHECK(extension.parent == std::optional<std::int64_t>(3));
  CHECK(extension.arch_canonical == trials[3].arch_canonical);
  const auto epochs = store.epochs(extension.id);
  REQUIRE(epochs.size() == 3);
  CHECK(epochs.front().epoch == 4);
  CHECK(store.best_trial(id)->id == extension.id);
  const auto changes = store.hparam_changes(id);
  CHECK(std::count_if(changes.begin(), changes.end(), [&](const auto& c) {
          return c.trial_id == extension.id && c.name == "epochs" && c.value == 6 &&
                 c.reason.find("15 s left cannot finish bracket 1") != std::string::npos;
        }) == 1);

  // Its epochs ran faster than its parent's: it took 6 s of the 15, and 9 s are left. But the
  // extension is the search's last trial, also when the search is run again.
  resume();
  CHECK(store.trials(id).size() == 5);
}

TEST_CASE("extend_best lets a bracket run while it fits, and stops when no epoch fits",
          "[search]") {
  {
    // 45 s: the second bracket fits (20 + 20 s); the 5 s left give the best one more epoch.
    TempDir dir("extend-later");
    auto store = run_search(dir, extending_experiment(45), std::make_unique<ContinuingEvaluator>());
    const auto trials = store.trials(store.experiment().id);
    CHECK(epochs_of(trials) == std::vector<int>{1, 1, 1, 3, 1, 1, 1, 3, 4});
    CHECK(trials.back().hparams.at("start_epoch") == 3);
  }
  {
    // 22 s: 2 s left after the first bracket is not one epoch; nothing more starts, where without
    // extend_best a new bracket's first trial would.
    TempDir dir("extend-none");
    auto config = extending_experiment(22);
    auto store = run_search(dir, config, std::make_unique<ContinuingEvaluator>());
    CHECK(epochs_of(store.trials(store.experiment().id)) == std::vector<int>{1, 1, 1, 3});
    TempDir plain_dir("extend-off");
    config["fidelity"]["extend_best"] = false;
    auto plain = run_search(plain_dir, config, std::make_unique<ContinuingEvaluator>());
    CHECK(epochs_of(plain.trials(plain.experiment().id)) == std::vector<int>{1, 1, 1, 3, 1});
  }
  auto config = extending_experiment(35);
  config["fidelity"]["continue"] = false;
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("e.fidelity.extend_best: needs \"continue\": true"));
  config = extending_experiment(35);
  config["budget"] = {{"trials", 10}};
  CHECK_THROWS_WITH(search::Experiment::from_json(config, "e"),
                    Catch::Contains("e.fidelity.extend_best: needs a time budget"));
}
