#include "search/search_loop.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/nb201_table.h"
#include "trainer/torch_evaluator.h"

namespace nasforge::search {

SearchParts prepare(const Experiment& experiment) {
  SearchParts parts;
  parts.space = space::make_search_space(experiment.space);
  if (experiment.trains()) {
    auto data = std::make_shared<trainer::DataSplits>(trainer::load_splits(experiment.dataset));
    parts.evaluator = std::make_unique<trainer::TorchEvaluator>(*parts.space, std::move(data),
                                                                experiment.training);
  } else {
    parts.evaluator = trainer::Nb201TableEvaluator::from_config(experiment.evaluator);
  }
  return parts;
}

SearchLoop::SearchLoop(store::SqliteStore& store, std::int64_t experiment_id,
                       const Experiment& experiment, SearchParts& parts, std::string artifacts_dir)
    : store_(store),
      experiment_id_(experiment_id),
      experiment_(experiment),
      parts_(parts),
      controller_(
          controllers::make_controller(experiment.controller, *parts.space, experiment.seed)),
      artifacts_dir_(std::move(artifacts_dir)) {
  if (const auto saved = store_.controller_state(experiment_id_)) {
    try {
      controller_->load_state(nlohmann::json::from_cbor(saved->cbor));
    } catch (const nlohmann::json::exception& e) {
      throw StoreError(store_.path() + ": controller state is corrupt (" + e.what() + ")");
    }
  }
}

namespace {

// Streams of random draws per trial, independent of each other and of the controller's.
constexpr std::uint64_t kPbtStream = 1;
constexpr std::uint64_t kSampleStream = 2;

Rng trial_rng(std::uint64_t seed, std::int64_t ordinal, std::uint64_t stream) {
  // splitmix64 finaliser over (seed, ordinal, stream).
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL +
                    static_cast<std::uint64_t>(ordinal) * 0xBF58476D1CE4E5B9ULL +
                    stream * 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return Rng(z ^ (z >> 31));
}

std::string ordinal_text(std::int64_t ordinal) { return std::to_string(ordinal); }

}  // namespace

store::ControllerSnapshot SearchLoop::snapshot(std::int64_t step) const {
  return {step, nlohmann::json::to_cbor(controller_->state())};
}

int SearchLoop::default_epochs() const {
  if (experiment_.trains()) return experiment_.training.epochs;
  const auto column = experiment_.evaluator.value("column", std::string("cifar10_valid"));
  const std::string suffix = "_12ep";
  const bool short_run = column.size() > suffix.size() &&
                         column.compare(column.size() - suffix.size(), suffix.size(), suffix) == 0;
  return short_run ? 12 : 200;
}

bool SearchLoop::observes(const std::optional<SuccessiveHalving::Step>& step) const {
  // Controllers learn from one fidelity only: the first rung's results of new candidates.
  return !step || (!step->promotion && step->rung == 0);
}

std::optional<SearchLoop::Plan> SearchLoop::plan(std::int64_t ordinal) {
  std::optional<SuccessiveHalving::Step> step;
  if (halving_) step = halving_->next();
  const int epochs = step ? step->epochs : default_epochs();
  if (experiment_.cost > 0 &&
      cost_ + static_cast<double>(epochs) / experiment_.max_epochs() > experiment_.cost + 1e-9) {
    return std::nullopt;
  }
  const auto& space = *parts_.space;
  if (step && step->promotion) {
    const auto& parent = known_.at(static_cast<size_t>(step->parent));
    Plan p{space.from_json(parent.arch), parent.hparams, {}, false, step};
    p.hparams["epochs"] = epochs;
    const auto& rungs = experiment_.fidelity->rungs;
    p.changes.push_back({0, 0, "epochs", static_cast<double>(epochs),
                         "promote: rank " + std::to_string(step->rank) + " of " +
                             std::to_string(step->of) + " at " +
                             std::to_string(rungs[static_cast<size_t>(step->rung - 1)]) +
                             " epochs in bracket " + std::to_string(step->bracket) + ", trial " +
                             ordinal_text(step->parent) + "'s architecture and hyperparameters"});
    return p;
  }
  std::optional<space::Architecture> arch;
  if (observes(step)) {
    arch = controller_->propose();
  } else {
    // A Hyperband bracket that starts above the first rung: a uniform sample, as in Hyperband,
    // so that the controller never sees results of another fidelity.
    auto rng = trial_rng(experiment_.seed, ordinal, kSampleStream);
    arch = space.random(rng);
  }
  Plan p{*arch, nlohmann::json::object(), {}, observes(step), step};
  if (experiment_.adaptive) {
    std::vector<PbtMember> members;
    for (size_t i = 0; i < known_.size(); ++i) {
      const auto& k = known_[i];
      if (k.status != "completed") continue;
      if (experiment_.fidelity && k.epochs != experiment_.fidelity->rungs.front()) continue;
      members.push_back({static_cast<std::int64_t>(i), k.val_accuracy, k.hparams});
    }
    auto rng = trial_rng(experiment_.seed, ordinal, kPbtStream);
    auto choice = pbt_choose(*experiment_.adaptive, members, rng);
    p.hparams = std::move(choice.hparams);
    for (auto& c : choice.changes) {
      p.changes.push_back({0, 0, c.name, c.value, std::move(c.reason)});
    }
  }
  if (step) {
    p.hparams["epochs"] = epochs;
    p.changes.push_back({0, 0, "epochs", static_cast<double>(epochs),
                         "rung " + std::to_string(epochs) + " epochs: new candidate in bracket " +
                             std::to_string(step->bracket) +
                             (step->rung == 0 ? "" : " (Hyperband, sampled uniformly)")});
  }
  return p;
}

SearchLoop::Known SearchLoop::evaluate_and_record(std::int64_t trial_id, std::int64_t ordinal,
                                                  const space::Architecture& arch,
                                                  const nlohmann::json& hparams, bool observe) {
  store_.start_trial(trial_id);
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "trial %lld [%s]", static_cast<long long>(ordinal),
                arch.hash().c_str());
  log::info(std::string(prefix) + " start " + arch.canonical() +
            (hparams.empty() ? std::string() : " " + hparams.dump()));

