#include "search/search_loop.h"

#include "common/errors.h"
#include "common/log.h"
#include "trainer/device.h"

namespace nasforge::search {

namespace {

std::unique_ptr<controllers::Controller> restored_controller(const store::SqliteStore& store,
                                                             std::int64_t experiment_id,
                                                             const Experiment& experiment,
                                                             const space::SearchSpace& space) {
  auto controller = controllers::make_controller(experiment.controller, space, experiment.seed);
  if (const auto saved = store.controller_state(experiment_id)) {
    try {
      controller->load_state(nlohmann::json::from_cbor(saved->cbor));
    } catch (const nlohmann::json::exception& e) {
      throw StoreError(store.path() + ": controller state is corrupt (" + e.what() + ")");
    }
  }
  return controller;
}

}  // namespace

SearchLoop::SearchLoop(store::SqliteStore& store, std::int64_t experiment_id,
                       const Experiment& experiment, PreparedExperiment& prepared,
                       std::string artifacts_dir)
    : store_(store),
      experiment_id_(experiment_id),
      experiment_(experiment),
      prepared_(prepared),
      controller_(restored_controller(store, experiment_id, experiment, *prepared.space)),
      budget_(experiment.budget, experiment.max_epochs()),
      pruners_(make_pruners(experiment, history_, budget_)),
      planner_(experiment, *prepared.space, *controller_),
      recorder_(store, experiment_id, experiment, *prepared.space, *controller_, history_, pruners_,
                std::move(artifacts_dir), mutex_),
      executor_(*prepared.evaluator, experiment.parallel) {
  // A slot on a GPU this machine lacks would fail every trial it is given, spending the budget.
  trainer::check_devices(experiment.parallel.devices);
}

void SearchLoop::show_progress(ProgressLine* progress) {
  progress_ = progress;
  recorder_.set_progress(progress);
}

void SearchLoop::report_standing() {
  if (!progress_) return;
  SearchStanding standing;
  standing.finished = budget_.finished_trials();
  const auto& limits = budget_.limits();
  standing.trial_limit = limits.trials < kNoTrialLimit ? limits.trials : 0;
  standing.cost_spent = budget_.spent_cost();
  standing.cost_limit = limits.cost;
  standing.seconds_spent = budget_.spent_seconds();
  standing.seconds_limit = limits.seconds;
  // The accuracy of the best-scored trial: under an objective, that of the highest reward.
  const TrialSummary* best = nullptr;
  for (const auto& t : history_.trials()) {
    if (t.state != TrialState::kCompleted) continue;
    if (!best || t.score > best->score) best = &t;
  }
  if (best) standing.best_val_accuracy = best->val_accuracy;
  progress_->set_standing(standing);
}

void SearchLoop::run() {
  replay();
  {
    std::lock_guard lock(mutex_);
    report_standing();
  }
  auto ordinal = history_.size();
  bool planning = true;
  while (true) {
    while (planning && executor_.has_free_slot()) {
      std::unique_lock lock(mutex_);
      std::optional<TrialPlan> plan;
      if (budget_.admits_trial(executor_.in_flight()))
        plan = planner_.next(ordinal, history_, budget_);
      if (!plan) {
        planning = false;  // the budget is spent, or the search is over
        break;
      }
      auto trial = start(ordinal++, std::move(*plan));
      lock.unlock();
      executor_.submit(std::move(trial));
    }
    if (executor_.in_flight() == 0) break;
    settle(*executor_.next_finished());
  }
  store_.set_experiment_status(experiment_id_, "completed");
}

std::unique_ptr<RunningTrial> SearchLoop::start(std::int64_t ordinal, TrialPlan plan) {
  auto trial = recorder_.create(ordinal, std::move(plan));
  recorder_.start(*trial);
  trial->reserved_cost =
      budget_.cost_of_epochs(std::max(0, trial->plan.epochs - trial->plan.start_epoch));
  budget_.reserve(trial->reserved_cost);
  return trial;
}

void SearchLoop::settle(RunningTrial& trial) {
  std::lock_guard lock(mutex_);
  recorder_.finish(trial);
  const auto& summary = history_.at(trial.ordinal);
  planner_.record(summary, trial.ordinal, trial.plan.step);
  const int trained = trained_epochs(summary.hparams, summary.state, summary.epochs);
  budget_.settle(trial.reserved_cost, budget_.cost_of_epochs(trained), summary.wall_seconds);
  report_standing();
}

void SearchLoop::replay() {
  const auto rows = store_.trials(experiment_id_);
  std::int64_t finished = 0;
  for (const auto& row : rows) {
    history_.add({row.id, row.arch, row.hparams, row.kind, row.parent, row.state,
                  row.result.val_accuracy, row.result.epochs, row.result.wall_seconds,
                  trial_score(experiment_.objective, row.result)});
    if (is_finished(row.state)) ++finished;
  }
  recorder_.set_finished_count(finished);
  // In order: the schedule's state is a function of the finished trials. Trials left pending or
  // running by a crash: the controller state saved with them is the one right after proposing
  // them, so evaluating them now continues exactly.
  for (std::int64_t ordinal = 0; ordinal < history_.size(); ++ordinal) {
    const auto& stored = history_.at(ordinal);
    std::optional<SuccessiveHalving::Step> step;
    try {
      step = planner_.replay(stored, ordinal);
    } catch (const StoreError& e) {
      throw StoreError(store_.path() + ": " + e.what());
    }
    if (!is_finished(stored.state)) {
      TrialPlan plan(prepared_.space->from_json(stored.arch), stored.hparams);
      plan.kind = stored.kind;
      plan.parent = stored.parent;
      plan.observe = Planner::observes(step) && stored.kind != TrialKind::kExtension;
      plan.step = step;
      if (stored.hparams.is_object()) {
        plan.epochs = stored.hparams.value("epochs", experiment_.default_epochs());
        plan.start_epoch = stored.hparams.value("start_epoch", 0);
      } else {
        plan.epochs = experiment_.default_epochs();
      }
      auto trial = recorder_.reopen(stored, ordinal, std::move(plan));
      {
        std::lock_guard lock(mutex_);
        recorder_.start(*trial);
      }
      executor_.submit(std::move(trial));
      settle(*executor_.next_finished());
      continue;
    }
    if (experiment_.early_stopping && stored.state == TrialState::kCompleted) {
      history_.add_completed_curve(recorder_.full_curve(ordinal));
    }
    planner_.record(stored, ordinal, step);
    budget_.settle(
        0, budget_.cost_of_epochs(trained_epochs(stored.hparams, stored.state, stored.epochs)),
        stored.wall_seconds);
  }
}

}  // namespace nasforge::search
