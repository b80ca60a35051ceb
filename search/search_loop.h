#pragma once
// The search loop: while the budget allows, the planner says what the next trial is, the
// recorder records it, the executor evaluates it (one or several side by side), and the
// recorder records its outcome and tells the controller, with the controller's state written in
// the same transactions. On resume the stored trials are replayed in order into the planner's
// schedule and the budget, and trials left unfinished by a crash run again, so a resumed search
// continues exactly.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controllers/controller.h"
#include "search/budget.h"
#include "search/experiment.h"
#include "search/planner.h"
#include "search/prepared_experiment.h"
#include "search/progress_line.h"
#include "search/pruners.h"
#include "search/search_history.h"
#include "search/trial_executor.h"
#include "search/trial_recorder.h"
#include "store/sqlite_store.h"

namespace nasforge::search {

class SearchLoop {
 public:
  SearchLoop(store::SqliteStore& store, std::int64_t experiment_id, const Experiment& experiment,
             PreparedExperiment& prepared, std::string artifacts_dir);

  // Runs until the budget (trials, cost or seconds) is reached.
  void run();

  // Full-training equivalents spent by finished trials: the sum of epochs trained / max epochs.
  double cost_spent() const { return budget_.spent_cost(); }

  // Trials report their steps and the loop its standing to `progress` (null: nowhere); set before
  // run(), and it must outlive the loop.
  void show_progress(ProgressLine* progress);

 private:
  // Rebuilds the history, the schedule and the budget from the stored trials, running again
  // those a crash left unfinished.
  void replay();
  // Records `plan` as trial `ordinal`, starts it and reserves its cost; the caller holds mutex_.
  std::unique_ptr<RunningTrial> start(std::int64_t ordinal, TrialPlan plan);
  // Books a trial whose evaluation ended: outcome, schedule, budget.
  void settle(RunningTrial& trial);
  // Tells the progress line the budget spent and the best so far; the caller holds mutex_.
  void report_standing();

  store::SqliteStore& store_;
  std::int64_t experiment_id_;
  const Experiment& experiment_;
  PreparedExperiment& prepared_;
  std::unique_ptr<controllers::Controller> controller_;
  SearchHistory history_;
  Budget budget_;
  std::vector<std::unique_ptr<Pruner>> pruners_;
  Planner planner_;
  // Guards the store, the history and the budget while trials run side by side.
  std::mutex mutex_;
  TrialRecorder recorder_;
  TrialExecutor executor_;
  ProgressLine* progress_ = nullptr;
};

}  // namespace nasforge::search