  trainer::TrialContext context;
  context.trial_id = trial_id;
  context.seed = experiment_.seed * 1000003ULL + static_cast<std::uint64_t>(ordinal);
  context.hparams = hparams;
  if (experiment_.trains()) {
    char name[32];
    std::snprintf(name, sizeof name, "trial-%05lld.pt", static_cast<long long>(ordinal));
    context.weights_path = (std::filesystem::path(artifacts_dir_) / name).string();
  }
  std::vector<double> curve;
  context.on_epoch = [&](const trainer::EpochRecord& e) {
    store_.append_epoch(trial_id,
                        {e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy,
                         e.learning_rate, e.seconds, e.loss_scale, e.skipped_steps});
    char line[160];
    std::snprintf(line, sizeof line, " epoch %d: train loss %.4f, val acc %.4f (%.1f s)", e.epoch,
                  e.train_loss, e.val_accuracy, e.seconds);
    log::info(prefix + std::string(line));
    curve.push_back(e.val_accuracy);
    if (experiment_.early_stopping &&
        median_should_stop(curve, completed_curves_, *experiment_.early_stopping)) {
      log::info(std::string(prefix) + " below the median of completed trials at epoch " +
                std::to_string(e.epoch) + "; pruning it");
      return false;
    }
    return true;
  };
  const auto result = parts_.evaluator->evaluate(arch, context);

  store::TrialOutcome outcome;
  outcome.status = trainer::to_string(result.status);
  outcome.val_accuracy = result.val_accuracy;
  outcome.val_loss = result.val_loss;
  outcome.train_loss = result.train_loss;
  outcome.params = result.params;
  outcome.flops = result.flops;
  outcome.epochs = result.epochs;
  outcome.wall_seconds = result.wall_seconds;
  outcome.error = result.error;
  outcome.extra = result.extra;
  if (result.status == trainer::TrialStatus::kCompleted)
    outcome.weights_path = context.weights_path;

