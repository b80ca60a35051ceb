#pragma once
// A trial from the moment it is recorded until its outcome is: what the loop, the recorder and
// the executor pass between them.
#include <cstdint>
#include <exception>
#include <string>

#include "common/trial_record.h"
#include "search/pruners.h"
#include "search/trial_plan.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

struct RunningTrial {
  RunningTrial(std::int64_t row_id, std::int64_t trial_ordinal, TrialPlan trial_plan)
      : id(row_id), ordinal(trial_ordinal), plan(std::move(trial_plan)) {}

  std::int64_t id = 0;  // the store's row id
  std::int64_t ordinal = 0;
  TrialPlan plan;
  trainer::TrialContext context;  // what the evaluator is given
  TrialProgress progress;         // written by the context's epoch callback
  std::string stop_reason;        // why a pruner stopped it, if one did
  double reserved_cost = 0;       // held in the budget while it runs
  TrialResult result;             // the evaluator's answer
  std::exception_ptr error;       // an evaluator that threw (not the trial's own failure)
};

}  // namespace nasforge::search
