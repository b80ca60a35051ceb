#include "tests/nasforge_catch.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/errors.h"
#include "search/early_stopping.h"
#include "search/experiment.h"
#include "search/fidelity.h"
#include "search/search_loop.h"
#include "space/nb201_space.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"
#include "trainer/nb201_table.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

json nb201_config(const json& controller) {
  return nb201_table_search("adaptive", 23, controller, 20);
}

json hyperband_config(double cost) {
  auto j = nb201_config({{"type", "evolution"}, {"population", 6}, {"sample", 3}});
  j["budget"] = {{"cost", cost}};
  j["fidelity"] = {
      {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 9}};
  return j;
}

json pbt_config(int trials) {
  auto j = nb201_config({{"type", "random"}});
  j["budget"] = {{"trials", trials}};
  j["adaptive"] = json::parse(R"({"strategy": "pbt", "warmup_trials": 4, "perturb": [0.8, 1.25],
      "hparams": {"learning_rate": {"min": 0.02, "max": 0.4, "log": true},
                  "weight_decay": {"min": 1e-5, "max": 1e-3, "log": true},
                  "batch_size": [64, 128, 256]}})");
  return j;
}

// Runs (or resumes) the experiment in `db`; returns the trials afterwards.
std::vector<store::TrialRow> run_in(const std::string& db, const json& config, bool create,
                                    double* cost = nullptr) {
  const auto experiment = search::Experiment::from_json(config, "test");
  auto store = create ? store::SqliteStore::create(db) : store::SqliteStore::open(db);
  if (create) store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  search::SearchLoop loop(store, store.experiment().id, experiment, prepared, db + ".artifacts");
  loop.run();
  if (cost) *cost = loop.cost_spent();
  return store.trials(store.experiment().id);
}

std::vector<std::string> summary(const std::vector<store::TrialRow>& trials) {
  std::vector<std::string> out;
  for (const auto& t : trials) out.push_back(t.arch_canonical + " " + t.hparams.dump());
  return out;
}

// Reports a learning curve rising to the table's cifar10_valid over 10 epochs, through on_epoch,
// and stops when told to: a training evaluator without the training.
class CurveEvaluator final : public trainer::Evaluator {
 public:
  explicit CurveEvaluator(std::shared_ptr<const trainer::Nb201Table> table)
      : table_(std::move(table)) {}
  std::string type() const override { return "curve"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override {
    const double final = table_->value(arch.canonical(), "cifar10_valid") / 100.0;
    TrialResult result;
    result.state = TrialState::kCompleted;
    for (int e = 1; e <= 10; ++e) {
      EpochRecord record;
      record.epoch = e;
      record.val_accuracy = final * (0.5 + 0.05 * e);
      result.val_accuracy = record.val_accuracy;
      result.epochs = e;
      if (!context.on_epoch(record)) {
        result.state = TrialState::kPruned;
        break;
      }
    }
    return result;
  }

 private:
  std::shared_ptr<const trainer::Nb201Table> table_;
};

}  // namespace

TEST_CASE("the median stopping rule prunes a clearly bad curve and keeps a good one", "[search]") {
  const std::vector<std::vector<double>> completed = {
      {0.50, 0.60, 0.70}, {0.55, 0.65, 0.72}, {0.60, 0.70, 0.75}};
  search::EarlyStoppingOptions options;
  options.min_epochs = 1;
  options.min_trials = 3;
  CHECK(search::median_should_stop({0.20}, completed, options));
  CHECK(search::median_should_stop({0.20, 0.30}, completed, options));
  CHECK_FALSE(search::median_should_stop({0.70}, completed, options));
  CHECK_FALSE(search::median_should_stop({0.50, 0.66}, completed, options));  // best beats 0.6
  options.min_epochs = 2;                                                     // grace period
  CHECK_FALSE(search::median_should_stop({0.20}, completed, options));
  options.min_trials = 4;  // too few completed trials to judge
  CHECK_FALSE(search::median_should_stop({0.20, 0.30}, completed, options));
  options.min_trials = 3;
  // Epoch 4: no completed curve reaches it, so nothing to compare with.
  CHECK_FALSE(search::median_should_stop({0.1, 0.1, 0.1, 0.1}, completed, options));
}