  const bool failed = result.status == trainer::TrialStatus::kFailed;
  // A pruned trial's accuracy is of a lower fidelity: the controller is told it is not a result.
  if (observe) {
    controller_->observe(arch, result.val_accuracy,
                         result.status != trainer::TrialStatus::kCompleted);
  }
  ++observed_;
  store_.finish_trial(trial_id, outcome, snapshot(observed_));
  if (experiment_.early_stopping && result.status == trainer::TrialStatus::kCompleted) {
    completed_curves_.push_back(curve);
  }
  char line[200];
  if (failed) {
    log::warn(std::string(prefix) + " failed: " + result.error);
  } else {
    std::snprintf(line, sizeof line, " %s: val acc %.4f, %lld params, %d epochs, %.1f s",
                  outcome.status.c_str(), result.val_accuracy,
                  static_cast<long long>(result.params), result.epochs, result.wall_seconds);
    log::info(prefix + std::string(line));
  }
  return {trial_id,       parts_.space->to_json(arch), hparams,
          outcome.status, result.val_accuracy,         result.epochs};
}

void SearchLoop::account(const Known& trial, std::int64_t ordinal,
                         const std::optional<SuccessiveHalving::Step>& step) {
  if (step) halving_->record(*step, ordinal, trial.val_accuracy, trial.status == "completed");
  // A failure that reached no epoch still costs one, so a cost budget always ends.
  const int reached = trial.status == "failed" ? std::max(1, trial.epochs) : trial.epochs;
  cost_ += static_cast<double>(reached) / experiment_.max_epochs();
}

void SearchLoop::run() {
  auto trials = store_.trials(experiment_id_);
  known_.clear();
  completed_curves_.clear();
  cost_ = 0;
  if (experiment_.fidelity) halving_.emplace(*experiment_.fidelity);
  std::int64_t finished = 0;
  for (const auto& t : trials) {
    known_.push_back({t.id, t.arch, t.hparams, t.status, t.outcome.val_accuracy, t.outcome.epochs});
    if (t.status == "completed" || t.status == "failed" || t.status == "pruned") ++finished;
  }
  observed_ = finished;
  finished = 0;
  // Replay the finished trials in order (the scheduler's state is a function of them). Trials
  // left pending or running by a crash: the controller state saved with them is the one right
  // after proposing them, so evaluating them now continues exactly.
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    std::optional<SuccessiveHalving::Step> step;
    if (halving_) {
      step = halving_->next();
      if (!t.hparams.is_object() || t.hparams.value("epochs", -1) != step->epochs) {
        throw StoreError(store_.path() + ": trial " + std::to_string(t.ordinal) +
                         " does not follow the experiment's fidelity schedule; was the database "
                         "written with other \"fidelity\" settings?");
      }
    }
    if (t.status == "pending" || t.status == "running") {
      log::info("trial " + std::to_string(t.ordinal) + " was interrupted; running it again");
      store_.reset_trial(t.id);
      known_[i] = evaluate_and_record(t.id, t.ordinal, parts_.space->from_json(t.arch), t.hparams,
                                      observes(step));
    } else if (experiment_.early_stopping && t.status == "completed") {
      std::vector<double> curve;
      for (const auto& e : store_.epochs(t.id)) curve.push_back(e.val_accuracy);
      completed_curves_.push_back(std::move(curve));
    }
    account(known_[i], t.ordinal, step);
    ++finished;
  }
  std::int64_t ordinal = static_cast<std::int64_t>(trials.size());
  while (finished < experiment_.trials) {
    auto next = plan(ordinal);
    if (!next) break;  // the cost budget is spent
    const auto& arch = next->arch;
    store::NewTrial trial{ordinal, arch.canonical(), arch.hash(), parts_.space->to_json(arch),
                          next->hparams};
    const auto id = store_.create_trial(experiment_id_, trial, snapshot(observed_));
    for (auto& change : next->changes) {
      change.trial_id = id;
      store_.record_hparam_change(change);
    }
    known_.push_back({id, trial.arch, next->hparams, "pending", 0, 0});
    known_.back() = evaluate_and_record(id, ordinal, arch, next->hparams, next->observe);
    account(known_.back(), ordinal, next->step);
    ++ordinal;
    ++finished;
  }
  store_.set_experiment_status(experiment_id_, "completed");
}

}  // namespace nasforge::search
