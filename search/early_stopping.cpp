#include "search/early_stopping.h"

#include <algorithm>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::search {

namespace cfg = nasforge::config;

EarlyStoppingOptions EarlyStoppingOptions::from_json(const nlohmann::json& j,
                                                     const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where, {"type", "min_epochs", "min_trials"});
  EarlyStoppingOptions o;
  o.type = cfg::optional<std::string>(j, "type", where, o.type);
  if (o.type != "median") {
    throw ConfigError(where + ".type: unknown early stopping rule '" + o.type +
                      "'; expected median");
  }
  o.min_epochs = cfg::in_range(cfg::optional<int>(j, "min_epochs", where, o.min_epochs), 1, 10000,
                               where + ".min_epochs");
  o.min_trials = cfg::in_range(cfg::optional<int>(j, "min_trials", where, o.min_trials), 1,
                               1'000'000, where + ".min_trials");
  return o;
}

nlohmann::json EarlyStoppingOptions::to_json() const {
  return {{"type", type}, {"min_epochs", min_epochs}, {"min_trials", min_trials}};
}

bool median_should_stop(const std::vector<double>& curve,
                        const std::vector<std::vector<double>>& completed,
                        const EarlyStoppingOptions& options) {
  const size_t e = curve.size();
  if (e == 0 || static_cast<int>(e) < options.min_epochs) return false;
  std::vector<double> averages;
  for (const auto& c : completed) {
    if (c.size() < e) continue;
    double sum = 0;
    for (size_t i = 0; i < e; ++i) sum += c[i];
    averages.push_back(sum / static_cast<double>(e));
  }
  if (averages.empty() || static_cast<int>(averages.size()) < options.min_trials) return false;
  std::sort(averages.begin(), averages.end());
  const size_t n = averages.size();
  const double median = n % 2 ? averages[n / 2] : 0.5 * (averages[n / 2 - 1] + averages[n / 2]);
  const double best = *std::max_element(curve.begin(), curve.end());
  return best < median;
}

}  // namespace nasforge::search
