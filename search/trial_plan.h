#pragma once
// A trial the planner decided to run next, before it is recorded.
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"
#include "search/fidelity.h"
#include "space/architecture.h"
#include "store/records.h"

namespace nasforge::search {

struct TrialPlan {
  explicit TrialPlan(space::Architecture architecture,
                     nlohmann::json hyperparameters = nlohmann::json::object())
      : arch(std::move(architecture)), hparams(std::move(hyperparameters)) {}

  space::Architecture arch;
  // Its hyperparameters: "epochs" when a fidelity schedule sets them, "start_epoch" when it
  // continues from its parent's weights, PBT's choices.
  nlohmann::json hparams = nlohmann::json::object();
  TrialKind kind = TrialKind::kNew;
  std::optional<std::int64_t> parent;           // the ordinal it promotes or extends
  std::vector<store::HparamChange> changes;     // recorded with the trial, in its transaction
  bool observe = true;                          // the controller learns from its result
  std::optional<SuccessiveHalving::Step> step;  // its place in the fidelity schedule
  int epochs = 0;                               // the epoch it trains to
  int start_epoch = 0;  // the epoch it continues from (its parent paid for those before)
};

}  // namespace nasforge::search
