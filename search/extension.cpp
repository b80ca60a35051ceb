#include "search/extension.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "trainer/train_config.h"

namespace nasforge::search {

bool bracket_fits_in_time(const SuccessiveHalving& schedule, const SuccessiveHalving::Step& step,
                          const Budget& budget) {
  const double trained = budget.spent_cost() * budget.max_epochs();
  if (trained <= 0) return true;  // nothing measured yet
  const double per_epoch = budget.spent_seconds() / trained;
  return schedule.epochs_to_finish(step) * per_epoch <= budget.seconds_left();
}

std::optional<TrialPlan> plan_extension(std::int64_t best, const SuccessiveHalving& schedule,
                                        const SuccessiveHalving::Step& abandoned,
                                        const SearchHistory& history, const Budget& budget,
                                        const space::SearchSpace& space) {
  const int last_rung = schedule.options().max_epochs();
  const auto& parent = history.at(best);
  const int trained = trained_epochs(parent.hparams, parent.state, parent.epochs);
  const double per_epoch = parent.wall_seconds / std::max(1, trained);
  const double left = budget.seconds_left();
  // A margin of 5 %: an extension cut short by the budget is wasted (never taken as the best).
  double epochs = per_epoch > 0 ? std::floor(left / (per_epoch * 1.05)) : trainer::kMaxEpochs;
  if (budget.limits().cost > 0) {
    epochs = std::min(epochs, std::floor(budget.cost_left() * last_rung + 1e-9));
  }
  epochs = std::min(epochs, static_cast<double>(trainer::kMaxEpochs - last_rung));
  if (epochs < 1) return std::nullopt;
  const int extra = static_cast<int>(epochs);
  TrialPlan plan(space.from_json(parent.arch), parent.hparams);
  plan.hparams.erase("continue_from");  // lineage is the parent column now (older rows had it here)
  plan.kind = TrialKind::kExtension;
  plan.parent = best;
  plan.observe = false;
  plan.epochs = last_rung + extra;
  plan.start_epoch = last_rung;
  plan.hparams["epochs"] = plan.epochs;
  plan.hparams["start_epoch"] = plan.start_epoch;
  char reason[320];
  std::snprintf(reason, sizeof reason,
                "extend: %.0f s left cannot finish bracket %d (about %d more epochs); trial %lld, "
                "the best at %d epochs (val acc %.4f, %.1f s per epoch), trains %d more from its "
                "weights",
                left, abandoned.bracket, schedule.epochs_to_finish(abandoned),
                static_cast<long long>(best), last_rung, parent.val_accuracy, per_epoch, extra);
  plan.changes.push_back({0, 0, "epochs", static_cast<double>(plan.epochs), reason});
  return plan;
}

}  // namespace nasforge::search
