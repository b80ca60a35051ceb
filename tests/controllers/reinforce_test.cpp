#include "tests/nasforge_catch.h"

#include "controllers/reinforce.h"
#include "toy_space.h"

namespace nasforge::controllers {
namespace {

double mean_reward(Reinforce& rl, int samples, bool learn) {
  double total = 0;
  for (int i = 0; i < samples; ++i) {
    const auto arch = rl.propose();
    const double reward = testing::fraction_of_zeros(arch);
    total += reward;
    if (learn) rl.observe(arch, reward, false);
  }
  return total / samples;
}

}  // namespace

TEST_CASE("reinforce policy learns a toy reward", "[controllers]") {
  testing::use_one_thread();
  const testing::ToySpace space;
  ReinforceOptions options;
  options.unique = false;  // the toy space is small; let the policy repeat its favourite
  Reinforce untrained(space, 1, options);
  const double before = mean_reward(untrained, 200, false);
  Reinforce rl(space, 1, options);
  mean_reward(rl, 300, true);
  const double after = mean_reward(rl, 100, true);
  INFO("mean reward before " << before << ", after " << after);
  REQUIRE(before < 0.45);  // uniform: (1/2 + 1/3 + 1/5 + 1/5) / 4 = 0.31
  REQUIRE(after > 0.8);
  REQUIRE(rl.updates() == 200);  // batch_size 2
}

TEST_CASE("reinforce is deterministic for a seed", "[controllers]") {
  testing::use_one_thread();
  const testing::ToySpace space;
  Reinforce a(space, 42);
  Reinforce b(space, 42);
  for (int i = 0; i < 20; ++i) {
    const auto x = a.propose();
    const auto y = b.propose();
    REQUIRE(x == y);
    a.observe(x, testing::hashed_reward(x), false);
    b.observe(y, testing::hashed_reward(y), false);
  }
}

TEST_CASE("reinforce treats a failed trial as failed_reward", "[controllers]") {
  testing::use_one_thread();
  const testing::ToySpace space;
  ReinforceOptions options;
  options.batch_size = 1;
  options.failed_reward = 0.0;
  Reinforce rl(space, 3, options);
  const auto arch = rl.propose();
  rl.observe(arch, 123.0, true);  // the reported reward of a failed trial is ignored
  REQUIRE(rl.updates() == 1);
  REQUIRE(rl.baseline() == Approx(0.0));
}

}  // namespace nasforge::controllers
