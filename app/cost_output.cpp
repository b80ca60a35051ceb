#include "app/cost_output.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "common/errors.h"

namespace nasforge::search {

namespace {

std::string printf_text(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

double cost_value(const std::string& cost, const store::TrialRow& trial) {
  if (cost == "params") return static_cast<double>(trial.result.params);
  if (cost == "flops") return static_cast<double>(trial.result.flops);
  const auto it = trial.result.metrics.find(cost);
  return it == trial.result.metrics.end() ? 0.0 : it->second;
}

// Why nothing fits the limits, with the smallest completed trial's costs.
std::string nothing_fits(const std::vector<store::TrialRow>& trials, const ExportLimits& limits) {
  std::string what = "export: no completed trial within";
  if (limits.max_params) what.append(" --max-params ").append(std::to_string(*limits.max_params));
  if (limits.max_flops) what.append(" --max-flops ").append(std::to_string(*limits.max_flops));
  const store::TrialRow* smallest = nullptr;
  for (const auto& t : trials) {
    if (t.state != TrialState::kCompleted) continue;
    const bool measured =
        (!limits.max_params || t.result.params > 0) && (!limits.max_flops || t.result.flops > 0);
    if (!measured) continue;
    const auto key = [&](const store::TrialRow& r) {
      return limits.max_params ? r.result.params : r.result.flops;
    };
    if (!smallest || key(t) < key(*smallest)) smallest = &t;
  }
  if (!smallest) {
    return what + " (no completed trial has " +
           (limits.max_params ? "its parameters" : "its FLOPs") + " measured)";
  }
  what.append(" (the smallest, trial ").append(std::to_string(smallest->ordinal)).append(", has ");
  what.append(std::to_string(smallest->result.params)).append(" params and ");
  what.append(std::to_string(smallest->result.flops)).append(" FLOPs)");
  return what;
}

}  // namespace

std::string cost_text(const std::string& cost, double value) {
  if (cost == "params") return printf_text("%.3g M params", value / 1e6);
  if (cost == "flops") return printf_text("%.4g MFLOPs", value / 1e6);
  if (cost == Objective::kLatencyMetric) return printf_text("%.3g ms", value);
  return printf_text("%.4g ", value) + cost;
}

std::optional<store::TrialRow> search_best(const store::SqliteStore& store,
                                           std::int64_t experiment_id,
                                           const Experiment& experiment) {
  return store.best_trial(experiment_id, best_trial_query(experiment.objective));
}

store::TrialRow best_within(const store::SqliteStore& store, std::int64_t experiment_id,
                            const Experiment& experiment, const ExportLimits& limits) {
  auto query = best_trial_query(experiment.objective);
  query.max_params = limits.max_params;
  query.max_flops = limits.max_flops;
  if (auto best = store.best_trial(experiment_id, query)) return std::move(*best);
  if (!limits.max_params && !limits.max_flops) {
    throw StoreError(store.path() + ": no completed trial to export");
  }
  throw ConfigError(nothing_fits(store.trials(experiment_id), limits));
}

std::string reward_text(const Experiment& experiment, const store::TrialRow& trial) {
  if (!experiment.objective) return "";
  const auto& objective = *experiment.objective;
  const auto it = trial.result.metrics.find(Objective::kRewardMetric);
  std::string text =
      it == trial.result.metrics.end() ? ", no reward" : printf_text(", reward %.4f", it->second);
  return text + " (" + cost_text(objective.cost, cost_value(objective.cost, trial)) + ")";
}

void print_cost_summary(const store::SqliteStore& store, std::int64_t experiment_id,
                        const Experiment& experiment, std::ostream& out, int max_lines) {
  std::string cost = "params";
  if (const auto& objective = experiment.objective) {
    cost = objective->cost;
    const bool hard = objective->mode == Objective::Mode::kConstraint;
    out << "objective: reward = val acc * (" << cost << " / "
        << printf_text("%g", objective->target)
        << ")^w, w = " << (hard ? "0 up to the target, " : "")
        << printf_text("%g", objective->exponent)
        << (hard ? " above it (constraint)" : " (penalty)")
        << "; the best has the highest reward\n";
  }
  auto front = store.pareto_front(experiment_id, cost);
  if (front.empty() && !experiment.objective) {
    cost = "flops";
    front = store.pareto_front(experiment_id, cost);
  }
  if (front.empty()) return;
  out << "pareto front (val acc against " << (cost == "params" ? "parameters" : cost)
      << "): " << front.size() << (front.size() == 1 ? " trial" : " trials") << "\n";
  // A long front: its cheapest trials, then its most accurate one.
  const auto lines = static_cast<size_t>(std::max(max_lines, 2));
  for (size_t i = 0; i < front.size(); ++i) {
    if (front.size() > lines && i + 1 >= lines && i + 1 < front.size()) {
      if (i + 1 == lines) out << "  ... " << front.size() - lines << " more\n";
      continue;
    }
    const auto& t = front[i];
    out << "  trial " << t.ordinal << ": " << printf_text("%.2f%%", t.result.val_accuracy * 100)
        << ", " << cost_text(cost, cost_value(cost, t)) << ", " << t.arch_canonical << "\n";
  }
}

}  // namespace nasforge::search
