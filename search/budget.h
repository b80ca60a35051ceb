#pragma once
// The search's budget at run time: what it admits, what running trials have reserved, and what
// finished trials spent. Three limits, whichever is reached first: finished trials, cost (in
// full-training equivalents: a trial that trains e epochs costs e / max_epochs) and evaluation
// seconds (summed over trials). A running trial reserves its planned cost, so that trials side
// by side cannot overrun a cost budget together; it settles what it really spent when it ends.
#include "search/experiment.h"

namespace nasforge::search {

class Budget {
 public:
  Budget(const BudgetLimits& limits, int max_epochs);

  // Whether another trial may start while `in_flight` trials run (the trial limit).
  bool admits_trial(int in_flight) const;
  // Whether a trial costing `cost` fits beside what is spent and reserved.
  bool admits_cost(double cost) const;
  // Whether evaluation time is left (always, without a time budget).
  bool has_time_left() const;
  // Whether a running trial that has used `running_seconds` so far has spent the time budget
  // (finished trials' time plus its own; trials beside it count once they finish).
  bool time_spent_with(double running_seconds) const;

  // The cost of training `epochs` epochs.
  double cost_of_epochs(int epochs) const;
  void reserve(double cost);
  // A trial ends: its reservation is released and what it spent is booked.
  void settle(double reserved, double spent_cost, double seconds);

  const BudgetLimits& limits() const { return limits_; }
  int max_epochs() const { return max_epochs_; }
  int finished_trials() const { return finished_; }
  double spent_cost() const { return spent_cost_; }
  double spent_seconds() const { return spent_seconds_; }
  // Cost not yet spent nor reserved (meaningful with a cost limit).
  double cost_left() const { return limits_.cost - spent_cost_ - reserved_cost_; }
  // Seconds not yet spent (meaningful with a time limit).
  double seconds_left() const { return limits_.seconds - spent_seconds_; }

 private:
  BudgetLimits limits_;
  int max_epochs_ = 1;
  int finished_ = 0;
  double spent_cost_ = 0;
  double reserved_cost_ = 0;
  double spent_seconds_ = 0;
};

}  // namespace nasforge::search
