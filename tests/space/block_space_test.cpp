#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "space/block_space.h"
#include "space/modules/network.h"

#include <ATen/ATen.h>

using namespace nasforge;
using nlohmann::json;

namespace {

json two_stage_space() {
  return json::parse(R"({"type": "blocks", "stem_width": 8, "stages": [
    {"block": ["basic", "bottleneck", "dense"], "depth": [1, 2], "width": [8, 16],
     "growth_rate": [4, 8], "kernel": [3, 5]},
    {"block": ["basic", "dense"], "depth": [1], "width": [16], "growth_rate": [4], "kernel": [3]}]})");
}

}  // namespace

TEST_CASE("block space exposes five labelled decisions per stage", "[space]") {
  space::BlockSpace space(two_stage_space());
  REQUIRE(space.decisions().size() == 10);
  CHECK(space.decisions()[0].label == "stage0.block");
  CHECK((space.decisions()[0].choices == std::vector<std::string>{"basic", "bottleneck", "dense"}));
  CHECK(space.decisions()[9].label == "stage1.kernel");
}

TEST_CASE("canonical string and hash are stable and ignore unused decisions", "[space]") {
  space::BlockSpace space(two_stage_space());
  auto a = space.make({0, 1, 1, 0, 1, 0, 0, 0, 0, 0});
  auto b = space.make({0, 1, 1, 1, 1, 0, 0, 0, 0, 0});  // growth rate differs, unused by basic
  CHECK(a.canonical() == "basic-d2-w16-k5/basic-d1-w16-k3");
  CHECK(a == b);
  CHECK(a.hash() == b.hash());
  CHECK(a.hash().size() == 16);
  CHECK(space::fnv1a64("") == 0xcbf29ce484222325ULL);  // published FNV-1a test vectors
  CHECK(space::fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  auto dense = space.make({2, 0, 0, 1, 0, 1, 0, 0, 0, 0});
  CHECK(dense.canonical() == "dense-d1-g8-w8-k3/dense-d1-g4-w16-k3");
  CHECK(dense.hash() != a.hash());
}

TEST_CASE("architectures round-trip through JSON and canonical strings", "[space]") {
  space::BlockSpace space(two_stage_space());
  Rng rng(3);
  for (int i = 0; i < 50; ++i) {
    auto arch = space.random(rng);
    CHECK(space.from_json(space.to_json(arch)) == arch);
    CHECK(space.parse(arch.canonical()) == arch);
  }
}

TEST_CASE("mutate yields a different network that differs in one decision", "[space]") {
  space::BlockSpace space(two_stage_space());
  Rng rng(11);
  for (int i = 0; i < 50; ++i) {
    auto parent = space.random(rng);
    auto child = space.mutate(parent, rng);
    CHECK_FALSE(child == parent);
    int differing = 0;
    for (size_t d = 0; d < parent.choices().size(); ++d) {
      differing += parent.choices()[d] != child.choices()[d];
    }
    CHECK(differing >= 1);
    CHECK(differing <= 2);  // at most the mutated decision plus a now-unused growth rate
  }
}

TEST_CASE("block space rejects bad configurations with the path of the problem", "[space]") {
  auto bad = two_stage_space();
  bad["stages"][1]["block"] = json::array({"basic", "resnext"});
  CHECK_THROWS_WITH(space::BlockSpace(bad),
                    Catch::Contains("space.stages[1].block[1]: unknown block type 'resnext'"));
  bad = two_stage_space();
  bad["stages"][0]["kernel"] = json::array({4});
  CHECK_THROWS_AS(space::BlockSpace(bad), ConfigError);
  bad = two_stage_space();
  bad["stages"][0]["widht"] = 3;
  CHECK_THROWS_WITH(space::BlockSpace(bad), Catch::Contains("unknown key \"widht\""));
  CHECK_THROWS_WITH(space::make_search_space(json{{"type", "cells"}}),
                    Catch::Contains("expected blocks or nb201"));
  space::BlockSpace space(two_stage_space());
  CHECK_THROWS_AS(space.make({0, 0, 0, 0, 0, 0, 0, 0, 0, 7}), ConfigError);
  CHECK_THROWS_AS(space.parse("basic-d3-w8-k3/basic-d1-w16-k3"), ConfigError);
}

TEST_CASE("block networks build, count parameters and FLOPs, and run forward", "[space]") {
  space::BlockSpace space(two_stage_space());
  Rng rng(5);
  for (int i = 0; i < 6; ++i) {
    auto arch = space.random(rng);
    auto net = space::build_network(space, arch, {1, 12, 12}, 4);
    auto out = net->forward(at::randn({2, 1, 12, 12}));
    CHECK(out.sizes() == at::IntArrayRef({2, 4}));
    CHECK(net->parameter_count() > 0);
    CHECK(net->flops() > 0);
  }
  // A basic stage of one block, counted by hand: stem 1->8 (3x3 on 12x12), two 3x3 8->8 convs,
  // then stage1 basic 8->16 stride 2 (6x6) with a projection, and the head.
  auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  auto net = space::build_network(space, arch, {1, 12, 12}, 4);
  const std::int64_t expected = 1 * 8 * 9 * 144 + 2 * 8 * 8 * 9 * 144 + 8 * 16 * 9 * 36 +
                                16 * 16 * 9 * 36 + 8 * 16 * 36 + 16 * 4;
  CHECK(net->flops() == expected);
}

TEST_CASE("a network that downsamples below one pixel is rejected", "[space]") {
  auto config = json::parse(R"({"type": "blocks", "stages": [{}, {}, {}, {}]})");
  space::BlockSpace space(config);
  Rng rng(1);
  auto arch = space.random(rng);
  CHECK_THROWS_WITH(space::build_network(space, arch, {1, 4, 4}, 10),
                    Catch::Contains("use fewer stages"));
}
