#include "search/trial_recorder.h"

#include <cstdio>
#include <filesystem>

#include "common/log.h"

namespace nasforge::search {

TrialRecorder::TrialRecorder(store::SqliteStore& store, std::int64_t experiment_id,
                             const Experiment& experiment, const space::SearchSpace& space,
                             controllers::Controller& controller, SearchHistory& history,
                             const std::vector<std::unique_ptr<Pruner>>& pruners,
                             std::string artifacts_dir, std::mutex& mutex)
    : store_(store),
      experiment_id_(experiment_id),
      experiment_(experiment),
      space_(space),
      controller_(controller),
      history_(history),
      pruners_(pruners),
      artifacts_dir_(std::move(artifacts_dir)),
      mutex_(mutex) {}

std::string trial_prefix(std::int64_t ordinal, const space::Architecture& arch) {
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "trial %lld [%s]", static_cast<long long>(ordinal),
                arch.hash().c_str());
  return prefix;
}

store::ControllerSnapshot TrialRecorder::snapshot() const {
  return {finished_, nlohmann::json::to_cbor(controller_.state())};
}

std::string TrialRecorder::weights_path(std::int64_t ordinal) const {
  char name[32];
  std::snprintf(name, sizeof name, "trial-%05lld.pt", static_cast<long long>(ordinal));
  return (std::filesystem::path(artifacts_dir_) / name).string();
}

std::unique_ptr<RunningTrial> TrialRecorder::create(std::int64_t ordinal, TrialPlan plan) {
  const auto& arch = plan.arch;
  store::NewTrial row{ordinal,      arch.canonical(), arch.hash(), space_.to_json(arch),
                      plan.hparams, plan.kind,        plan.parent};
  const auto id = store_.create_trial(experiment_id_, row, snapshot(), plan.changes);
  history_.add({id, row.arch, plan.hparams, plan.kind, plan.parent});
  return std::make_unique<RunningTrial>(id, ordinal, std::move(plan));
}

std::unique_ptr<RunningTrial> TrialRecorder::reopen(const TrialSummary& stored,
                                                    std::int64_t ordinal, TrialPlan plan) {
  log::info("trial " + std::to_string(ordinal) + " was interrupted; running it again");
  store_.reset_trial(stored.id);
  return std::make_unique<RunningTrial>(stored.id, ordinal, std::move(plan));
}

void TrialRecorder::start(RunningTrial& trial) {
  const auto& plan = trial.plan;
  store_.start_trial(trial.id);
  const auto prefix = trial_prefix(trial.ordinal, plan.arch);
  std::string line = prefix + " start " + plan.arch.canonical();
  if (!plan.hparams.empty()) line.append(" ").append(plan.hparams.dump());
  log::info(line);
  auto& context = trial.context;
  context.trial_id = trial.id;
  context.seed = experiment_.seed * 1000003ULL + static_cast<std::uint64_t>(trial.ordinal);
  context.hparams = plan.hparams;
  if (context.hparams.is_object()) context.hparams.erase("continue_from");  // schema v2 rows
  if (experiment_.trains()) context.weights_path = weights_path(trial.ordinal);
  context.measure_latency =
      experiment_.objective && experiment_.objective->cost == Objective::kLatencyMetric;
  if (plan.parent && plan.start_epoch > 0) {
    // The trainer sees start_epoch; which trial the weights come from is the search's business.
    context.init_weights_path = weights_path(*plan.parent);
    // The median rule compares whole curves: this one begins with its ancestors' epochs.
    trial.progress.curve = full_curve(*plan.parent);
  }
  context.on_epoch = [this, &trial, prefix](const EpochRecord& epoch) {
    return on_epoch(trial, prefix, epoch);
  };
  if (progress_) {
    context.on_batch = [progress = progress_,
                        ordinal = trial.ordinal](const trainer::BatchProgress& batch) {
      progress->batch(ordinal, batch);
    };
  }
}

bool TrialRecorder::on_epoch(RunningTrial& trial, const std::string& prefix, const EpochRecord& e) {
  std::lock_guard lock(mutex_);
  store_.append_epoch(trial.id, e);
  char line[160];
  std::snprintf(line, sizeof line, " epoch %d: train loss %.4f, val acc %.4f (%.1f s)", e.epoch,
                e.train_loss, e.val_accuracy, e.seconds);
  log::info(prefix + std::string(line));
  trial.progress.curve.push_back(e.val_accuracy);
  trial.progress.seconds += e.seconds;
  // After its last epoch a trial is complete: there is nothing left to stop.
  trial.stop_reason.clear();
  if (e.epoch >= trial.plan.epochs) return true;
  for (const auto& pruner : pruners_) {
    trial.stop_reason = pruner->reason_to_stop(trial.progress);
    if (!trial.stop_reason.empty()) break;
  }
  if (trial.stop_reason.empty()) return true;
  log::info(prefix + " " + trial.stop_reason + " at epoch " + std::to_string(e.epoch) +
            "; stopping it");
  return false;
}

void TrialRecorder::finish(RunningTrial& trial) {
  auto& result = trial.result;
  if (result.state == TrialState::kPruned) result.error = trial.stop_reason;
  result.weights_path =
      result.state == TrialState::kCompleted ? trial.context.weights_path : std::string();
  const auto& arch = trial.plan.arch;
  const auto prefix = trial_prefix(trial.ordinal, arch);
  const auto& objective = experiment_.objective;
  if (objective && result.state != TrialState::kFailed) {
    if (const auto cost = objective->cost_of(result)) {
      result.metrics[Objective::kRewardMetric] = objective->reward(result.val_accuracy, *cost);
    } else {
      // Never the best: the store ranks by the reward, and the controller learns it is not one.
      log::warn(prefix + " has no " + objective->cost + " measured; it gets no reward");
    }
  }
  // A pruned trial's accuracy is of a lower fidelity: the controller is told it is not a result.
  if (trial.plan.observe) {
    const bool scored = !objective || result.metrics.count(Objective::kRewardMetric) > 0;
    controller_.observe(arch, trial_score(objective, result),
                        result.state != TrialState::kCompleted || !scored);
  }
  ++finished_;
  store_.finish_trial(trial.id, result, snapshot());
  history_.finish(trial.ordinal, result, trial_score(objective, result));
  if (experiment_.early_stopping && result.state == TrialState::kCompleted) {
    history_.add_completed_curve(trial.progress.curve);
  }
  if (progress_) progress_->trial_finished(trial.ordinal);
  if (result.state == TrialState::kFailed) {
    log::warn(prefix + " failed: " + result.error);
    return;
  }
  char line[200];
  std::snprintf(line, sizeof line, " %s: val acc %.4f, %lld params, %d epochs, %.1f s",
                to_string(result.state).c_str(), result.val_accuracy,
                static_cast<long long>(result.params), result.epochs, result.wall_seconds);
  std::string text = prefix + line;
  if (const auto it = result.metrics.find(Objective::kRewardMetric); it != result.metrics.end()) {
    char reward[48];
    std::snprintf(reward, sizeof reward, ", reward %.4f", it->second);
    text.append(reward);
  }
  log::info(text);
}

std::vector<double> TrialRecorder::full_curve(std::int64_t ordinal) const {
  const auto& trial = history_.at(ordinal);
  std::vector<double> curve;
  const bool continued = trial.hparams.is_object() && trial.hparams.value("start_epoch", 0) > 0;
  if (trial.parent && continued) curve = full_curve(*trial.parent);
  for (const auto& e : store_.epochs(trial.id)) curve.push_back(e.val_accuracy);
  return curve;
}

}  // namespace nasforge::search
