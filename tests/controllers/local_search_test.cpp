#include <set>

#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "controllers/local_search.h"
#include "controllers/neighbours.h"
#include "space/nb201_space.h"
#include "toy_space.h"

namespace nasforge::controllers {
namespace {

int differing_decisions(const space::Architecture& a, const space::Architecture& b) {
  int n = 0;
  for (size_t i = 0; i < a.choices().size(); ++i) n += a.choices()[i] != b.choices()[i] ? 1 : 0;
  return n;
}

LocalSearchOptions best_improvement() {
  LocalSearchOptions o;
  o.first_improvement = false;
  return o;
}

}  // namespace

TEST_CASE("the neighbours of an nb201 cell are the 24 cells one edge away", "[controllers]") {
  const space::Nb201Space space;
  Rng rng(3);
  const auto arch = space.random(rng);
  const auto all = neighbours(space, arch);
  REQUIRE(all.size() == 24);  // 6 edges x 4 other operations
  std::set<std::string> distinct;
  for (const auto& n : all) {
    REQUIRE(differing_decisions(arch, n) == 1);
    distinct.insert(n.canonical());
  }
  REQUIRE(distinct.size() == 24);
}

TEST_CASE("local search evaluates the whole neighbourhood, then moves to the best neighbour",
          "[controllers]") {
  const testing::ToySpace space;
  LocalSearch search(space, 5, best_improvement());
  const auto start = search.propose();
  search.observe(start, 0.5, false);
  REQUIRE(search.incumbent().has_value());
  REQUIRE(search.incumbent()->arch == start);
  // 1 + 2 + 4 + 4 neighbours, each proposed once, in some order.
  std::set<std::string> proposed;
  space::Architecture best = start;
  double best_reward = 0.5;
  for (int i = 0; i < 11; ++i) {
    const auto n = search.propose();
    REQUIRE(differing_decisions(start, n) == 1);
    REQUIRE(proposed.insert(n.canonical()).second);
    const double reward = testing::hashed_reward(n);
    if (reward > best_reward) {
      best_reward = reward;
      best = n;
    }
    search.observe(n, reward, false);
    if (i < 10) REQUIRE(search.incumbent()->arch == start);  // no move before the last result
  }
  REQUIRE(best_reward > 0.5);  // this seed's start has better neighbours (hashed rewards)
  REQUIRE(search.incumbent()->arch == best);
  REQUIRE(search.moves() == 1);
  // The next proposals are the new incumbent's neighbours, without the ones already evaluated.
  const auto next = search.propose();
  REQUIRE(differing_decisions(best, next) == 1);
  REQUIRE_FALSE(proposed.count(next.canonical()));
}

TEST_CASE("local search restarts from a random architecture at a local optimum", "[controllers]") {
  const testing::ToySpace space;
  LocalSearch search(space, 9, best_improvement());
  const auto start = search.propose();
  search.observe(start, 1.0, false);  // nothing beats it
  for (int i = 0; i < 11; ++i) search.observe(search.propose(), 0.25, false);
  REQUIRE_FALSE(search.incumbent().has_value());
  REQUIRE(search.restarts() == 1);
  const auto restart = search.propose();
  search.observe(restart, 0.1, false);
  REQUIRE(search.incumbent()->arch == restart);
}

TEST_CASE("first-improvement local search moves as soon as a neighbour is better",
          "[controllers]") {
  const testing::ToySpace space;
  LocalSearchOptions options;
  options.first_improvement = true;
  LocalSearch search(space, 2, options);
  const auto start = search.propose();
  search.observe(start, 0.5, false);
  const auto worse = search.propose();
  search.observe(worse, 0.4, false);
  REQUIRE(search.incumbent()->arch == start);
  const auto failed = search.propose();
  search.observe(failed, 0.9, true);  // a failed trial is never an improvement
  REQUIRE(search.incumbent()->arch == start);
  const auto better = search.propose();
  search.observe(better, 0.6, false);
  REQUIRE(search.incumbent()->arch == better);
  REQUIRE(differing_decisions(better, search.propose()) == 1);
}

TEST_CASE("local search climbs to the optimum of a single-peaked reward", "[controllers]") {
  const testing::ToySpace space;
  for (bool first : {false, true}) {
    LocalSearchOptions options;
    options.first_improvement = first;
    LocalSearch search(space, 11, options);
    bool found = false;
    // fraction_of_zeros has one optimum and no other local optimum under one-decision moves.
    for (int i = 0; i < 60 && !found; ++i) {
      const auto arch = search.propose();
      search.observe(arch, testing::fraction_of_zeros(arch), false);
      found = testing::fraction_of_zeros(arch) == 1.0;
    }
    INFO("first improvement " << first);
    REQUIRE(found);
    REQUIRE(search.restarts() == 0);
  }
}

TEST_CASE("local search with trials in flight proposes each architecture once", "[controllers]") {
  testing::use_one_thread();
  const space::Nb201Space space;
  LocalSearch search(space, 4);
  std::set<std::string> proposed;
  for (int round = 0; round < 40; ++round) {
    std::vector<space::Architecture> batch;
    for (int i = 0; i < 4; ++i) {
      batch.push_back(search.propose());
      REQUIRE(proposed.insert(batch.back().canonical()).second);
    }
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      search.observe(*it, testing::hashed_reward(*it), false);
    }
  }
  REQUIRE(search.moves() > 0);
}

TEST_CASE("local search options are checked", "[controllers]") {
  REQUIRE(LocalSearchOptions::from_json({{"move", "first"}, {"init", 3}}, "c").first_improvement);
  REQUIRE_FALSE(LocalSearchOptions::from_json({{"move", "best"}}, "c").first_improvement);
  REQUIRE_THROWS_WITH(LocalSearchOptions::from_json({{"move", "steepest"}}, "c"),
                      Catch::Contains("expected best or first"));
  REQUIRE_THROWS_AS(LocalSearchOptions::from_json({{"init", 0}}, "c"), ConfigError);
  REQUIRE_THROWS_AS(LocalSearchOptions::from_json({{"restarts", 1}}, "c"), ConfigError);
}

}  // namespace nasforge::controllers
