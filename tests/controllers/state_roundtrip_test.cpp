#include <functional>
#include <memory>

#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "controllers/controller.h"
#include "space/nb201_space.h"
#include "toy_space.h"

namespace nasforge::controllers {
namespace {

// Runs `steps` propose/observe rounds and leaves `open` proposals unobserved (as a search with
// trials in flight does), so state() must carry pending proposals too.
std::vector<space::Architecture> advance(Controller& c, int steps, int open = 0) {
  std::vector<space::Architecture> pending;
  for (int i = 0; i < steps; ++i) {
    const auto arch = c.propose();
    c.observe(arch, testing::hashed_reward(arch), i % 7 == 6);
  }
  for (int i = 0; i < open; ++i) pending.push_back(c.propose());
  return pending;
}

void check_round_trip(const nlohmann::json& config, const space::SearchSpace& space) {
  auto original = make_controller(config, space, 17);
  const auto open = advance(*original, 23, 2);
  const auto bytes = nlohmann::json::to_cbor(original->state());
  auto resumed = make_controller(config, space, 999);  // another seed: the state must decide
  resumed->load_state(nlohmann::json::from_cbor(bytes));
  for (const auto& arch : open) {
    original->observe(arch, testing::hashed_reward(arch), false);
    resumed->observe(arch, testing::hashed_reward(arch), false);
  }
  for (int i = 0; i < 40; ++i) {
    const auto a = original->propose();
    const auto b = resumed->propose();
    REQUIRE(a.canonical() == b.canonical());
    original->observe(a, testing::hashed_reward(a), false);
    resumed->observe(b, testing::hashed_reward(b), false);
  }
  // The same state, except LibTorch's optimizer archive, which names parameters by address.
  auto a = original->state();
  auto b = resumed->state();
  a.erase("optimizer");
  b.erase("optimizer");
  REQUIRE(nlohmann::json::to_cbor(a) == nlohmann::json::to_cbor(b));
}

}  // namespace

TEST_CASE("random search state round-trips through CBOR", "[controllers]") {
  testing::use_one_thread();
  check_round_trip({{"type", "random"}}, space::Nb201Space());
}

TEST_CASE("evolution state round-trips through CBOR", "[controllers]") {
  testing::use_one_thread();
  check_round_trip({{"type", "evolution"}, {"population", 10}, {"sample", 4}}, space::Nb201Space());
  check_round_trip({{"type", "evolution"}, {"population", 6}, {"sample", 3}, {"crossover", 0.5}},
                   space::Nb201Space());
}

TEST_CASE("reinforce state round-trips through CBOR", "[controllers]") {
  testing::use_one_thread();
  // batch 3 and 23 steps: several policy updates (Adam state) and a part-filled buffer.
  check_round_trip({{"type", "reinforce"}, {"batch_size", 3}, {"hidden_size", 16}},
                   space::Nb201Space());
  check_round_trip({{"type", "reinforce"}, {"batch_size", 4}, {"unique", false}},
                   testing::ToySpace());
}

TEST_CASE("local search state round-trips through CBOR", "[controllers]") {
  testing::use_one_thread();
  check_round_trip({{"type", "local_search"}}, space::Nb201Space());
  check_round_trip({{"type", "local_search"}, {"move", "best"}, {"init", 3}}, space::Nb201Space());
  // The toy space is small: restarts, a neighbourhood emptied by earlier visits, repeats.
  check_round_trip({{"type", "local_search"}, {"move", "best"}}, testing::ToySpace());
  check_round_trip({{"type", "local_search"}, {"unique", false}}, testing::ToySpace());
}

TEST_CASE("predictor state round-trips through CBOR", "[controllers]") {
  testing::use_one_thread();
  // Several fits (ensemble weights in the state) and proposals between two fits.
  check_round_trip({{"type", "predictor"}, {"warmup", 5}, {"retrain_every", 3}, {"steps", 30}},
                   space::Nb201Space());
  check_round_trip({{"type", "predictor"},
                    {"warmup", 4},
                    {"retrain_every", 2},
                    {"steps", 20},
                    {"acquisition", "its"},
                    {"patience", 4},
                    {"ensemble", 3}},
                   testing::ToySpace());
}

TEST_CASE("a controller refuses the state of another type", "[controllers]") {
  testing::use_one_thread();
  const space::Nb201Space space;
  auto evolution = make_controller({{"type", "evolution"}}, space, 1);
  auto rl = make_controller({{"type", "reinforce"}}, space, 1);
  REQUIRE_THROWS_AS(rl->load_state(evolution->state()), StoreError);
  REQUIRE_THROWS_AS(evolution->load_state(rl->state()), StoreError);
  auto local = make_controller({{"type", "local_search"}}, space, 1);
  REQUIRE_THROWS_AS(local->load_state(evolution->state()), StoreError);
  REQUIRE_THROWS_AS(evolution->load_state(local->state()), StoreError);
  auto predictor = make_controller({{"type", "predictor"}}, space, 1);
  REQUIRE_THROWS_AS(predictor->load_state(local->state()), StoreError);
  REQUIRE_THROWS_AS(local->load_state(predictor->state()), StoreError);
  auto small = make_controller({{"type", "reinforce"}, {"hidden_size", 8}}, space, 1);
  REQUIRE_THROWS_AS(small->load_state(rl->state()), StoreError);
}

}  // namespace nasforge::controllers
