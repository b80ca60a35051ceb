#pragma once
// The median stopping rule (Golovin et al., "Google Vizier", KDD 2017): stop a running trial at
// epoch e if its best validation accuracy so far is below the median, over completed trials, of
// their running-average validation accuracy up to epoch e.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nasforge::search {

struct EarlyStoppingOptions {
  std::string type = "median";
  int min_epochs = 1;  // grace: never stop before this many epochs
  int min_trials = 3;  // completed trials (reaching epoch e) needed before any stop

  static EarlyStoppingOptions from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// `curve`: the running trial's validation accuracies, epoch 1 first, up to the current epoch.
// `completed`: the curves of completed trials. True: stop the trial now.
bool median_should_stop(const std::vector<double>& curve,
                        const std::vector<std::vector<double>>& completed,
                        const EarlyStoppingOptions& options);

}  // namespace nasforge::search
