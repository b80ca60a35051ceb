#include "tests/nasforge_catch.h"

#include "common/errors.h"
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

TEST_CASE("reinforce reads hidden_size and refuses the old name hidden, naming the new one",
          "[controllers]") {
  REQUIRE(ReinforceOptions::from_json({{"type", "reinforce"}}, "controller").hidden_size == 64);
  REQUIRE(ReinforceOptions::from_json({{"type", "reinforce"}, {"hidden_size", 16}}, "controller")
              .hidden_size == 16);
  try {
    ReinforceOptions::from_json({{"type", "reinforce"}, {"hidden", 32}}, "controller");
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    REQUIRE_THAT(message, Catch::Contains("controller.hidden:"));
    REQUIRE_THAT(message, Catch::Contains("\"hidden_size\": 32"));
  }
}

TEST_CASE("reinforce loads a version 1 state, which stored hidden_size as hidden",
          "[controllers]") {
  testing::use_one_thread();
  const testing::ToySpace space;
  ReinforceOptions options;
  options.hidden_size = 16;
  options.unique = false;
  Reinforce original(space, 7, options);
  mean_reward(original, 9, true);
  auto state = original.state();
  REQUIRE(state.at("version") == 2);
  state["version"] = 1;
  state["options"]["hidden"] = state["options"]["hidden_size"];
  state["options"].erase("hidden_size");

  Reinforce resumed(space, 99, options);
  resumed.load_state(state);
  for (int i = 0; i < 10; ++i) REQUIRE(original.propose() == resumed.propose());

  options.hidden_size = 8;
  Reinforce narrower(space, 7, options);
  REQUIRE_THROWS_AS(narrower.load_state(state), StoreError);
}

}  // namespace nasforge::controllers
