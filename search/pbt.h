#pragma once
// Adaptive hyperparameters between trials, after population-based training's exploit/explore
// (Jaderberg et al., "Population Based Training of Neural Networks", 2017): a new trial copies the
// hyperparameters of a top-quantile finished trial (exploit) and perturbs each one (explore), or
// samples fresh ones while fewer than `warmup_trials` have finished. Pure: the caller passes the
// finished trials and an RNG, so the result is a function of the store's rows and the seed.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/rng.h"

namespace nasforge::search {

struct HparamSpec {
  std::string name;  // learning_rate, weight_decay, momentum or batch_size
  // A range [min, max] (log-uniform when `log`), or a list of choices (ordered; explore moves to a
  // neighbour).
  double min = 0;
  double max = 0;
  bool log = false;
  std::vector<nlohmann::json> choices;
  bool integer = false;  // batch_size

  nlohmann::json to_json() const;
};

struct PbtOptions {
  std::vector<HparamSpec> hparams;  // sorted by name
  int warmup_trials = 4;
  std::vector<double> perturb = {0.8, 1.25};
  double quantile = 0.25;  // exploit from the top quarter

  static PbtOptions from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

struct PbtMember {
  std::int64_t ordinal = 0;
  double score = 0;  // validation accuracy, at one fidelity for all members
  nlohmann::json hparams;
};

struct PbtChoice {
  nlohmann::json hparams = nlohmann::json::object();
  // One per hyperparameter: {name, value, reason}.
  struct Change {
    std::string name;
    double value = 0;
    std::string reason;
  };
  std::vector<Change> changes;
};

PbtChoice pbt_choose(const PbtOptions& options, const std::vector<PbtMember>& finished, Rng& rng);

}  // namespace nasforge::search
