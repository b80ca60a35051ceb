#include "controllers/neighbours.h"

#include <string>
#include <unordered_set>

namespace nasforge::controllers {

std::vector<space::Architecture> neighbours(const space::SearchSpace& space,
                                            const space::Architecture& arch) {
  std::vector<space::Architecture> out;
  std::unordered_set<std::string> seen = {arch.canonical()};
  const auto& decisions = space.decisions();
  for (size_t i = 0; i < decisions.size(); ++i) {
    for (int v = 0; v < static_cast<int>(decisions[i].choices.size()); ++v) {
      if (v == arch.choices()[i]) continue;
      auto choices = arch.choices();
      choices[i] = v;
      auto neighbour = space.make(std::move(choices));
      if (seen.insert(neighbour.canonical()).second) out.push_back(std::move(neighbour));
    }
  }
  return out;
}

}  // namespace nasforge::controllers
