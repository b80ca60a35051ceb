#pragma once
// A tiny search space for controller tests: decisions with 2, 3 and 5 choices (different counts
// on purpose), and a deterministic reward.
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "space/architecture.h"
#include "space/search_space.h"

namespace nasforge::testing {

class ToySpace final : public space::SearchSpace {
 public:
  ToySpace() {
    decisions_ = {{"a", {"a0", "a1"}},
                  {"b", {"b0", "b1", "b2"}},
                  {"c", {"c0", "c1", "c2", "c3", "c4"}},
                  {"d", {"d0", "d1", "d2", "d3", "d4"}}};
  }
  std::string type() const override { return "toy"; }
  const std::vector<space::Decision>& decisions() const override { return decisions_; }
  nlohmann::json config() const override { return {{"type", "toy"}}; }

 protected:
  std::string canonical_string(const std::vector<int>& choices) const override {
    std::string out;
    for (int c : choices) out += std::to_string(c) + ".";
    return out;
  }

 private:
  std::vector<space::Decision> decisions_;
};

// Fraction of decisions that took their first choice: a reward a policy can learn.
inline double fraction_of_zeros(const space::Architecture& arch) {
  double zeros = 0;
  for (int c : arch.choices()) zeros += c == 0 ? 1 : 0;
  return zeros / static_cast<double>(arch.choices().size());
}

// A fixed pseudo-random reward in [0, 1) per network.
inline double hashed_reward(const space::Architecture& arch) {
  return static_cast<double>(space::fnv1a64(arch.canonical()) % 1000) / 1000.0;
}

// The LSTM policy's tensors are tiny: OpenMP worker threads only spin, and on a busy machine
// that spinning makes a sub-second test take minutes.
inline void use_one_thread() { at::set_num_threads(1); }

}  // namespace nasforge::testing
