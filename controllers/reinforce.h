#pragma once
// REINFORCE with an LSTM policy, as in Zoph & Le, "Neural Architecture Search with Reinforcement
// Learning", ICLR 2017, and Pham et al., "Efficient Neural Architecture Search via Parameter
// Sharing" (ENAS), ICML 2018: one LSTM step per decision, a softmax head per decision, the
// embedding of the sampled choice fed to the next step, logits = c * tanh(logits / T), an
// exponential-moving-average baseline and an entropy bonus.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "controllers/controller.h"

namespace nasforge::controllers {

struct ReinforceOptions {
  int hidden_size = 64;          // LSTM hidden size (and embedding size)
  double temperature = 5.0;      // T in c * tanh(logits / T)
  double tanh_constant = 2.5;    // c
  double learning_rate = 0.02;   // Adam
  double baseline_decay = 0.9;   // EMA baseline b <- decay * b + (1 - decay) * reward
  double entropy_weight = 1e-4;  // bonus on the policy's entropy
  int batch_size = 2;            // observed samples per policy update
  double failed_reward = 0.0;    // reward of a failed trial (it still teaches the policy)
  // Re-sample (up to kMaxAttempts tries) a cell that was already proposed.
  bool unique = true;

  // Parses the "controller" object (its "type" key is allowed and ignored).
  static ReinforceOptions from_json(const nlohmann::json& config, const std::string& where);
  nlohmann::json to_json() const;
};

namespace detail {
struct PolicyAndOptimizer;  // LibTorch stays out of this header
}

class Reinforce final : public Controller {
 public:
  static constexpr const char* kType = "reinforce";
  static constexpr int kMaxAttempts = 100;

  Reinforce(const space::SearchSpace& space, std::uint64_t seed, ReinforceOptions options = {});
  // Makes one from the experiment's "controller" object (ConfigError on a bad option).
  static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
                                                 const space::SearchSpace& space,
                                                 std::uint64_t seed, const std::string& where);
  ~Reinforce() override;

  std::string type() const override { return kType; }
  space::Architecture propose() override;
  void observe(const space::Architecture& arch, double reward, bool failed) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  long updates() const { return updates_; }
  double baseline() const { return baseline_; }

 private:
  struct Sample {
    std::vector<int> choices;  // as sampled (before the space canonicalises them)
    double reward = 0;
  };
  struct Pending {
    std::string canonical;
    std::vector<int> choices;
  };
  void update();

  const space::SearchSpace& space_;
  ReinforceOptions options_;
  Rng rng_;
  std::unique_ptr<detail::PolicyAndOptimizer> policy_;
  std::vector<Pending> pending_;
  std::vector<Sample> buffer_;
  std::unordered_set<std::string> proposed_;
  double baseline_ = 0;
  bool has_baseline_ = false;
  long proposals_ = 0;
  long observations_ = 0;
  long updates_ = 0;
};

}  // namespace nasforge::controllers
