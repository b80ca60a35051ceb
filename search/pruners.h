#pragma once
// Pruners: why a running trial should stop after the epoch it just finished. Each is one rule;
// the loop asks them in order after every epoch but a trial's last.
#include <memory>
#include <string>
#include <vector>

#include "search/budget.h"
#include "search/early_stopping.h"
#include "search/search_history.h"

namespace nasforge::search {

// What a running trial has reported so far.
struct TrialProgress {
  std::vector<double> curve;  // validation accuracy per epoch from epoch 1 (ancestors' first)
  double seconds = 0;         // its epochs' wall-clock so far
};

class Pruner {
 public:
  virtual ~Pruner() = default;
  // Why the trial should stop now; empty: it goes on.
  virtual std::string reason_to_stop(const TrialProgress& progress) const = 0;
};

// The median stopping rule against the curves of the completed trials in `history`.
class MedianPruner final : public Pruner {
 public:
  MedianPruner(EarlyStoppingOptions options, const SearchHistory& history)
      : options_(std::move(options)), history_(history) {}
  std::string reason_to_stop(const TrialProgress& progress) const override;

 private:
  EarlyStoppingOptions options_;
  const SearchHistory& history_;
};

// The time budget is a limit, not a hint: a trial still running when it is spent stops at the
// end of that epoch.
class TimeBudgetPruner final : public Pruner {
 public:
  explicit TimeBudgetPruner(const Budget& budget) : budget_(budget) {}
  std::string reason_to_stop(const TrialProgress& progress) const override;

 private:
  const Budget& budget_;
};

// The experiment's pruners, in the order they are asked: the median rule ("early_stopping"),
// then the time budget ("budget.seconds").
std::vector<std::unique_ptr<Pruner>> make_pruners(const Experiment& experiment,
                                                  const SearchHistory& history,
                                                  const Budget& budget);

}  // namespace nasforge::search
