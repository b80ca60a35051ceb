#pragma once
// The searches the report tests draw: NAS-Bench-201 table searches run in process (a second
// each), and a blocks-space search written through the store's API the way the search loop
// writes one (real controller, architectures and store; made-up accuracies and costs), with a
// promotion, hyperparameter changes, pruned, failed, running and pending trials.
#include <cmath>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "controllers/controller.h"
#include "search/experiment.h"
#include "search/search_loop.h"
#include "space/block_space.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

namespace nasforge::testing {

inline nlohmann::json nb201_search(const nlohmann::json& controller, int trials) {
  return nb201_table_search("nb201-report", 11, controller, trials);
}

// Runs the experiment to its budget in a new database at `db`.
inline void run_in_process(const std::string& db, const nlohmann::json& config) {
  log::set_level(log::Level::kWarn);
  const auto experiment = search::Experiment::from_json(config, "test");
  auto store = store::SqliteStore::create(db);
  store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  search::SearchLoop loop(store, store.experiment().id, experiment, prepared, db + ".artifacts");
  loop.run();
}

inline nlohmann::json synthetic_blocks_config() {
  return nlohmann::json::parse(R"({
    "name": "synthetic-blocks",
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic", "bottleneck", "dense"], "depth": [1, 2, 3], "width": [8, 16, 32],
       "growth_rate": [4, 8], "kernel": [3, 5]},
      {"block": ["basic", "dense"], "depth": [1, 2], "width": [16, 32, 64], "growth_rate": [4, 8],
       "kernel": [3]}]},
    "controller": {"type": "evolution", "population": 5, "sample": 2},
    "evaluator": {"type": "train"}})");
}

// 14 proposed trials (4 epochs each; 3 and 7 pruned after 2, 5 failed after 1), a promotion of
// the best to 6 epochs, one running trial with 2 epochs and one pending. Accuracy grows with the
// network's size, so the Pareto front is not trivial.
inline constexpr std::int64_t kProposed = 14;

inline void write_synthetic_search(const std::string& db) {
  const auto config = synthetic_blocks_config();
  const space::BlockSpace space(config.at("space"));
  auto controller = controllers::make_controller(config.at("controller"), space, 3);
  auto store = store::SqliteStore::create(db);
  const auto experiment = store.create_experiment(config.at("name").get<std::string>(), config);
  auto snapshot = [&](std::int64_t step) {
    return store::ControllerSnapshot{step, nlohmann::json::to_cbor(controller->state())};
  };
  auto size_of = [&](const space::Architecture& arch) {
    double size = 0;
    for (const auto& s : space.stages(arch)) size += s.depth * s.width * s.kernel * s.kernel;
    return size;
  };
  auto add = [&](std::int64_t ordinal, const space::Architecture& arch,
                 const nlohmann::json& hparams, const std::vector<store::HparamChange>& changes,
                 TrialKind kind = TrialKind::kNew,
                 std::optional<std::int64_t> parent = std::nullopt) {
    store::NewTrial row;
    row.ordinal = ordinal;
    row.arch_canonical = arch.canonical();
    row.arch_hash = arch.hash();
    row.arch = space.to_json(arch);
    row.hparams = hparams;
    row.kind = kind;
    row.parent = parent;
    return store.create_trial(experiment, row, snapshot(ordinal), changes);
  };
  auto train = [&](std::int64_t id, double final, int epochs) {
    for (int e = 1; e <= epochs; ++e) {
      EpochRecord record;
      record.epoch = e;
      record.val_accuracy = record.train_accuracy = final * (1 - 0.5 * std::exp(-0.9 * e));
      record.train_loss = 1.5 / e;
      record.val_loss = 1.4 / e;
      record.learning_rate = 0.05;
      record.seconds = 0.5;
      store.append_epoch(id, record);
    }
  };
  double best = -1;
  std::int64_t best_ordinal = 0;
  for (std::int64_t ordinal = 0; ordinal < kProposed; ++ordinal) {
    const auto arch = controller->propose();
    const double lr = 0.05 * std::pow(1.25, static_cast<double>(ordinal % 4) - 1.5);
    const auto reason = ordinal < 4
                            ? std::string("sample: warmup")
                            : "explore: x1.25 of trial " + std::to_string(ordinal - 4) + "'s";
    const auto id =
        add(ordinal, arch, {{"learning_rate", lr}}, {{0, 0, "learning_rate", lr, reason}});
    store.start_trial(id);
    const double size = size_of(arch);
    const double final = 0.6 + 0.3 * (1 - std::exp(-size / 3000)) + 0.01 * (ordinal % 3);
    TrialResult result;
    result.params = static_cast<std::int64_t>(size * 40);
    result.flops = static_cast<std::int64_t>(size * 40 * (ordinal % 2 ? 90 : 140));
    result.wall_seconds = 1 + 0.1 * static_cast<double>(ordinal);
    if (ordinal == 5) {
      train(id, final, 1);
      result.state = TrialState::kFailed;
      result.epochs = 1;
      result.error = "training diverged (loss is NaN)";
    } else {
      const bool pruned = ordinal == 3 || ordinal == 7;
      result.epochs = pruned ? 2 : 4;
      train(id, final, result.epochs);
      result.state = pruned ? TrialState::kPruned : TrialState::kCompleted;
      result.val_accuracy = store.epochs(id).back().val_accuracy;
      if (!pruned && result.val_accuracy > best) best = result.val_accuracy, best_ordinal = ordinal;
    }
    controller->observe(arch, result.val_accuracy, result.state == TrialState::kFailed);
    store.finish_trial(id, result, snapshot(ordinal + 1));
  }
  // The best, promoted to 6 epochs.
  const auto best_row = store.trials(experiment).at(static_cast<std::size_t>(best_ordinal));
  const auto best_arch = space.parse(best_row.arch_canonical);
  const auto promoted = add(kProposed, best_arch, {{"epochs", 6}},
                            {{0, 0, "epochs", 6, "promote: rank 1 of 11 at 4 epochs"}},
                            TrialKind::kPromotion, best_ordinal);
  store.start_trial(promoted);
  train(promoted, best + 0.02, 6);
  TrialResult result;
  result.state = TrialState::kCompleted;
  result.epochs = 6;
  result.val_accuracy = store.epochs(promoted).back().val_accuracy;
  result.params = best_row.result.params;
  result.flops = best_row.result.flops;
  store.finish_trial(promoted, result, snapshot(kProposed + 1));
  // One running with two epochs so far, one waiting.
  const auto running = add(kProposed + 1, controller->propose(), nlohmann::json::object(), {});
  store.start_trial(running);
  train(running, 0.8, 2);
  add(kProposed + 2, controller->propose(), nlohmann::json::object(), {});
}

}  // namespace nasforge::testing