TEST_CASE("the search loop prunes trials below the median and records the epoch reached",
          "[search]") {
  TempDir dir("median-loop");
  auto config = nb201_config({{"type", "random"}});
  config["early_stopping"] = {{"type", "median"}, {"min_epochs", 2}, {"min_trials", 3}};
  const auto experiment = search::Experiment::from_json(config, "test");
  auto store = store::SqliteStore::create(dir.file("m.db"));
  store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  prepared.evaluator = std::make_unique<CurveEvaluator>(
      std::make_shared<const trainer::Nb201Table>(nb201_table_path()));
  search::SearchLoop loop(store, store.experiment().id, experiment, prepared,
                          dir.file("m.db.artifacts"));
  loop.run();
  int pruned = 0, completed = 0;
  for (const auto& t : store.trials(store.experiment().id)) {
    if (t.state == TrialState::kPruned) {
      ++pruned;
      CHECK(t.result.epochs >= 2);
      CHECK(t.result.epochs < 10);
      CHECK(store.epochs(t.id).size() == static_cast<size_t>(t.result.epochs));
    } else {
      REQUIRE(t.state == TrialState::kCompleted);
      CHECK(t.result.epochs == 10);
      ++completed;
    }
  }
  CHECK(pruned + completed == 20);
  CHECK(pruned > 0);
  CHECK(completed >= 3);
}

TEST_CASE("successive halving promotes exactly the top 1/eta of a rung", "[search]") {
  CHECK(search::SuccessiveHalving::promoted({0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6, 0.4}, 3) ==
        std::vector<size_t>{1, 5, 3});
  CHECK(search::SuccessiveHalving::promoted({0.5, 0.5}, 3) == std::vector<size_t>{0});

  search::FidelityOptions options;
  options.rungs = {12, 200};
  options.eta = 3;
  options.bracket_size = 9;
  search::SuccessiveHalving halving(options);
  const std::vector<double> scores = {0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6, 0.4};
  for (int i = 0; i < 9; ++i) {
    const auto step = halving.next();
    REQUIRE_FALSE(step.promotion);
    CHECK(step.epochs == 12);
    CHECK(step.bracket == 0);
    halving.record(step, i, scores[static_cast<size_t>(i)], true);
  }
  std::vector<std::int64_t> promoted;
  for (int i = 0; i < 3; ++i) {
    const auto step = halving.next();
    REQUIRE(step.promotion);
    CHECK(step.epochs == 200);
    CHECK(step.rank == i + 1);
    CHECK(step.of == 9);
    promoted.push_back(step.parent);
    halving.record(step, 9 + i, 0.9, true);
  }
  CHECK(promoted == std::vector<std::int64_t>{1, 5, 3});
  const auto next = halving.next();
  CHECK(next.bracket == 1);
  CHECK_FALSE(next.promotion);
  CHECK(next.epochs == 12);
}

TEST_CASE("hyperband cycles from the most aggressive bracket to full evaluations", "[search]") {
  search::FidelityOptions options;
  options.type = "hyperband";
  options.rungs = {12, 200};
  options.eta = 3;
  options.bracket_size = 9;
  search::SuccessiveHalving halving(options);
  int ordinal = 0;
  auto drain_bracket = [&](int bracket) {
    std::vector<search::SuccessiveHalving::Step> steps;
    while (true) {
      const auto step = halving.next();
      if (step.bracket != bracket) return steps;
      halving.record(step, ordinal++, 0.5, true);
      steps.push_back(step);
    }
  };
  const auto first = drain_bracket(0);
  CHECK(first.size() == 9 + 3);
  const auto second = drain_bracket(1);  // n = ceil(9 / 3 * 2 / 1) = 6 full evaluations
  REQUIRE(second.size() == 6);
  for (const auto& s : second) {
    CHECK(s.epochs == 200);
    CHECK_FALSE(s.promotion);
  }
}

