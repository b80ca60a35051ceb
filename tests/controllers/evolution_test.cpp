#include <algorithm>
#include <set>

#include "tests/nasforge_catch.h"

#include "controllers/evolution.h"
#include "space/nb201_space.h"
#include "toy_space.h"

namespace nasforge::controllers {
namespace {

int differing_decisions(const space::Architecture& a, const space::Architecture& b) {
  int n = 0;
  for (size_t i = 0; i < a.choices().size(); ++i) n += a.choices()[i] != b.choices()[i] ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("nb201 mutate changes exactly one decision", "[controllers]") {
  const space::Nb201Space space;
  Rng rng(7);
  for (int i = 0; i < 200; ++i) {
    const auto parent = space.random(rng);
    const auto child = space.mutate(parent, rng);
    REQUIRE(differing_decisions(parent, child) == 1);
  }
}

TEST_CASE("evolution keeps the population size and removes the oldest member", "[controllers]") {
  const space::Nb201Space space;
  EvolutionOptions options;
  options.population = 5;
  options.sample = 2;
  RegularizedEvolution evolution(space, 3, options);
  std::vector<std::string> observed;
  for (int step = 0; step < 30; ++step) {
    const auto arch = evolution.propose();
    // The first member is the best ever seen; aging must still remove it after 5 more.
    const double reward = step == 0 ? 1.0 : testing::hashed_reward(arch) * 0.9;
    evolution.observe(arch, reward, false);
    observed.push_back(arch.canonical());
    const auto& population = evolution.population();
    REQUIRE(population.size() == std::min<size_t>(observed.size(), 5));
    // The population is exactly the last P observed, oldest first.
    for (size_t i = 0; i < population.size(); ++i) {
      REQUIRE(population[i].arch.canonical() == observed[observed.size() - population.size() + i]);
    }
  }
  for (const auto& m : evolution.population()) REQUIRE(m.reward < 1.0);
}

TEST_CASE("evolution children are one mutation away from a population member", "[controllers]") {
  const space::Nb201Space space;
  EvolutionOptions options;
  options.population = 8;
  options.sample = 3;
  RegularizedEvolution evolution(space, 11, options);
  for (int step = 0; step < 60; ++step) {
    const auto population = evolution.population();
    const auto arch = evolution.propose();
    if (step >= options.population) {
      const bool one_away = std::any_of(population.begin(), population.end(), [&](const auto& m) {
        return differing_decisions(m.arch, arch) == 1;
      });
      REQUIRE(one_away);
    }
    evolution.observe(arch, testing::hashed_reward(arch), false);
  }
}

TEST_CASE("evolution with unique never proposes a cell twice", "[controllers]") {
  const space::Nb201Space space;
  RegularizedEvolution evolution(space, 5);
  std::set<std::string> seen;
  for (int step = 0; step < 150; ++step) {
    const auto arch = evolution.propose();
    REQUIRE(seen.insert(arch.canonical()).second);
    evolution.observe(arch, testing::hashed_reward(arch), false);
  }
}

TEST_CASE("evolution drops failed trials and accepts late observations", "[controllers]") {
  const space::Nb201Space space;
  EvolutionOptions options;
  options.population = 4;
  options.sample = 2;
  RegularizedEvolution evolution(space, 9, options);
  const auto a = evolution.propose();
  const auto b = evolution.propose();
  const auto c = evolution.propose();
  evolution.observe(c, 0.5, false);  // out of order
  evolution.observe(a, 0.0, true);   // failed: not a member
  evolution.observe(b, 0.7, false);
  REQUIRE(evolution.population().size() == 2);
  REQUIRE(evolution.population()[0].arch == c);
  REQUIRE(evolution.population()[1].arch == b);
}

}  // namespace nasforge::controllers
