#include "search/planner.h"

#include <string>

#include "common/errors.h"
#include "search/extension.h"
#include "search/pbt.h"
#include "search/trial_rng.h"

namespace nasforge::search {

Planner::Planner(const Experiment& experiment, const space::SearchSpace& space,
                 controllers::Controller& controller)
    : experiment_(experiment), space_(space), controller_(controller) {
  if (experiment_.fidelity) halving_.emplace(*experiment_.fidelity);
}

bool Planner::observes(const std::optional<SuccessiveHalving::Step>& step) {
  return !step || (!step->promotion && step->rung == 0);
}

std::optional<TrialPlan> Planner::next(std::int64_t ordinal, const SearchHistory& history,
                                       const Budget& budget) {
  if (extended_) return std::nullopt;
  std::optional<SuccessiveHalving::Step> step;
  if (halving_) step = halving_->next();
  const int epochs = step ? step->epochs : experiment_.default_epochs();
  const auto& fidelity = experiment_.fidelity;
  const int start_epoch = step && step->promotion && fidelity->continue_training
                              ? fidelity->rungs[static_cast<size_t>(step->rung - 1)]
                              : 0;
  if (!budget.admits_cost(budget.cost_of_epochs(epochs - start_epoch))) return std::nullopt;
  if (!budget.has_time_left()) return std::nullopt;
  if (step && fidelity->extend_best && !bracket_fits_in_time(*halving_, *step, budget)) {
    // With no network at the last rung yet, the bracket goes on (the budget may cut it short);
    // with one, the search ends with its extension, or now if not one epoch of it fits.
    if (const auto best = history.best_completed_at(fidelity->max_epochs())) {
      return plan_extension(*best, *halving_, *step, history, budget, space_);
    }
  }
  if (step && step->promotion) return promotion(*step, history);
  return new_candidate(ordinal, step, history);
}

TrialPlan Planner::promotion(const SuccessiveHalving::Step& step,
                             const SearchHistory& history) const {
  const auto& parent = history.at(step.parent);
  const auto& fidelity = *experiment_.fidelity;
  const int from = fidelity.rungs[static_cast<size_t>(step.rung - 1)];
  TrialPlan plan(space_.from_json(parent.arch), parent.hparams);
  plan.hparams.erase("continue_from");  // lineage is the parent column now (older rows had it)
  plan.kind = TrialKind::kPromotion;
  plan.parent = step.parent;
  plan.observe = false;
  plan.step = step;
  plan.epochs = step.epochs;
  plan.hparams["epochs"] = step.epochs;
  if (fidelity.continue_training) {
    plan.start_epoch = from;
    plan.hparams["start_epoch"] = from;
  }
  plan.changes.push_back({0, 0, "epochs", static_cast<double>(step.epochs),
                          "promote: rank " + std::to_string(step.rank) + " of " +
                              std::to_string(step.of) + " at " + std::to_string(from) +
                              " epochs in bracket " + std::to_string(step.bracket) + ", trial " +
                              std::to_string(step.parent) + "'s architecture and hyperparameters" +
                              (fidelity.continue_training ? ", continuing from its weights" : "")});
  return plan;
}

TrialPlan Planner::new_candidate(std::int64_t ordinal,
                                 const std::optional<SuccessiveHalving::Step>& step,
                                 const SearchHistory& history) {
  const bool observe = observes(step);
  // A Hyperband bracket that starts above the first rung samples uniformly, as in Hyperband, so
  // that the controller never sees results of another fidelity.
  auto sample = trial_rng(experiment_.seed, ordinal, TrialStream::kSample);
  TrialPlan plan(observe ? controller_.propose() : space_.random(sample));
  plan.observe = observe;
  plan.step = step;
  plan.epochs = step ? step->epochs : experiment_.default_epochs();
  if (experiment_.adaptive) {
    // PBT exploits completed trials of one fidelity: the first rung's under a schedule.
    std::vector<PbtMember> members;
    for (std::int64_t i = 0; i < history.size(); ++i) {
      const auto& t = history.at(i);
      if (t.state != TrialState::kCompleted) continue;
      if (experiment_.fidelity && t.epochs != experiment_.fidelity->rungs.front()) continue;
      members.push_back({i, t.score, t.hparams});
    }
    auto rng = trial_rng(experiment_.seed, ordinal, TrialStream::kPbt);
    auto choice = pbt_choose(*experiment_.adaptive, members, rng);
    plan.hparams = std::move(choice.hparams);
    for (auto& c : choice.changes) {
      plan.changes.push_back({0, 0, c.name, c.value, std::move(c.reason)});
    }
  }
  if (step) {
    plan.hparams["epochs"] = step->epochs;
    plan.changes.push_back({0, 0, "epochs", static_cast<double>(step->epochs),
                            "rung " + std::to_string(step->epochs) +
                                " epochs: new candidate in bracket " +
                                std::to_string(step->bracket) +
                                (step->rung == 0 ? "" : " (Hyperband, sampled uniformly)")});
  }
  return plan;
}

std::optional<SuccessiveHalving::Step> Planner::replay(const TrialSummary& trial,
                                                       std::int64_t ordinal) {
  if (!halving_ || trial.kind == TrialKind::kExtension) return std::nullopt;
  const auto step = halving_->next();
  if (!trial.hparams.is_object() || trial.hparams.value("epochs", -1) != step.epochs) {
    throw StoreError("trial " + std::to_string(ordinal) +
                     " does not follow the experiment's fidelity schedule; was the database "
                     "written with other \"fidelity\" settings?");
  }
  return step;
}

void Planner::record(const TrialSummary& trial, std::int64_t ordinal,
                     const std::optional<SuccessiveHalving::Step>& step) {
  if (step) {
    halving_->record(*step, ordinal, trial.score, trial.state == TrialState::kCompleted);
  }
  if (trial.kind == TrialKind::kExtension) extended_ = true;
}

}  // namespace nasforge::search
