#pragma once
// The search loop: ask the controller, record the trial, evaluate it, record the outcome and
// tell the controller, with the controller's state written in the same transactions. Resuming
// runs trials left unfinished by a crash again, and continues to the budget.
//
// Optional adaptive parts (experiment keys "adaptive", "early_stopping", "fidelity"): per-trial
// hyperparameters chosen by PBT's exploit/explore, the median stopping rule, and successive
// halving or Hyperband across trials. None of them keeps state of its own: the scheduler is
// replayed from the store's rows in order, and every random draw comes from an RNG seeded by the
// experiment's seed and the trial's ordinal, so a resumed search continues exactly.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "controllers/controller.h"
#include "search/experiment.h"
#include "space/search_space.h"
#include "store/sqlite_store.h"
#include "trainer/dataset.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

// What an experiment needs to run, made (and checked: data present, table readable) before any
// database is created.
struct SearchParts {
  std::unique_ptr<space::SearchSpace> space;
  std::unique_ptr<trainer::Evaluator> evaluator;
  // The data the evaluator trains on (null for table evaluators), kept so that its report can
  // be recorded without loading the data twice.
  std::shared_ptr<const trainer::DataSplits> data;
};

SearchParts prepare(const Experiment& experiment);

class SearchLoop {
 public:
  SearchLoop(store::SqliteStore& store, std::int64_t experiment_id, const Experiment& experiment,
             SearchParts& parts, std::string artifacts_dir);

  // Runs until the budget (finished trials, or full-training equivalents) is reached.
  void run();

  // Full-training equivalents spent by finished trials: the sum of epochs trained / max epochs.
  double cost_spent() const { return cost_; }

 private:
  // What the loop keeps of each trial, by ordinal.
  struct Known {
    std::int64_t id = 0;
    nlohmann::json arch;
    nlohmann::json hparams;
    std::string status;
    double val_accuracy = 0;
    int epochs = 0;
    double wall_seconds = 0;
  };
  // What a running trial has reported so far (written by its epoch callback).
  struct Progress {
    std::vector<double> curve;  // val accuracy per epoch
    double seconds = 0;         // epochs' wall-clock so far
    std::string stop_reason;    // why the loop stopped it early, if it did
  };
  struct Plan {
    space::Architecture arch;
    nlohmann::json hparams;
    std::vector<store::HparamChange> changes;  // recorded with the trial, in its transaction
    bool observe = true;                       // the controller learns from the result
    std::optional<SuccessiveHalving::Step> step;
  };

  store::ControllerSnapshot snapshot(std::int64_t step) const;
  // fidelity.extend_best: whether the rest of the current bracket, from `step` on, fits in the
  // time left (at the finished trials' mean seconds per epoch).
  bool fits_in_time(const SuccessiveHalving::Step& step) const;
  // The best completed trial at the last rung, by ordinal.
  std::optional<size_t> best_at_last_rung() const;
  // The search's last trial under extend_best: trial `best` trains on from its weights for the
  // epochs the time left allows (nothing if not even one fits), instead of `abandoned`.
  std::optional<Plan> extension(size_t best, const SuccessiveHalving::Step& abandoned) const;
  // A trial trained beyond the last rung: an extension, outside the fidelity schedule.
  bool is_extension(const nlohmann::json& hparams) const;
  // The next trial, or nothing when it would exceed the cost budget.
  std::optional<Plan> plan(std::int64_t ordinal);
  Known evaluate_and_record(std::int64_t trial_id, std::int64_t ordinal,
                            const space::Architecture& arch, const nlohmann::json& hparams,
                            bool observe);
  // The two halves of evaluate_and_record, for trials evaluated on worker threads: begin_trial
  // marks it running and makes its context (whose epoch callback fills `progress` and stops the
  // trial on the median rule or when the time budget runs out), finish_trial records the
  // outcome and tells the controller. Both run on the loop's thread.
  trainer::TrialContext begin_trial(std::int64_t trial_id, std::int64_t ordinal,
                                    const space::Architecture& arch, const nlohmann::json& hparams,
                                    Progress& progress);
  Known finish_trial(std::int64_t trial_id, std::int64_t ordinal, const space::Architecture& arch,
                     const nlohmann::json& hparams, bool observe,
                     const trainer::TrialResult& result, const Progress& progress,
                     const std::string& weights_path);
  std::string weights_path(std::int64_t ordinal) const;
  // A trial's validation curve from epoch 1: a continued trial's begins with its ancestors'.
  std::vector<double> full_curve(std::int64_t ordinal) const;
  // Why a running trial should stop after this epoch; empty: it goes on.
  std::string stop_reason(const Progress& progress) const;
  static std::string trial_prefix(std::int64_t ordinal, const space::Architecture& arch);
  // Keeps `workers` trials in flight on a oneTBB arena until the budget is reached.
  void run_parallel(std::int64_t& finished, std::int64_t& ordinal);
  // Books a finished trial: the scheduler, the cost, the curves the median rule compares with.
  void account(const Known& trial, std::int64_t ordinal,
               const std::optional<SuccessiveHalving::Step>& step);
  int default_epochs() const;
  bool observes(const std::optional<SuccessiveHalving::Step>& step) const;

  store::SqliteStore& store_;
  std::int64_t experiment_id_;
  const Experiment& experiment_;
  SearchParts& parts_;
  std::unique_ptr<controllers::Controller> controller_;
  std::string artifacts_dir_;
  std::int64_t observed_ = 0;
  std::vector<Known> known_;
  std::optional<SuccessiveHalving> halving_;
  std::vector<std::vector<double>> completed_curves_;  // val accuracy per epoch, when pruning
  double cost_ = 0;
  double seconds_ = 0;     // evaluation wall-clock spent by finished trials
  bool extended_ = false;  // an extension ran: the search is over
  // Guards the store and completed_curves_ while trials run side by side.
  std::mutex mutex_;
};

}  // namespace nasforge::search
