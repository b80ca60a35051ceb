// The planner, the pruners and the budget on their own: no database, no evaluator.
#include "tests/nasforge_catch.h"

#include "controllers/controller.h"
#include "search/budget.h"
#include "search/experiment.h"
#include "search/planner.h"
#include "search/pruners.h"
#include "search/search_history.h"
#include "space/search_space.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using nlohmann::json;

namespace {

json halving_config() {
  return {
      {"name", "plan"},
      {"seed", 5},
      {"budget", {{"cost", 10}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "random"}}},
      {"evaluator", {{"type", "nb201-table"}, {"path", "unused.csv"}}},
      {"fidelity",
       {{"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 3}}}};
}

// Books a planned trial as finished with `accuracy`, as the loop would.
void finish(search::SearchHistory& history, search::Planner& planner, search::Budget& budget,
            const space::SearchSpace& space, const search::TrialPlan& plan, double accuracy) {
  const auto ordinal =
      history.add({0, space.to_json(plan.arch), plan.hparams, plan.kind, plan.parent});
  TrialResult result;
  result.state = TrialState::kCompleted;
  result.val_accuracy = accuracy;
  result.epochs = plan.epochs;
  result.wall_seconds = 1;
  history.finish(ordinal, result);
  planner.record(history.at(ordinal), ordinal, plan.step);
  budget.settle(0, budget.cost_of_epochs(plan.epochs - plan.start_epoch), 1);
}

}  // namespace

TEST_CASE("the budget admits, reserves and settles trials, cost and seconds", "[search]") {
  search::BudgetLimits limits;
  limits.trials = 3;
  limits.cost = 1.0;
  limits.seconds = 10;
  search::Budget budget(limits, 200);
  CHECK(budget.cost_of_epochs(12) == Approx(0.06));
  CHECK(budget.admits_trial(2));
  CHECK_FALSE(budget.admits_trial(3));
  budget.reserve(0.5);
  CHECK(budget.admits_cost(0.5));
  CHECK_FALSE(budget.admits_cost(0.6));  // the reservation counts
  budget.settle(0.5, 0.3, 4);
  CHECK(budget.spent_cost() == Approx(0.3));
  CHECK(budget.cost_left() == Approx(0.7));
  CHECK(budget.finished_trials() == 1);
  CHECK_FALSE(budget.admits_trial(2));  // one finished plus two in flight reach three
  CHECK(budget.has_time_left());
  CHECK_FALSE(budget.time_spent_with(5.9));
  CHECK(budget.time_spent_with(6));
  budget.settle(0, 0, 6);
  CHECK_FALSE(budget.has_time_left());
}

TEST_CASE("pruners give their reason to stop or nothing", "[search]") {
  search::SearchHistory history;
  history.add_completed_curve({0.5, 0.6, 0.7});
  history.add_completed_curve({0.55, 0.65, 0.72});
  history.add_completed_curve({0.6, 0.7, 0.75});
  search::EarlyStoppingOptions options;
  options.min_trials = 3;
  const search::MedianPruner median(options, history);
  CHECK(median.reason_to_stop({{0.2, 0.3}, 1}) == "below the median of completed trials");
  CHECK(median.reason_to_stop({{0.7}, 1}).empty());

  search::BudgetLimits limits;
  limits.seconds = 10;
  search::Budget budget(limits, 1);
  const search::TimeBudgetPruner time(budget);
  CHECK(time.reason_to_stop({{0.1}, 9.5}).empty());
  CHECK(time.reason_to_stop({{0.1}, 10}) == "time budget spent");
}

TEST_CASE("the planner promotes the best of a rung and stops at the cost budget", "[search]") {
  auto config = halving_config();
  config["budget"] = {{"cost", 1.2}};
  const auto experiment = search::Experiment::from_json(config, "test");
  const auto space = space::make_search_space(experiment.space);
  auto controller = controllers::make_controller(experiment.controller, *space, experiment.seed);
  search::Planner planner(experiment, *space, *controller);
  search::SearchHistory history;
  search::Budget budget(experiment.budget, experiment.max_epochs());

  const std::vector<double> accuracies = {0.70, 0.90, 0.80};
  for (size_t i = 0; i < accuracies.size(); ++i) {
    const auto plan = planner.next(history.size(), history, budget);
    REQUIRE(plan);
    CHECK(plan->kind == TrialKind::kNew);
    CHECK(plan->observe);
    CHECK(plan->epochs == 12);
    CHECK(plan->hparams.at("epochs") == 12);
    finish(history, planner, budget, *space, *plan, accuracies[i]);
  }
  // Bracket of 3 at 12 epochs, eta 3: the best one (trial 1) goes on to 200 epochs.
  const auto promotion = planner.next(history.size(), history, budget);
  REQUIRE(promotion);
  CHECK(promotion->kind == TrialKind::kPromotion);
  REQUIRE(promotion->parent);
  CHECK(*promotion->parent == 1);
  CHECK(promotion->epochs == 200);
  CHECK_FALSE(promotion->observe);
  CHECK(promotion->arch.canonical() == space->from_json(history.at(1).arch).canonical());
  finish(history, planner, budget, *space, *promotion, 0.93);
  CHECK(budget.spent_cost() == Approx(1.18));
  // A new bracket's first trial (0.06) would exceed 1.2: nothing more is planned.
  CHECK_FALSE(planner.next(history.size(), history, budget));
}

TEST_CASE("the planner ends a timed search by extending the best network", "[search]") {
  // Continuing needs weights: a trained evaluator (nothing is trained here).
  auto config = testing::tiny_fashion_experiment(100);
  config["budget"] = {{"seconds", 5.0}};
  config["fidelity"] = halving_config()["fidelity"];
  config["fidelity"]["continue"] = true;
  config["fidelity"]["extend_best"] = true;
  const auto experiment = search::Experiment::from_json(config, "test");
  const auto space = space::make_search_space(experiment.space);
  auto controller = controllers::make_controller(experiment.controller, *space, experiment.seed);
  search::Planner planner(experiment, *space, *controller);
  search::SearchHistory history;
  search::Budget budget(experiment.budget, experiment.max_epochs());
  for (int i = 0; i < 3; ++i) {
    finish(history, planner, budget, *space, *planner.next(history.size(), history, budget),
           0.5 + i * 0.1);
  }
  const auto promotion = planner.next(history.size(), history, budget);
  REQUIRE(promotion);
  CHECK(promotion->start_epoch == 12);  // continues from its parent's weights
  CHECK(promotion->hparams.at("start_epoch") == 12);
  finish(history, planner, budget, *space, *promotion, 0.9);
  // 4 s spent over 36 + 188 epochs; the next bracket needs far more than the 1 s left, and
  // trial 3 is the best at the last rung: it trains on for what one second allows.
  const auto extension = planner.next(history.size(), history, budget);
  REQUIRE(extension);
  CHECK(extension->kind == TrialKind::kExtension);
  REQUIRE(extension->parent);
  CHECK(*extension->parent == 3);
  CHECK(extension->start_epoch == 200);
  CHECK(extension->epochs > 200);
  CHECK_FALSE(extension->observe);
  finish(history, planner, budget, *space, *extension, 0.91);
  CHECK_FALSE(planner.next(history.size(), history, budget));  // the extension ends the search
}
