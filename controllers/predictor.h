#pragma once
// Predictor-guided search after BANANAS (White, Neiswanger and Savani, "BANANAS: Bayesian
// Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021): an ensemble
// of small MLPs learns the reward from a one-hot encoding of the decisions; each proposal scores
// candidates made around the best architectures so far (their neighbours and a few two-decision
// mutations; the parents kept apart, and taken only from results since the last restart, which
// comes when the best has not improved for `patience` results, as local search restarts) and a
// few random ones, and takes the best under an acquisition function (expected
// improvement under a normal with the ensemble's mean and spread by default; BANANAS's independent
// Thompson sampling; or the ensemble mean). Proposals are random until `warmup` results are in;
// the ensemble is refitted from fresh weights (and a fresh Adam) every `retrain_every` results, so
// its weights are the only training state to keep. Never proposes an architecture twice.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "controllers/controller.h"

namespace nasforge::controllers {

struct PredictorOptions {
  enum class Acquisition { kThompson, kExpectedImprovement, kMean };

  int warmup = 10;        // random proposals until this many successful results
  int retrain_every = 5;  // results between two fits of the ensemble
  int ensemble = 5;       // members
  int hidden_size = 32;   // width of each hidden layer
  int layers = 2;         // hidden layers
  int steps = 100;        // full-batch Adam steps per fit
  double learning_rate = 0.02;
  int parents = 10;            // candidates are made around the best `parents` results
  int mutations = 50;          // two-decision mutations of the parents among the candidates
  int random_candidates = 10;  // random architectures among the candidates
  // Rewards below this quantile of the results are raised to it before a fit, so that the few
  // networks that do not train (about 10% accuracy on NAS-Bench-201) do not dominate the squared
  // error; what matters is the order among the good ones.
  double floor_quantile = 0.1;
  // Parents are at least this many decisions apart (1: the best `parents`, however close).
  // (2 spreads the parents over more than one basin; measured on NAS-Bench-201.)
  int parent_distance = 2;
  // When the best result since the last restart is this many results old, restart: parents come
  // only from results after that point (the first candidates are then random ones, still ranked
  // by the predictor, which keeps everything it learnt). 0: never.
  int patience = 20;
  Acquisition acquisition = Acquisition::kExpectedImprovement;

  // Parses the "controller" object (its "type" key is allowed and ignored).
  static PredictorOptions from_json(const nlohmann::json& config, const std::string& where);
  nlohmann::json to_json() const;
};

namespace detail {
struct Predictor;  // LibTorch stays out of this header
}

class PredictorSearch final : public Controller {
 public:
  static constexpr const char* kType = "predictor";
  static constexpr int kMaxAttempts = 100;

  PredictorSearch(const space::SearchSpace& space, std::uint64_t seed,
                  PredictorOptions options = {});
  // Makes one from the experiment's "controller" object (ConfigError on a bad option).
  static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
                                                 const space::SearchSpace& space,
                                                 std::uint64_t seed, const std::string& where);
  ~PredictorSearch() override;

  std::string type() const override { return kType; }
  space::Architecture propose() override;
  // A failed trial is not learnt from (it is never proposed again).
  void observe(const space::Architecture& arch, double reward, bool failed) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  long fits() const { return fits_; }
  long restarts() const { return restarts_; }
  // The ensemble's mean prediction of the reward of each architecture (after at least one fit).
  std::vector<double> predict(const std::vector<space::Architecture>& archs) const;

 private:
  struct Result {
    space::Architecture arch;
    double reward = 0;
    bool failed = false;
  };
  space::Architecture random_unvisited();
  std::vector<space::Architecture> candidates();
  void fit();

  const space::SearchSpace& space_;
  PredictorOptions options_;
  Rng rng_;
  std::unique_ptr<detail::Predictor> predictor_;
  std::vector<Result> results_;              // in observation order
  std::unordered_set<std::string> visited_;  // canonical strings proposed
  bool trained_ = false;
  long trained_on_ = 0;     // results_.size() at the last fit
  double reward_mean_ = 0;  // the standardisation of the rewards at the last fit
  double reward_std_ = 1;
  long proposals_ = 0;
  long fits_ = 0;
  long restart_at_ = 0;  // parents come from results_[restart_at_...]
  long restarts_ = 0;
};

}  // namespace nasforge::controllers
