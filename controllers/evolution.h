#pragma once
// Regularized (aging) evolution, Real et al., "Regularized Evolution for Image Classifier
// Architecture Search", AAAI 2019: tournament selection, mutate the winner, and the oldest member
// (not the worst) leaves the population.
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "controllers/controller.h"

namespace nasforge::controllers {

struct EvolutionOptions {
  int population = 15;  // P: members kept (the oldest leaves when a child arrives)
  int sample = 10;      // S: tournament size
  double crossover =
      0.0;  // probability that a child is the crossover of two winners (then mutated)
  // Propose only cells not proposed before (up to kMaxAttempts tries), so no budget goes to
  // re-evaluating a known network.
  bool unique = true;

  // Parses the "controller" object (its "type" key is allowed and ignored).
  static EvolutionOptions from_json(const nlohmann::json& config, const std::string& where);
  nlohmann::json to_json() const;
};

class RegularizedEvolution final : public Controller {
 public:
  static constexpr const char* kType = "evolution";
  static constexpr int kMaxAttempts = 100;

  RegularizedEvolution(const space::SearchSpace& space, std::uint64_t seed,
                       EvolutionOptions options = {});
  // Makes one from the experiment's "controller" object (ConfigError on a bad option).
  static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
                                                 const space::SearchSpace& space,
                                                 std::uint64_t seed, const std::string& where);

  std::string type() const override { return kType; }
  space::Architecture propose() override;
  // A failed trial is dropped: it never enters the population.
  void observe(const space::Architecture& arch, double reward, bool failed) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  struct Member {
    space::Architecture arch;
    double reward = 0;
    long born = 0;  // observation number at which it joined (smaller is older)
  };
  const std::deque<Member>& population() const { return population_; }
  const EvolutionOptions& options() const { return options_; }

 private:
  space::Architecture candidate();
  const Member& tournament();

  const space::SearchSpace& space_;
  EvolutionOptions options_;
  Rng rng_;
  std::deque<Member> population_;             // oldest first
  std::vector<space::Architecture> pending_;  // proposed, not yet observed, in order
  std::unordered_set<std::string> proposed_;  // canonical strings, for `unique`
  long proposals_ = 0;
  long observations_ = 0;
  long failures_ = 0;
};

}  // namespace nasforge::controllers
