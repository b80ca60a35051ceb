#include "search/search_loop.h"

#include <ATen/Parallel.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/nb201_table.h"
#include "trainer/torch_evaluator.h"
#include "trainer/train_config.h"

namespace nasforge::search {

SearchParts prepare(const Experiment& experiment) {
  SearchParts parts;
  parts.space = space::make_search_space(experiment.space);
  if (experiment.trains()) {
    auto data = std::make_shared<trainer::DataSplits>(trainer::load_splits(experiment.dataset));
    parts.data = data;
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

bool SearchLoop::is_extension(const nlohmann::json& hparams) const {
  return experiment_.fidelity && hparams.is_object() &&
         hparams.value("epochs", 0) > experiment_.fidelity->max_epochs();
}

bool SearchLoop::fits_in_time(const SuccessiveHalving::Step& step) const {
  const double trained = cost_ * experiment_.max_epochs();
  if (trained <= 0) return true;  // nothing measured yet
  const double per_epoch = seconds_ / trained;
  return halving_->epochs_to_finish(step) * per_epoch <= experiment_.seconds - seconds_;
}

std::optional<size_t> SearchLoop::best_at_last_rung() const {
  std::optional<size_t> best;
  for (size_t i = 0; i < known_.size(); ++i) {
    const auto& k = known_[i];
    if (k.status != "completed" || k.epochs != experiment_.fidelity->max_epochs()) continue;
    if (!best || k.val_accuracy > known_[*best].val_accuracy) best = i;
  }
  return best;
}

std::optional<SearchLoop::Plan> SearchLoop::extension(
    size_t best, const SuccessiveHalving::Step& abandoned) const {
  const int last_rung = experiment_.fidelity->max_epochs();
  const auto& parent = known_[best];
  const int trained = trained_epochs(parent.hparams, parent.status, parent.epochs);
  const double per_epoch = parent.wall_seconds / std::max(1, trained);
  const double left = experiment_.seconds - seconds_;
  // A margin of 5 %: an extension cut short by the budget is wasted (never taken as the best).
  double epochs = per_epoch > 0 ? std::floor(left / (per_epoch * 1.05)) : trainer::kMaxEpochs;
  if (experiment_.cost > 0) {
    epochs = std::min(epochs, std::floor((experiment_.cost - cost_) * last_rung + 1e-9));
  }
  epochs = std::min(epochs, static_cast<double>(trainer::kMaxEpochs - last_rung));
  if (epochs < 1) return std::nullopt;
  const int extra = static_cast<int>(epochs);
  Plan p{parts_.space->from_json(parent.arch), parent.hparams, {}, false, std::nullopt};
  p.hparams["epochs"] = last_rung + extra;
  p.hparams["start_epoch"] = last_rung;
  p.hparams["continue_from"] = static_cast<std::int64_t>(best);
  char reason[320];
  std::snprintf(reason, sizeof reason,
                "extend: %.0f s left cannot finish bracket %d (about %d more epochs); trial %zu, "
                "the best at %d epochs (val acc %.4f, %.1f s per epoch), trains %d more from its "
                "weights",
                left, abandoned.bracket, halving_->epochs_to_finish(abandoned), best, last_rung,
                parent.val_accuracy, per_epoch, extra);
  p.changes.push_back({0, 0, "epochs", static_cast<double>(last_rung + extra), reason});
  return p;
}

std::optional<SearchLoop::Plan> SearchLoop::plan(std::int64_t ordinal) {
  if (extended_) return std::nullopt;
  std::optional<SuccessiveHalving::Step> step;
  if (halving_) step = halving_->next();
  const int epochs = step ? step->epochs : default_epochs();
  const int trains_from = step && step->promotion && experiment_.fidelity->continue_training
                              ? experiment_.fidelity->rungs[static_cast<size_t>(step->rung - 1)]
                              : 0;
  if (experiment_.cost > 0 &&
      cost_ + static_cast<double>(epochs - trains_from) / experiment_.max_epochs() >
          experiment_.cost + 1e-9) {
    return std::nullopt;
  }
  if (experiment_.seconds > 0 && seconds_ >= experiment_.seconds) return std::nullopt;
  if (step && experiment_.fidelity->extend_best && !fits_in_time(*step)) {
    // With no network at the last rung yet, the bracket goes on (the budget may cut it short);
    // with one, the search ends with its extension, or now if not one epoch of it fits.
    if (const auto best = best_at_last_rung()) return extension(*best, *step);
  }
  const auto& space = *parts_.space;
  if (step && step->promotion) {
    const auto& parent = known_.at(static_cast<size_t>(step->parent));
    Plan p{space.from_json(parent.arch), parent.hparams, {}, false, step};
    p.hparams["epochs"] = epochs;
    const auto& fidelity = *experiment_.fidelity;
    const int from = fidelity.rungs[static_cast<size_t>(step->rung - 1)];
    if (fidelity.continue_training) {
      p.hparams["start_epoch"] = from;
      p.hparams["continue_from"] = step->parent;
    }
    p.changes.push_back({0, 0, "epochs", static_cast<double>(epochs),
                         "promote: rank " + std::to_string(step->rank) + " of " +
                             std::to_string(step->of) + " at " + std::to_string(from) +
                             " epochs in bracket " + std::to_string(step->bracket) + ", trial " +
                             ordinal_text(step->parent) + "'s architecture and hyperparameters" +
                             (fidelity.continue_training ? ", continuing from its weights" : "")});
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

std::string SearchLoop::trial_prefix(std::int64_t ordinal, const space::Architecture& arch) {
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "trial %lld [%s]", static_cast<long long>(ordinal),
                arch.hash().c_str());
  return prefix;
}

trainer::TrialContext SearchLoop::begin_trial(std::int64_t trial_id, std::int64_t ordinal,
                                              const space::Architecture& arch,
                                              const nlohmann::json& hparams, Progress& progress) {
  store_.start_trial(trial_id);
  const auto prefix = trial_prefix(ordinal, arch);
  log::info(prefix + " start " + arch.canonical() +
            (hparams.empty() ? std::string() : " " + hparams.dump()));
  trainer::TrialContext context;
  context.trial_id = trial_id;
  context.seed = experiment_.seed * 1000003ULL + static_cast<std::uint64_t>(ordinal);
  context.hparams = hparams;
  if (experiment_.trains()) context.weights_path = weights_path(ordinal);
  if (hparams.is_object() && hparams.contains("continue_from")) {
    // The trainer sees start_epoch; which trial the weights come from is the loop's business.
    const auto parent = hparams.at("continue_from").get<std::int64_t>();
    context.hparams.erase("continue_from");
    context.init_weights_path = weights_path(parent);
    // The median rule compares whole curves: this one begins with its ancestors' epochs.
    progress.curve = full_curve(parent);
  }
  // Runs on the evaluating thread: with workers side by side, the store and the completed
  // curves are shared with the loop's thread and guarded by its mutex.
  const int last_epoch =
      hparams.is_object() ? hparams.value("epochs", default_epochs()) : default_epochs();
  context.on_epoch = [this, trial_id, prefix, last_epoch,
                      &progress](const trainer::EpochRecord& e) {
    std::lock_guard lock(mutex_);
    store_.append_epoch(trial_id,
                        {e.epoch, e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy,
                         e.learning_rate, e.seconds, e.loss_scale, e.skipped_steps});
    char line[160];
    std::snprintf(line, sizeof line, " epoch %d: train loss %.4f, val acc %.4f (%.1f s)", e.epoch,
                  e.train_loss, e.val_accuracy, e.seconds);
    log::info(prefix + std::string(line));
    progress.curve.push_back(e.val_accuracy);
    progress.seconds += e.seconds;
    // After its last epoch a trial is complete: there is nothing left to stop.
    progress.stop_reason = e.epoch < last_epoch ? stop_reason(progress) : std::string();
    if (progress.stop_reason.empty()) return true;
    log::info(prefix + " " + progress.stop_reason + " at epoch " + std::to_string(e.epoch) +
              "; stopping it");
    return false;
  };
  return context;
}

std::string SearchLoop::weights_path(std::int64_t ordinal) const {
  char name[32];
  std::snprintf(name, sizeof name, "trial-%05lld.pt", static_cast<long long>(ordinal));
  return (std::filesystem::path(artifacts_dir_) / name).string();
}

std::vector<double> SearchLoop::full_curve(std::int64_t ordinal) const {
  const auto& trial = known_.at(static_cast<size_t>(ordinal));
  std::vector<double> curve;
  if (trial.hparams.is_object() && trial.hparams.contains("continue_from")) {
    curve = full_curve(trial.hparams.at("continue_from").get<std::int64_t>());
  }
  for (const auto& e : store_.epochs(trial.id)) curve.push_back(e.val_accuracy);
  return curve;
}

std::string SearchLoop::stop_reason(const Progress& progress) const {
  if (experiment_.early_stopping &&
      median_should_stop(progress.curve, completed_curves_, *experiment_.early_stopping)) {
    return "below the median of completed trials";
  }
  // The time budget is a limit, not a hint: a trial still running when it is spent stops at the
  // end of that epoch (finished trials' time plus this one's; trials running beside it are not
  // counted until they finish).
  if (experiment_.seconds > 0 && seconds_ + progress.seconds >= experiment_.seconds) {
    return "time budget spent";
  }
  return {};
}

SearchLoop::Known SearchLoop::finish_trial(std::int64_t trial_id, std::int64_t ordinal,
                                           const space::Architecture& arch,
                                           const nlohmann::json& hparams, bool observe,
                                           const trainer::TrialResult& result,
                                           const Progress& progress,
                                           const std::string& weights_path) {
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
  if (result.status == trainer::TrialStatus::kPruned) outcome.error = progress.stop_reason;
  outcome.extra = result.extra;
  if (result.status == trainer::TrialStatus::kCompleted) outcome.weights_path = weights_path;

  // A pruned trial's accuracy is of a lower fidelity: the controller is told it is not a result.
  if (observe) {
    controller_->observe(arch, result.val_accuracy,
                         result.status != trainer::TrialStatus::kCompleted);
  }
  ++observed_;
  store_.finish_trial(trial_id, outcome, snapshot(observed_));
  if (experiment_.early_stopping && result.status == trainer::TrialStatus::kCompleted) {
    completed_curves_.push_back(progress.curve);
  }
  const auto prefix = trial_prefix(ordinal, arch);
  if (result.status == trainer::TrialStatus::kFailed) {
    log::warn(prefix + " failed: " + result.error);
  } else {
    char line[200];
    std::snprintf(line, sizeof line, " %s: val acc %.4f, %lld params, %d epochs, %.1f s",
                  outcome.status.c_str(), result.val_accuracy,
                  static_cast<long long>(result.params), result.epochs, result.wall_seconds);
    log::info(prefix + std::string(line));
  }
  return {trial_id,      parts_.space->to_json(arch), hparams, outcome.status, result.val_accuracy,
          result.epochs, result.wall_seconds};
}

SearchLoop::Known SearchLoop::evaluate_and_record(std::int64_t trial_id, std::int64_t ordinal,
                                                  const space::Architecture& arch,
                                                  const nlohmann::json& hparams, bool observe) {
  Progress progress;
  const auto context = begin_trial(trial_id, ordinal, arch, hparams, progress);
  const auto result = parts_.evaluator->evaluate(arch, context);
  return finish_trial(trial_id, ordinal, arch, hparams, observe, result, progress,
                      context.weights_path);
}

void SearchLoop::account(const Known& trial, std::int64_t ordinal,
                         const std::optional<SuccessiveHalving::Step>& step) {
  if (step) halving_->record(*step, ordinal, trial.val_accuracy, trial.status == "completed");
  if (is_extension(trial.hparams)) extended_ = true;
  cost_ += static_cast<double>(trained_epochs(trial.hparams, trial.status, trial.epochs)) /
           experiment_.max_epochs();
  seconds_ += trial.wall_seconds;
}

void SearchLoop::run() {
  auto trials = store_.trials(experiment_id_);
  known_.clear();
  completed_curves_.clear();
  cost_ = 0;
  seconds_ = 0;
  extended_ = false;
  if (experiment_.fidelity) halving_.emplace(*experiment_.fidelity);
  std::int64_t finished = 0;
  for (const auto& t : trials) {
    known_.push_back({t.id, t.arch, t.hparams, t.status, t.outcome.val_accuracy, t.outcome.epochs,
                      t.outcome.wall_seconds});
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
    if (halving_ && !is_extension(t.hparams)) {
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
                                      observes(step) && !is_extension(t.hparams));
    } else if (experiment_.early_stopping && t.status == "completed") {
      completed_curves_.push_back(full_curve(t.ordinal));
    }
    account(known_[i], t.ordinal, step);
    ++finished;
  }
  std::int64_t ordinal = static_cast<std::int64_t>(trials.size());
  if (experiment_.parallel.workers > 1) run_parallel(finished, ordinal);
  while (finished < experiment_.trials) {
    auto next = plan(ordinal);
    if (!next) break;  // the cost budget is spent
    const auto& arch = next->arch;
    store::NewTrial trial{ordinal, arch.canonical(), arch.hash(), parts_.space->to_json(arch),
                          next->hparams};
    const auto id = store_.create_trial(experiment_id_, trial, snapshot(observed_), next->changes);
    known_.push_back({id, trial.arch, next->hparams, "pending", 0, 0});
    known_.back() = evaluate_and_record(id, ordinal, arch, next->hparams, next->observe);
    account(known_.back(), ordinal, next->step);
    ++ordinal;
    ++finished;
  }
  store_.set_experiment_status(experiment_id_, "completed");
}

void SearchLoop::run_parallel(std::int64_t& finished, std::int64_t& ordinal) {
  const int workers = experiment_.parallel.workers;
  struct InFlight {
    std::int64_t id = 0;
    std::int64_t ordinal = 0;
    std::optional<space::Architecture> arch;
    nlohmann::json hparams;
    bool observe = true;
    std::optional<SuccessiveHalving::Step> step;
    Progress progress;
    trainer::TrialContext context;
    trainer::TrialResult result;
    double reserved_cost = 0;
    int slot = 0;
    std::exception_ptr error;  // an evaluator that threw (not a trial's own failure)
  };
  std::vector<std::unique_ptr<InFlight>> slots(static_cast<size_t>(workers));
  std::deque<InFlight*> done;
  std::condition_variable done_changed;
  int in_flight = 0;
  bool budget_spent = false;
  // CPU workers share the cores; GPU workers each drive their own device.
  const int cpu_threads =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / workers);
  tbb::task_arena arena(workers);
  tbb::task_group group;

  std::unique_lock lock(mutex_);
  while (true) {
    // Fill every free slot while the budget allows (in-flight trials count against it).
    for (int slot = 0; slot < workers && !budget_spent; ++slot) {
      if (slots[static_cast<size_t>(slot)]) continue;
      if (finished + in_flight >= experiment_.trials) {
        budget_spent = true;
        break;
      }
      auto next = plan(ordinal);
      if (!next) {
        budget_spent = true;  // the cost budget is spent
        break;
      }
      auto job = std::make_unique<InFlight>();
      job->ordinal = ordinal;
      job->arch = next->arch;
      job->hparams = next->hparams;
      job->observe = next->observe;
      job->step = next->step;
      job->slot = slot;
      const auto& arch = *job->arch;
      store::NewTrial trial{ordinal, arch.canonical(), arch.hash(), parts_.space->to_json(arch),
                            next->hparams};
      job->id = store_.create_trial(experiment_id_, trial, snapshot(observed_), next->changes);
      known_.push_back({job->id, trial.arch, next->hparams, "pending", 0, 0});
      job->context = begin_trial(job->id, ordinal, arch, job->hparams, job->progress);
      job->context.device = experiment_.parallel.device_of(slot);
      // Reserve the planned cost so that trials in flight cannot overrun a cost budget.
      const int planned =
          trained_epochs(job->hparams, "planned",
                         job->hparams.is_object() ? job->hparams.value("epochs", default_epochs())
                                                  : default_epochs());
      job->reserved_cost = static_cast<double>(planned) / experiment_.max_epochs();
      cost_ += job->reserved_cost;
      InFlight* raw = job.get();
      slots[static_cast<size_t>(slot)] = std::move(job);
      ++in_flight;
      ++ordinal;
      arena.execute([&, raw] {
        group.run([&, raw] {
          if (raw->context.device.empty() || raw->context.device == "cpu") {
            at::set_num_threads(cpu_threads);
          }
          try {
            raw->result = parts_.evaluator->evaluate(*raw->arch, raw->context);
          } catch (...) {
            raw->error = std::current_exception();
          }
          std::lock_guard done_lock(mutex_);
          done.push_back(raw);
          done_changed.notify_all();
        });
      });
    }
    if (in_flight == 0) break;
    done_changed.wait(lock, [&] { return !done.empty(); });
    InFlight* job = done.front();
    done.pop_front();
    if (job->error) {
      // Let the other trials finish their epoch writes, then stop: they stay "running" in the
      // store and `resume` runs them again.
      lock.unlock();
      arena.execute([&] { group.wait(); });
      std::rethrow_exception(job->error);
    }
    cost_ -= job->reserved_cost;
    const auto index = static_cast<size_t>(job->ordinal);
    known_[index] = finish_trial(job->id, job->ordinal, *job->arch, job->hparams, job->observe,
                                 job->result, job->progress, job->context.weights_path);
    account(known_[index], job->ordinal, job->step);
    ++finished;
    --in_flight;
    slots[static_cast<size_t>(job->slot)].reset();
  }
  lock.unlock();
  arena.execute([&] { group.wait(); });
}

}  // namespace nasforge::search