TEST_CASE("a bracket knows the epochs it still needs", "[search]") {
  search::FidelityOptions options;
  options.rungs = {1, 3, 9};
  options.eta = 3;
  options.bracket_size = 9;
  for (const bool continued : {true, false}) {
    options.continue_training = continued;
    search::SuccessiveHalving halving(options);
    // 9 x 1 + 3 x 3 + 1 x 9 epochs from scratch; continued promotions add 2 and 6 epochs each.
    CHECK(halving.epochs_to_finish(halving.next()) == (continued ? 9 + 3 * 2 + 6 : 27));
    for (int i = 0; i < 9; ++i) halving.record(halving.next(), i, 0.1 * i, true);
    const auto promotion = halving.next();
    REQUIRE(promotion.promotion);
    CHECK(halving.epochs_to_finish(promotion) == (continued ? 3 * 2 + 6 : 18));
  }
  // Hyperband's second bracket starts at 3 epochs: ceil(9 / 9 x 3 / 2 x 3) = 5 of them, then 1
  // at 9.
  options.type = "hyperband";
  options.continue_training = true;
  search::SuccessiveHalving hyperband(options);
  int ordinal = 0;
  auto step = hyperband.next();
  while (step.bracket == 0) {
    hyperband.record(step, ordinal++, 0.5, true);
    step = hyperband.next();
  }
  CHECK(step.epochs == 3);
  CHECK(hyperband.epochs_to_finish(step) == 5 * 3 + 6);
}

