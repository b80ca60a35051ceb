#include "search/pruners.h"

namespace nasforge::search {

std::string MedianPruner::reason_to_stop(const TrialProgress& progress) const {
  return median_should_stop(progress.curve, history_.completed_curves(), options_)
             ? "below the median of completed trials"
             : "";
}

std::string TimeBudgetPruner::reason_to_stop(const TrialProgress& progress) const {
  return budget_.time_spent_with(progress.seconds) ? "time budget spent" : "";
}

std::vector<std::unique_ptr<Pruner>> make_pruners(const Experiment& experiment,
                                                  const SearchHistory& history,
                                                  const Budget& budget) {
  std::vector<std::unique_ptr<Pruner>> pruners;
  if (experiment.early_stopping) {
    pruners.push_back(std::make_unique<MedianPruner>(*experiment.early_stopping, history));
  }
  if (experiment.budget.seconds > 0) pruners.push_back(std::make_unique<TimeBudgetPruner>(budget));
  return pruners;
}

}  // namespace nasforge::search
