#pragma once
// Local search, as in White, Nolen, Savani and Hutter, "Exploring the Loss Landscape in Neural
// Architecture Search", UAI 2021 (Algorithm 1; "local search is state of the art for NAS
// benchmarks"): start from a random architecture, evaluate its neighbours (every architecture one
// decision away) in a random order, move to the best of them ("best" improvement, the paper's) or
// to the first that beats the incumbent ("first", its query-saving variant), and restart from a
// random architecture at a local optimum.
//
// With trials in flight, proposals beyond the neighbourhood are random architectures; they do
// not move the search. A failed trial is never an improvement.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/rng.h"
#include "controllers/controller.h"

namespace nasforge::controllers {

struct LocalSearchOptions {
  // Random architectures evaluated at the start and at each restart; the best becomes the
  // incumbent.
  int init = 1;
  // Move to the first neighbour that beats the incumbent ("first", the default: on the
  // NAS-Bench-201 table it reaches the optimum in fewer queries), or to the best one once all are
  // evaluated ("best", the paper's Algorithm 1).
  bool first_improvement = true;
  // Never propose an architecture twice (neighbours already evaluated are skipped, random ones
  // redrawn up to kMaxAttempts times).
  bool unique = true;

  // Parses the "controller" object (its "type" key is allowed and ignored).
  static LocalSearchOptions from_json(const nlohmann::json& config, const std::string& where);
  nlohmann::json to_json() const;
};

class LocalSearch final : public Controller {
 public:
  static constexpr const char* kType = "local_search";
  static constexpr int kMaxAttempts = 100;

  LocalSearch(const space::SearchSpace& space, std::uint64_t seed, LocalSearchOptions options = {});
  // Makes one from the experiment's "controller" object (ConfigError on a bad option).
  static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
                                                 const space::SearchSpace& space,
                                                 std::uint64_t seed, const std::string& where);

  std::string type() const override { return kType; }
  space::Architecture propose() override;
  void observe(const space::Architecture& arch, double reward, bool failed) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

  struct Member {
    space::Architecture arch;
    double reward = 0;
  };
  // The architecture whose neighbourhood is being evaluated (none while sampling at random).
  const std::optional<Member>& incumbent() const { return incumbent_; }
  long moves() const { return moves_; }
  long restarts() const { return restarts_; }

 private:
  struct Pending {
    space::Architecture arch;
    long generation = 0;  // the neighbourhood it belongs to
    bool neighbour = false;
  };
  space::Architecture random_architecture();
  // Makes `m` the incumbent and queues its unvisited neighbours in a random order.
  void climb_from(Member m);
  // Moves or restarts when every neighbour of the incumbent has been proposed and observed.
  void finish_neighbourhood_if_done();

  const space::SearchSpace& space_;
  LocalSearchOptions options_;
  Rng rng_;
  std::optional<Member> incumbent_;
  std::optional<Member> best_neighbour_;     // best improving neighbour so far ("best" mode)
  std::optional<Member> best_sampled_;       // best random one of this (re)start
  int sampled_ = 0;                          // random ones observed in this (re)start
  long generation_ = 0;                      // bumped at every move and restart
  std::deque<space::Architecture> queue_;    // neighbours of the incumbent still to propose
  std::vector<Pending> pending_;             // proposed, not yet observed, in order
  std::unordered_set<std::string> visited_;  // canonical strings proposed, for `unique`
  long proposals_ = 0;
  long observations_ = 0;
  long failures_ = 0;
  long moves_ = 0;
  long restarts_ = 0;
};

}  // namespace nasforge::controllers
