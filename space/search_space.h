#pragma once
// What a search space is: labelled categorical decisions, the canonical form of a choice vector,
// validation, and the random/mutate helpers the controllers use. Free of LibTorch.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/rng.h"
#include "space/architecture.h"

namespace nasforge::space {

struct Decision {
  std::string label;                 // e.g. "stage1.block"
  std::vector<std::string> choices;  // e.g. {"basic", "bottleneck", "dense"}
};

class SearchSpace {
 public:
  virtual ~SearchSpace() = default;

  virtual std::string type() const = 0;
  virtual const std::vector<Decision>& decisions() const = 0;
  // The configuration this space was made from (re-creates it through make_search_space).
  virtual nlohmann::json config() const = 0;

  // Builds a validated architecture; throws ConfigError naming the decision that is out of range.
  Architecture make(std::vector<int> choices) const;
  // {"decisions": {"stage0.block": "basic", ...}} <-> Architecture.
  nlohmann::json to_json(const Architecture& arch) const;
  Architecture from_json(const nlohmann::json& j) const;
  // Parses a canonical string back (the inverse of Architecture::canonical()).
  virtual Architecture parse(const std::string& canonical) const;

  Architecture random(Rng& rng) const;
  // Changes one decision to a different value that gives a different network.
  Architecture mutate(const Architecture& arch, Rng& rng) const;
  // Uniform crossover: each decision from one parent or the other.
  Architecture crossover(const Architecture& a, const Architecture& b, Rng& rng) const;
  // Number of distinct networks (canonical strings); capped at 2^62.
  double size() const;

 protected:
  // Sets decisions that do not affect the network to 0, so equal networks compare equal.
  virtual std::vector<int> canonicalize(std::vector<int> choices) const { return choices; }
  virtual std::string canonical_string(const std::vector<int>& choices) const = 0;
};

// Makes a space from the experiment's "space" object; `where` prefixes error messages.
std::unique_ptr<SearchSpace> make_search_space(const nlohmann::json& config,
                                               const std::string& where = "space");

}  // namespace nasforge::space
