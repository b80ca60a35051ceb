#pragma once
// The experiment file: what to search (space), how (controller), how long (budget), and how each
// candidate is evaluated (trained on a dataset, or looked up in the NAS-Bench-201 table).
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "search/early_stopping.h"
#include "search/fidelity.h"
#include "search/objective.h"
#include "search/parallel_options.h"
#include "search/pbt.h"
#include "trainer/dataset.h"
#include "trainer/train_config.h"

namespace nasforge::search {

// budget.trials when the file gives only a cost budget.
inline constexpr int kNoTrialLimit = 1'000'000;

// The experiment's "budget": when the search ends (whichever limit is reached first).
struct BudgetLimits {
  int trials = 10;     // finished trials
  double cost = 0;     // full-training equivalents; 0: none
  double seconds = 0;  // evaluation wall-clock seconds (sum over trials); 0: none
};

struct Experiment {
  std::string name;
  std::uint64_t seed = 0;
  BudgetLimits budget;
  nlohmann::json space;                // validated by make_search_space
  nlohmann::json controller;           // validated by make_controller
  nlohmann::json evaluator;            // {"type": "train"} or {"type": "nb201-table", ...}
  trainer::DatasetSpec dataset;        // when training
  trainer::TrainConfig training;       // when training
  std::optional<PbtOptions> adaptive;  // "adaptive": hyperparameters per trial
  std::optional<EarlyStoppingOptions> early_stopping;  // "early_stopping": prune bad curves
  std::optional<FidelityOptions> fidelity;             // "fidelity": successive halving/Hyperband
  ParallelOptions parallel;                            // "parallel": trials side by side
  std::optional<Objective> objective;  // "objective": accuracy against cost (MnasNet's reward)

  bool trains() const { return evaluator.value("type", "train") == "train"; }
  // Epochs of a full-fidelity evaluation: the last rung, else the training epochs (200 on the
  // NAS-Bench-201 table). A trial that trains e epochs costs e / max_epochs().
  int max_epochs() const;
  // Epochs a trial trains when its hyperparameters do not say: the training epochs, or the
  // fidelity of the NAS-Bench-201 column read.
  int default_epochs() const;

  // Parses and validates everything (space, controller, evaluator); `where` names the file.
  static Experiment from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// Reads an experiment file; relative dataset and table paths are resolved against the file's
// folder (not the working directory), and stored absolute so `resume` works from anywhere.
Experiment load_experiment_file(const std::string& path);

}  // namespace nasforge::search
