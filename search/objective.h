#pragma once
// Accuracy against cost (MnasNet, Tan et al. 2019): the experiment's optional "objective" turns a
// trial's accuracy and cost (parameters, multiply-adds or measured CPU latency) into the reward
// that the controller observes and the search ranks by:
//   reward = accuracy * (cost / target)^w
// "penalty" (MnasNet's soft constraint): w = exponent (default -0.07) whatever the cost;
// "constraint" (hard): w = 0 while cost <= target, else w = exponent (default -1).
// The store keeps the raw val_accuracy in the trial row and the reward as the trial metric
// "reward"; the best trial is then the one of highest reward (see best_trial_query).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"
#include "store/records.h"

namespace nasforge::search {

struct Objective {
  enum class Mode { kPenalty, kConstraint };

  // Names of the trial metrics it writes and reads.
  static constexpr const char* kRewardMetric = "reward";
  static constexpr const char* kLatencyMetric = "latency_ms";

  std::string cost = "params";  // "params", "flops" or "latency_ms"
  double target = 0;            // in the cost's unit (a count, or milliseconds); > 0
  Mode mode = Mode::kPenalty;
  double exponent = -0.07;  // w above the target (and below it too in penalty mode); < 0

  // {"cost", "target", "mode", "exponent"}; throws ConfigError naming the field.
  static Objective from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;

  // The reward of `accuracy` at `cost` (cost > 0).
  double reward(double accuracy, double cost) const;
  // The result's cost (params, flops or its latency_ms metric), or nothing when not measured.
  std::optional<double> cost_of(const TrialResult& result) const;
};

// The cost names an objective (and the Pareto front) accepts.
bool is_cost_name(const std::string& name);

// What the search ranks finished trials by: the reward under an objective (trials without one
// are never the best), else the validation accuracy.
double trial_score(const std::optional<Objective>& objective, const TrialResult& result);

// How the store picks the search's best trial: the highest score (reward under an objective, else
// val_accuracy) among the completed trials of the highest fidelity reached, ties to the earlier.
store::BestTrialQuery best_trial_query(const std::optional<Objective>& objective);

}  // namespace nasforge::search
