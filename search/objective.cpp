#include "search/objective.h"

#include <cmath>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::search {

namespace cfg = nasforge::config;

namespace {

constexpr double kPenaltyExponent = -0.07;  // MnasNet's soft constraint
constexpr double kConstraintExponent = -1;  // MnasNet's hard constraint, above the target

}  // namespace

bool is_cost_name(const std::string& name) {
  return name == "params" || name == "flops" || name == Objective::kLatencyMetric;
}

Objective Objective::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where, {"cost", "target", "mode", "exponent"});
  Objective o;
  o.cost = cfg::required<std::string>(j, "cost", where);
  if (!is_cost_name(o.cost)) {
    throw ConfigError(where + ".cost: unknown cost '" + o.cost +
                      "'; expected params, flops or latency_ms");
  }
  if (!j.contains("target")) throw ConfigError(where + ": missing required key \"target\"");
  o.target = cfg::get_as<double>(j.at("target"), where + ".target");
  if (!(o.target > 0) || !std::isfinite(o.target)) {
    throw ConfigError(where + ".target: expected a positive number (" +
                      (o.cost == kLatencyMetric ? "milliseconds" : "a count") + "), got " +
                      j.at("target").dump());
  }
  const auto mode = cfg::optional<std::string>(j, "mode", where, "penalty");
  if (mode == "penalty") {
    o.mode = Mode::kPenalty;
  } else if (mode == "constraint") {
    o.mode = Mode::kConstraint;
  } else {
    throw ConfigError(where + ".mode: unknown mode '" + mode + "'; expected penalty or constraint");
  }
  o.exponent = cfg::optional<double>(
      j, "exponent", where, o.mode == Mode::kPenalty ? kPenaltyExponent : kConstraintExponent);
  if (!(o.exponent < 0) || !std::isfinite(o.exponent)) {
    throw ConfigError(where + ".exponent: expected a negative number (a cost above the target " +
                      "lowers the reward), got " + j.at("exponent").dump());
  }
  return o;
}

nlohmann::json Objective::to_json() const {
  return {{"cost", cost},
          {"target", target},
          {"mode", mode == Mode::kPenalty ? "penalty" : "constraint"},
          {"exponent", exponent}};
}

double Objective::reward(double accuracy, double cost_value) const {
  if (!(cost_value > 0)) {
    throw InternalError("Objective::reward: cost " + std::to_string(cost_value) +
                        " is not positive");
  }
  const double w = mode == Mode::kConstraint && cost_value <= target ? 0.0 : exponent;
  return accuracy * std::pow(cost_value / target, w);
}

std::optional<double> Objective::cost_of(const TrialResult& result) const {
  double value = 0;
  if (cost == "params") {
    value = static_cast<double>(result.params);
  } else if (cost == "flops") {
    value = static_cast<double>(result.flops);
  } else if (const auto it = result.metrics.find(kLatencyMetric); it != result.metrics.end()) {
    value = it->second;
  }
  if (!(value > 0)) return std::nullopt;
  return value;
}

double trial_score(const std::optional<Objective>& objective, const TrialResult& result) {
  if (!objective) return result.val_accuracy;
  const auto it = result.metrics.find(Objective::kRewardMetric);
  return it == result.metrics.end() ? 0.0 : it->second;
}

store::BestTrialQuery best_trial_query(const std::optional<Objective>& objective) {
  store::BestTrialQuery query;
  if (objective) query.metric = Objective::kRewardMetric;
  return query;
}

}  // namespace nasforge::search
