#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include "common/errors.h"
#include "space/modules/nb201_network.h"

namespace nasforge::space {
namespace {

std::int64_t count_parameters(Network& network) {
  std::int64_t n = 0;
  for (const auto& p : network.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("nb201 network maps a 2x3x32x32 batch to 2x10 logits", "[space]") {
  const Nb201Space space;
  const auto arch = space.parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_"
      "1x1~2|");
  auto network = build_nb201_network(space, arch, {3, 32, 32}, 10);
  const auto out = network->forward(at::randn({2, 3, 32, 32}));
  REQUIRE(out.sizes() == at::IntArrayRef({2, 10}));
  REQUIRE(count_parameters(*network) > 0);
  REQUIRE(network->flops() > 0);
}

TEST_CASE("nb201 network cost follows the cell's operations", "[space]") {
  const Nb201Space space(
      nlohmann::json{{"type", "nb201"}, {"channels", 8}, {"cells_per_stage", 1}});
  const auto empty = space.make({0, 0, 0, 0, 0, 0});  // all "none": the cell outputs zeros
  const auto conv = space.make({3, 3, 3, 3, 3, 3});
  auto a = build_nb201_network(space, empty, {3, 16, 16}, 5);
  auto b = build_nb201_network(space, conv, {3, 16, 16}, 5);
  REQUIRE(a->forward(at::randn({2, 3, 16, 16})).sizes() == at::IntArrayRef({2, 5}));
  REQUIRE(b->forward(at::randn({2, 3, 16, 16})).sizes() == at::IntArrayRef({2, 5}));
  REQUIRE(count_parameters(*b) > count_parameters(*a));
  REQUIRE(b->flops() > a->flops());
  // Six 3x3 convolutions per cell, one cell per stage: C*C*9*H*W each.
  const std::int64_t cells = 6 * (8 * 8 * 9 * 16 * 16 + 16 * 16 * 9 * 8 * 8 + 32 * 32 * 9 * 4 * 4);
  REQUIRE(b->flops() - a->flops() == cells);
}

TEST_CASE("nb201 network rejects an input that two stride-2 stages cannot halve", "[space]") {
  const Nb201Space space;
  Rng rng(1);
  REQUIRE_THROWS_AS(build_nb201_network(space, space.random(rng), {3, 30, 30}, 10), ConfigError);
  REQUIRE_THROWS_AS(build_nb201_network(space, space.random(rng), {3, 32, 32}, 0), ConfigError);
}

}  // namespace nasforge::space
