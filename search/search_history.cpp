#include "search/search_history.h"

#include <string>

#include "common/errors.h"

namespace nasforge::search {

std::int64_t SearchHistory::add(TrialSummary trial) {
  trials_.push_back(std::move(trial));
  return size() - 1;
}

void SearchHistory::finish(std::int64_t ordinal, const TrialResult& result, double score) {
  if (ordinal < 0 || ordinal >= size()) {
    throw InternalError("SearchHistory: no trial " + std::to_string(ordinal));
  }
  auto& trial = trials_[static_cast<size_t>(ordinal)];
  trial.state = result.state;
  trial.val_accuracy = result.val_accuracy;
  trial.epochs = result.epochs;
  trial.wall_seconds = result.wall_seconds;
  trial.score = score;
}

void SearchHistory::add_completed_curve(std::vector<double> curve) {
  completed_curves_.push_back(std::move(curve));
}

const TrialSummary& SearchHistory::at(std::int64_t ordinal) const {
  if (ordinal < 0 || ordinal >= size()) {
    throw InternalError("SearchHistory: no trial " + std::to_string(ordinal));
  }
  return trials_[static_cast<size_t>(ordinal)];
}

std::optional<std::int64_t> SearchHistory::best_completed_at(int epochs) const {
  std::optional<std::int64_t> best;
  for (std::int64_t i = 0; i < size(); ++i) {
    const auto& t = trials_[static_cast<size_t>(i)];
    if (t.state != TrialState::kCompleted || t.epochs != epochs) continue;
    if (!best || t.score > at(*best).score) best = i;
  }
  return best;
}

}  // namespace nasforge::search
