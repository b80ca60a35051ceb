#pragma once
// The life of a trial in the store, the log and the controller: recorded with the controller
// state right after proposing it, started, its epochs appended as they come (where the pruners
// are asked whether it goes on), and finished with its outcome and the controller state that
// learnt from it, in one transaction.
//
// Epoch callbacks run on the evaluating thread; every method that touches the store or the
// history takes `mutex` (the loop's), except where noted.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controllers/controller.h"
#include "search/experiment.h"
#include "search/progress_line.h"
#include "search/pruners.h"
#include "search/running_trial.h"
#include "search/search_history.h"
#include "space/search_space.h"
#include "store/sqlite_store.h"

namespace nasforge::search {

class TrialRecorder {
 public:
  TrialRecorder(store::SqliteStore& store, std::int64_t experiment_id, const Experiment& experiment,
                const space::SearchSpace& space, controllers::Controller& controller,
                SearchHistory& history, const std::vector<std::unique_ptr<Pruner>>& pruners,
                std::string artifacts_dir, std::mutex& mutex);

  // Trials whose outcome the controller state has seen (the state's step); set on resume.
  void set_finished_count(std::int64_t count) { finished_ = count; }
  // Where started trials report their training steps (null: nowhere); it must outlive them.
  void set_progress(ProgressLine* progress) { progress_ = progress; }

  // Records a planned trial (pending) and adds it to the history; the caller holds the mutex.
  std::unique_ptr<RunningTrial> create(std::int64_t ordinal, TrialPlan plan);
  // A stored trial left pending or running by a crash, made pending again to run once more.
  std::unique_ptr<RunningTrial> reopen(const TrialSummary& stored, std::int64_t ordinal,
                                       TrialPlan plan);
  // Marks it running and makes its evaluation context, whose epoch callback records each epoch
  // and stops the trial when a pruner says so; the caller holds the mutex.
  void start(RunningTrial& trial);
  // Records the outcome, tells the controller and updates the history; the caller holds the
  // mutex.
  void finish(RunningTrial& trial);

  // A trial's validation curve from epoch 1: a continued trial's begins with its ancestors'.
  std::vector<double> full_curve(std::int64_t ordinal) const;

 private:
  bool on_epoch(RunningTrial& trial, const std::string& prefix, const EpochRecord& epoch);
  store::ControllerSnapshot snapshot() const;
  std::string weights_path(std::int64_t ordinal) const;

  store::SqliteStore& store_;
  std::int64_t experiment_id_;
  const Experiment& experiment_;
  const space::SearchSpace& space_;
  controllers::Controller& controller_;
  SearchHistory& history_;
  const std::vector<std::unique_ptr<Pruner>>& pruners_;
  std::string artifacts_dir_;
  std::mutex& mutex_;
  std::int64_t finished_ = 0;
  ProgressLine* progress_ = nullptr;
};

// "trial 12 [0123abcd...]": how the log names a trial.
std::string trial_prefix(std::int64_t ordinal, const space::Architecture& arch);

}  // namespace nasforge::search
