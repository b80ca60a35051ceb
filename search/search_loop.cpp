#include "search/search_loop.h"

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
      controller_(controllers::make_controller(experiment.controller, *parts.space, experiment.seed)),
      artifacts_dir_(std::move(artifacts_dir)) {
  if (const auto saved = store_.controller_state(experiment_id_)) {
    try {
      controller_->load_state(nlohmann::json::from_cbor(saved->cbor));
    } catch (const nlohmann::json::exception& e) {
      throw StoreError(store_.path() + ": controller state is corrupt (" + e.what() + ")");
    }
  }
}

store::ControllerSnapshot SearchLoop::snapshot(std::int64_t step) const {
  return {step, nlohmann::json::to_cbor(controller_->state())};
}

void SearchLoop::evaluate_and_record(std::int64_t trial_id, std::int64_t ordinal,
                                     const space::Architecture& arch) {
  store_.start_trial(trial_id);
  char prefix[96];
  std::snprintf(prefix, sizeof prefix, "trial %lld [%s]", static_cast<long long>(ordinal),
                arch.hash().c_str());
  log::info(std::string(prefix) + " start " + arch.canonical());

  trainer::TrialContext context;
  context.trial_id = trial_id;
  context.seed = experiment_.seed * 1000003ULL + static_cast<std::uint64_t>(ordinal);
  if (experiment_.trains()) {
    char name[32];
    std::snprintf(name, sizeof name, "trial-%05lld.pt", static_cast<long long>(ordinal));
    context.weights_path = (std::filesystem::path(artifacts_dir_) / name).string();
  }
  context.on_epoch = [&](const trainer::EpochRecord& e) {
    store_.append_epoch(trial_id, {e.epoch, e.train_loss, e.train_accuracy, e.val_loss,
                                   e.val_accuracy, e.learning_rate, e.seconds, e.loss_scale,
                                   e.skipped_steps});
    char line[160];
    std::snprintf(line, sizeof line, " epoch %d: train loss %.4f, val acc %.4f (%.1f s)", e.epoch,
                  e.train_loss, e.val_accuracy, e.seconds);
    log::info(prefix + std::string(line));
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
  if (result.status == trainer::TrialStatus::kCompleted) outcome.weights_path = context.weights_path;

  const bool failed = result.status == trainer::TrialStatus::kFailed;
  controller_->observe(arch, result.val_accuracy, failed);
  ++observed_;
  store_.finish_trial(trial_id, outcome, snapshot(observed_));
  char line[200];
  if (failed) {
    log::warn(std::string(prefix) + " failed: " + result.error);
  } else {
    std::snprintf(line, sizeof line, " %s: val acc %.4f, %lld params, %.1f s", outcome.status.c_str(),
                  result.val_accuracy, static_cast<long long>(result.params), result.wall_seconds);
    log::info(prefix + std::string(line));
  }
}

void SearchLoop::run() {
  auto trials = store_.trials(experiment_id_);
  std::int64_t finished = 0;
  for (const auto& t : trials) {
    if (t.status == "completed" || t.status == "failed" || t.status == "pruned") ++finished;
  }
  observed_ = finished;
  // Trials left pending or running by a crash: the controller state saved with them is the one
  // right after proposing them, so evaluating them now continues exactly.
  for (const auto& t : trials) {
    if (t.status != "pending" && t.status != "running") continue;
    log::info("trial " + std::to_string(t.ordinal) + " was interrupted; running it again");
    store_.reset_trial(t.id);
    evaluate_and_record(t.id, t.ordinal, parts_.space->from_json(t.arch));
    ++finished;
  }
  std::int64_t ordinal = static_cast<std::int64_t>(trials.size());
  while (finished < experiment_.trials) {
    const auto arch = controller_->propose();
    store::NewTrial trial{ordinal, arch.canonical(), arch.hash(), parts_.space->to_json(arch), {}};
    const auto id = store_.create_trial(experiment_id_, trial, snapshot(observed_));
    evaluate_and_record(id, ordinal, arch);
    ++ordinal;
    ++finished;
  }
  store_.set_experiment_status(experiment_id_, "completed");
}

}  // namespace nasforge::search
