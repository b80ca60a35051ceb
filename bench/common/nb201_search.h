#pragma once
// NAS-Bench-201 searches run as a user runs them: the real SearchLoop (planner, successive
// halving or Hyperband, cost budget) on a SQLite store in a temporary folder, each trial read
// from the table (Dong & Yang, ICLR 2020). The benchmarks read a run back as its trials in order;
// since the loop is sequential and stops at the first trial the budget cannot pay for, the
// trials that fit in a smaller cost are exactly what a search with that budget runs.
// Cost is in full trainings: a trial that trains e epochs costs e / 200 (12 epochs: 0.06).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "search/experiment.h"
#include "search/fidelity.h"
#include "search/prepared_experiment.h"
#include "search/search_loop.h"
#include "space/search_space.h"
#include "store/sqlite_store.h"
#include "trainer/nb201_table.h"

namespace nasforge::bench {

// The experiment of one seed: the NB201 space, the table evaluator on cifar10_valid (200
// epochs), a cost budget, and `fragment` ("controller", and "fidelity" for a multi-fidelity
// search) merged into it. ConfigError (naming `where`) on a bad fragment.
inline search::Experiment nb201_experiment(const std::string& name, const nlohmann::json& fragment,
                                           std::uint64_t seed, double cost,
                                           const std::string& table_path,
                                           const std::string& where) {
  nlohmann::json config = {
      {"name", name},
      {"seed", seed},
      {"budget", {{"cost", cost}}},
      {"space", {{"type", "nb201"}}},
      {"evaluator", {{"type", "nb201-table"}, {"path", table_path}, {"column", "cifar10_valid"}}}};
  config.update(fragment);
  return search::Experiment::from_json(config, where);
}

// /dev/shm where there is one (the stores are small and written often), else the temp folder.
inline std::string default_tmp_dir() {
  return std::filesystem::exists("/dev/shm") ? "/dev/shm"
                                             : std::filesystem::temp_directory_path().string();
}

// What a search had when it had spent at most `cost`: the trials run, those at full fidelity,
// what they cost, and the trial a user would take (store.best_trial's order: the most epochs,
// then the best accuracy, then the earlier trial; null when none completed).
struct Reached {
  const store::TrialRow* best = nullptr;
  double cost = 0;
  int trials = 0;
  int full_trials = 0;
};

inline Reached reached_within(const std::vector<store::TrialRow>& trials, double cost,
                              int full_epochs = 200) {
  Reached out;
  for (const auto& t : trials) {
    const double c =
        static_cast<double>(search::trained_epochs(t.hparams, t.state, t.result.epochs)) /
        full_epochs;
    if (out.cost + c > cost + 1e-9) break;
    out.cost += c;
    ++out.trials;
    out.full_trials += t.result.epochs >= full_epochs ? 1 : 0;
    if (t.state != TrialState::kCompleted) continue;
    const auto* best = out.best;
    if (!best || t.result.epochs > best->result.epochs ||
        (t.result.epochs == best->result.epochs &&
         t.result.val_accuracy > best->result.val_accuracy)) {
      out.best = &t;
    }
  }
  return out;
}

// Runs `experiment` to its budget on a store in `tmp_dir` (removed afterwards), evaluating from
// the shared table; its trials in order. Safe to call from several threads at once for different
// seeds (the store's name holds the process id, the experiment's name and its seed).
inline std::vector<store::TrialRow> run_nb201_search(
    const search::Experiment& experiment, const std::shared_ptr<const trainer::Nb201Table>& table,
    const std::string& tmp_dir) {
  namespace fs = std::filesystem;
  const auto db =
      (fs::path(tmp_dir) / ("nasforge-bench-" + std::to_string(::getpid()) + "-" + experiment.name +
                            "-" + std::to_string(experiment.seed) + ".db"))
          .string();
  auto remove_store = [&db] {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
    fs::remove_all(db + ".artifacts");
  };
  remove_store();
  std::vector<store::TrialRow> trials;
  {
    auto store = store::SqliteStore::create(db);
    const auto id = store.create_experiment(experiment.name, experiment.to_json());
    // search::prepare(experiment) would read the table again for every run; share one copy.
    search::PreparedExperiment prepared;
    prepared.space = space::make_search_space(experiment.space);
    prepared.evaluator = std::make_unique<trainer::Nb201TableEvaluator>(table, "cifar10_valid");
    search::SearchLoop loop(store, id, experiment, prepared, db + ".artifacts");
    loop.run();
    trials = store.trials(id);
    // The prefix rule must pick what the store picks for the whole run.
    const auto best = store.best_trial(id);
    const auto* chosen = reached_within(trials, experiment.budget.cost).best;
    if ((best != std::nullopt) != (chosen != nullptr) || (best && best->id != chosen->id)) {
      throw InternalError(experiment.name + ": store.best_trial disagrees with reached_within");
    }
  }
  remove_store();
  return trials;
}

}  // namespace nasforge::bench
