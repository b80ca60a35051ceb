#pragma once
// The planner says what the next trial is, from what finished so far: a new candidate from the
// controller (with PBT's hyperparameters when "adaptive"), a promotion of an earlier trial to
// the next rung (successive halving, Hyperband), or, under "fidelity.extend_best", the best
// network trained further with the time left. It reads the history and the budget and keeps no
// state of its own but the fidelity schedule, which the loop rebuilds on resume by replaying
// the stored trials in order; its random draws come from per-trial streams of the experiment's
// seed. So a resumed search plans exactly what an uninterrupted one would. No database needed.
#include <cstdint>
#include <optional>

#include "controllers/controller.h"
#include "search/budget.h"
#include "search/experiment.h"
#include "search/search_history.h"
#include "search/trial_plan.h"
#include "space/search_space.h"

namespace nasforge::search {

class Planner {
 public:
  Planner(const Experiment& experiment, const space::SearchSpace& space,
          controllers::Controller& controller);

  // The trial at `ordinal`, or nothing when the budget cannot pay for it or the search is over.
  std::optional<TrialPlan> next(std::int64_t ordinal, const SearchHistory& history,
                                const Budget& budget);
  // Resume: the schedule's step of a stored trial, in order (nothing for an extension or
  // without a schedule); throws StoreError if the trial does not follow the schedule.
  std::optional<SuccessiveHalving::Step> replay(const TrialSummary& trial, std::int64_t ordinal);
  // A finished trial's result, booked in the schedule (`step` as planned or replayed).
  void record(const TrialSummary& trial, std::int64_t ordinal,
              const std::optional<SuccessiveHalving::Step>& step);
  // Whether the controller learns from a trial at `step`: only new candidates at a bracket's
  // first rung, so that it sees one fidelity.
  static bool observes(const std::optional<SuccessiveHalving::Step>& step);

 private:
  TrialPlan promotion(const SuccessiveHalving::Step& step, const SearchHistory& history) const;
  TrialPlan new_candidate(std::int64_t ordinal, const std::optional<SuccessiveHalving::Step>& step,
                          const SearchHistory& history);

  const Experiment& experiment_;
  const space::SearchSpace& space_;
  controllers::Controller& controller_;
  std::optional<SuccessiveHalving> halving_;
  bool extended_ = false;  // an extension ran: the search is over
};

}  // namespace nasforge::search