TEST_CASE("a multi-fidelity NB201 search keeps to its cost and picks a full-fidelity best",
          "[search]") {
  TempDir dir("hyperband-loop");
  double cost = 0;
  const auto trials = run_in(dir.file("a.db"), hyperband_config(5.0), true, &cost);
  double booked = 0;
  std::set<int> fidelities;
  for (const auto& t : trials) {
    REQUIRE(t.state == TrialState::kCompleted);
    CHECK(t.hparams.at("epochs").get<int>() == t.result.epochs);
    fidelities.insert(t.result.epochs);
    booked += t.result.epochs / 200.0;
  }
  CHECK(fidelities == std::set<int>{12, 200});
  CHECK(booked <= 5.0 + 1e-9);
  CHECK(cost == Approx(booked));
  CHECK(booked > 5.0 - 1.0);  // stops only when the next step would not fit
  // A 12-epoch trial's value is the table's 12-epoch column.
  const trainer::Nb201Table table(nb201_table_path());
  for (const auto& t : trials) {
    const auto column = t.result.epochs == 12 ? "cifar10_valid_12ep" : "cifar10_valid";
    CHECK(t.result.val_accuracy * 100 == Approx(table.value(t.arch_canonical, column)));
  }
  // The first bracket: 9 candidates at 12 epochs, then the best 3 of them at 200.
  REQUIRE(trials.size() >= 12);
  std::vector<std::pair<double, std::string>> rung0;
  for (int i = 0; i < 9; ++i) {
    rung0.push_back({-trials[static_cast<size_t>(i)].result.val_accuracy,
                     trials[static_cast<size_t>(i)].arch_canonical});
  }
  std::stable_sort(rung0.begin(), rung0.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (int i = 0; i < 3; ++i) {
    CHECK(trials[static_cast<size_t>(9 + i)].result.epochs == 200);
    CHECK(trials[static_cast<size_t>(9 + i)].arch_canonical ==
          rung0[static_cast<size_t>(i)].second);
  }

  auto store = store::SqliteStore::open(dir.file("a.db"));
  const auto best = store.best_trial(store.experiment().id);
  REQUIRE(best);
  CHECK(best->result.epochs == 200);
  int promotions = 0;
  for (const auto& c : store.hparam_changes(store.experiment().id)) {
    if (c.reason.rfind("promote: rank", 0) == 0) ++promotions;
  }
  CHECK(promotions > 0);
  CHECK(promotions == std::count_if(trials.begin(), trials.end(),
                                    [](const auto& t) { return t.result.epochs == 200; }));

  // Stopped at a smaller cost and resumed, it runs exactly the same trials.
  run_in(dir.file("b.db"), hyperband_config(2.0), true);
  const auto resumed = run_in(dir.file("b.db"), hyperband_config(5.0), false);
  CHECK(summary(resumed) == summary(trials));
}

TEST_CASE("PBT records every hyperparameter with its reason, and resume reproduces them",
          "[search]") {
  TempDir dir("pbt-loop");
  const auto trials = run_in(dir.file("a.db"), pbt_config(20), true);
  REQUIRE(trials.size() == 20);
  for (const auto& t : trials) {
    const double lr = t.hparams.at("learning_rate").get<double>();
    CHECK(lr >= 0.02);
    CHECK(lr <= 0.4);
    CHECK(t.hparams.at("batch_size").is_number_integer());
    CHECK(std::set<int>{64, 128, 256}.count(t.hparams.at("batch_size").get<int>()) == 1);
  }
  auto store = store::SqliteStore::open(dir.file("a.db"));
  const auto changes = store.hparam_changes(store.experiment().id);
  CHECK(changes.size() == 20 * 3);
  int warmup = 0, explore = 0;
  for (const auto& c : changes) {
    if (c.reason.rfind("sample: warmup", 0) == 0) ++warmup;
    if (c.reason.rfind("explore: ", 0) == 0) {
      ++explore;
      CHECK(c.reason.find(" of trial ") != std::string::npos);
    }
  }
  CHECK(warmup == 4 * 3);
  CHECK(explore == 16 * 3);
  // Each change is the value the trial ran with.
  for (const auto& c : changes) {
    const auto t = store.trial(c.trial_id);
    REQUIRE(t);
    CHECK(t->hparams.at(c.name).get<double>() == Approx(c.value));
  }

  run_in(dir.file("b.db"), pbt_config(7), true);
  const auto resumed = run_in(dir.file("b.db"), pbt_config(20), false);
  CHECK(summary(resumed) == summary(trials));
}

TEST_CASE("the experiment file's adaptive keys are validated", "[search]") {
  auto reject = [](const json& j, const std::string& fragment) {
    try {
      search::Experiment::from_json(j, "exp.json");
      FAIL("accepted " + j.dump());
    } catch (const ConfigError& e) {
      INFO(e.what());
      CHECK(std::string(e.what()).find(fragment) != std::string::npos);
    }
  };
  auto j = pbt_config(10);
  j["adaptive"]["hparams"]["dropout"] = {{"min", 0.1}, {"max", 0.5}};
  reject(j, "dropout");
  j = pbt_config(10);
  j["adaptive"]["mutation"] = 1;
  reject(j, "mutation");
  j = pbt_config(10);
  j["adaptive"]["strategy"] = "bohb";
  reject(j, "bohb");
  j = pbt_config(10);
  j["adaptive"]["hparams"]["learning_rate"] = {{"min", 0.0}, {"max", 0.4}, {"log", true}};
  reject(j, "exp.json.adaptive.hparams.learning_rate");
  j = hyperband_config(5);
  j["fidelity"]["min_rung"] = 1;
  reject(j, "min_rung");
  j = hyperband_config(5);
  j["fidelity"]["rungs"] = {12, 50, 200};
  reject(j, "exp.json.fidelity.rungs");
  j = hyperband_config(5);
  j["fidelity"]["rungs"] = {200, 12};
  reject(j, "strictly increasing");
  j = hyperband_config(5);
  j["fidelity"]["type"] = "asha";
  reject(j, "asha");
  j = hyperband_config(5);
  j["fidelity"]["continue"] = true;
  reject(j, "exp.json.fidelity.continue");
  j = hyperband_config(5);
  j["budget"] = {{"cost", -1}};
  reject(j, "exp.json.budget.cost");
  j["budget"] = json::object();
  reject(j, "exp.json.budget");
  j["budget"] = {{"trials", 5}, {"hours", 2}};
  reject(j, "hours");
  j = nb201_config({{"type", "random"}});
  j["early_stopping"] = {{"type", "median"}, {"patience", 3}};
  reject(j, "patience");
  j["early_stopping"] = {{"type", "hyperband"}};
  reject(j, "exp.json.early_stopping.type");

  // Valid settings round-trip through to_json (what a resumed search reads back).
  for (const auto& valid : {pbt_config(10), hyperband_config(7.5)}) {
    auto with_stopping = valid;
    with_stopping["early_stopping"] = {{"type", "median"}, {"min_epochs", 2}, {"min_trials", 5}};
    const auto e = search::Experiment::from_json(with_stopping, "exp.json");
    const auto again = search::Experiment::from_json(e.to_json(), "stored");
    CHECK(again.to_json() == e.to_json());
  }
  const auto e = search::Experiment::from_json(hyperband_config(7.5), "exp.json");
  CHECK(e.budget.cost == 7.5);
  CHECK(e.max_epochs() == 200);
}

TEST_CASE("the NB201 table evaluator reads the column of the requested epochs", "[search]") {
  auto table = std::make_shared<const trainer::Nb201Table>(nb201_table_path());
  trainer::Nb201TableEvaluator evaluator(table, "cifar10_valid");
  space::Nb201Space space;
  Rng rng(3);
  const auto arch = space.random(rng);
  trainer::TrialContext context;
  context.hparams = {{"epochs", 12}};
  auto result = evaluator.evaluate(arch, context);
  CHECK(result.epochs == 12);
  CHECK(result.val_accuracy * 100 == Approx(table->value(arch.canonical(), "cifar10_valid_12ep")));
  context.hparams = {{"epochs", 200}, {"learning_rate", 0.1}};
  result = evaluator.evaluate(arch, context);
  CHECK(result.epochs == 200);
  CHECK(result.val_accuracy * 100 == Approx(table->value(arch.canonical(), "cifar10_valid")));
  context.hparams = {{"epochs", 50}};
  CHECK_THROWS_AS(evaluator.evaluate(arch, context), ConfigError);
}

TEST_CASE("promoted trials continue from their parent's weights", "[search]") {
  TempDir dir("continue");
  auto config = tiny_fashion_experiment(4, 3);
  config["fidelity"] = {{"type", "successive_halving"},
                        {"rungs", {1, 3}},
                        {"eta", 3},
                        {"bracket_size", 3},
                        {"continue", true}};
  double cost = 0;
  const auto trials = run_in(dir.file("c.db"), config, true, &cost);
  REQUIRE(trials.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(trials[i].hparams == json({{"epochs", 1}}));
  }
  const auto& promoted = trials[3];
  REQUIRE(promoted.state == TrialState::kCompleted);
  CHECK(promoted.kind == TrialKind::kPromotion);
  REQUIRE(promoted.parent);
  const auto parent = *promoted.parent;
  CHECK(promoted.hparams.at("start_epoch") == 1);
  CHECK(promoted.arch_canonical == trials[static_cast<size_t>(parent)].arch_canonical);
  // It trained epochs 2 and 3 only, and paid for them alone: 3 x 1/3 + 2/3 full trainings.
  auto store = store::SqliteStore::open(dir.file("c.db"));
  const auto epochs = store.epochs(promoted.id);
  REQUIRE(epochs.size() == 2);
  CHECK(epochs[0].epoch == 2);
  CHECK(epochs[1].epoch == 3);
  CHECK(cost == Approx(5.0 / 3.0));
  // Each trial anneals over the epochs it trains: the 1-epoch trials end near zero, and the
  // continued one restarts, half-way down its own 2-epoch schedule after epoch 2.
  CHECK(store.epochs(trials[0].id)[0].learning_rate < 0.05 * 0.05);
  CHECK(epochs[0].learning_rate == Approx(0.5 * 0.05).margin(0.05 * 0.05));
  CHECK(epochs[1].learning_rate < 0.05 * 0.05);
  CHECK(store.best_trial(store.experiment().id)->id == promoted.id);
  const auto changes = store.hparam_changes(store.experiment().id);
  CHECK(std::any_of(changes.begin(), changes.end(), [&](const auto& c) {
    return c.trial_id == promoted.id &&
           c.reason.find("continuing from its weights") != std::string::npos;
  }));

  // Stopped before the promotion and resumed: the same trials, the promotion continued the same.
  config["budget"]["trials"] = 3;
  run_in(dir.file("r.db"), config, true);
  config["budget"]["trials"] = 4;
  const auto resumed = run_in(dir.file("r.db"), config, false);
  CHECK(summary(resumed) == summary(trials));

  // The promotion loads its parent's saved weights: without them it fails, with the reason, and
  // the search goes on.
  config["budget"]["trials"] = 3;
  run_in(dir.file("m.db"), config, true);
  std::filesystem::remove_all(dir.file("m.db.artifacts"));
  config["budget"]["trials"] = 4;
  const auto orphaned = run_in(dir.file("m.db"), config, false);
  REQUIRE(orphaned.size() == 4);
  CHECK(orphaned[3].state == TrialState::kFailed);
  CHECK_THAT(orphaned[3].result.error, Catch::Contains("cannot continue training") &&
                                           Catch::Contains("weights file not found"));
}
