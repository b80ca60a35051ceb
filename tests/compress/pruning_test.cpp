// Structured pruning: the cost of a pruned network, the plan against its target, and the copied
// weights (a pruned network computes what the original computes with the removed channels
// silenced; with nothing removed, exactly what the original computes).
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include "common/errors.h"
#include "compress/pruning.h"
#include "tests/compress/tiny_network.h"

using namespace nasforge;
using namespace nasforge::testing;
using compress::PruneTarget;
using compress::Ranking;
using space::BlockWidths;

namespace {

// Parameters and multiply-adds of the tiny network, layer by layer, for basic inner width m,
// bottleneck inner widths b1, b2 and dense growths g0, g1 (written out here, apart from both
// the network's builder and compress::block_network_cost).
compress::NetworkCost hand_count(std::int64_t m, std::int64_t b1, std::int64_t b2, std::int64_t g0,
                                 std::int64_t g1) {
  compress::NetworkCost c;
  // stem: 1 -> 4, 3x3, at 12x12
  c.params += 1 * 4 * 9 + 2 * 4;
  c.flops += 1 * 4 * 9 * 144;
  // stage 0, basic 4 -> 8 at 12x12: conv1 4->m, conv2 m->8, projection 4->8 (1x1)
  c.params += 4 * m * 9 + 2 * m + m * 8 * 9 + 2 * 8 + 4 * 8 + 2 * 8;
  c.flops += (4 * m * 9 + m * 8 * 9 + 4 * 8) * 144;
  // stage 1, bottleneck 8 -> 16, stride 2 (12 -> 6): conv1 1x1 at 12x12, the rest at 6x6
  c.params += 8 * b1 + 2 * b1 + b1 * b2 * 9 + 2 * b2 + b2 * 16 + 2 * 16 + 8 * 16 + 2 * 16;
  c.flops += 8 * b1 * 144 + (b1 * b2 * 9 + b2 * 16 + 8 * 16) * 36;
  // stage 2, dense from 16 channels at 3x3 (pooled): bn0(16) conv0 16->g0, bn1(16+g0)
  // conv1 (16+g0)->g1, transition (16+g0+g1)->8 with its BatchNorm
  c.params +=
      2 * 16 + 16 * g0 * 9 + 2 * (16 + g0) + (16 + g0) * g1 * 9 + (16 + g0 + g1) * 8 + 2 * 8;
  c.flops += (16 * g0 * 9 + (16 + g0) * g1 * 9 + (16 + g0 + g1) * 8) * 9;
  // head: 8 -> 4
  c.params += 8 * 4 + 4;
  c.flops += 8 * 4;
  return c;
}

BlockWidths widths_of(int m, int b1, int b2, int g0, int g1) {
  BlockWidths w;
  w.stages = {{{m}}, {{b1, b2}}, {{g0}, {g1}}};
  return w;
}

// The original with the channels the plan removes silenced: a removed inner channel of a
// residual block gets BatchNorm scale and shift 0 (so ReLU gives 0 and the next conv ignores
// it); a removed dense channel gets a zero filter and scale and shift 0 in every later
// BatchNorm that reads it (the transition then reads zeros).
void silence_removed(space::Network& net, const compress::PrunePlan& plan) {
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> t;
  for (auto& item : net.named_parameters(true)) t[item.key()] = item.value();
  const auto groups = compress::channel_groups(plan.original);
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& grp = groups[g];
    const int width = plan.original.stages[grp.stage][grp.unit][grp.slot];
    for (int c = 0; c < width; ++c) {
      const auto& kept = plan.kept[g];
      if (std::find(kept.begin(), kept.end(), c) != kept.end()) continue;
      if (grp.stage < 2) {
        const auto bn =
            "stage" + std::to_string(grp.stage) + "_block0.bn" + std::to_string(grp.slot + 1);
        t.at(bn + ".weight")[c] = 0;
        t.at(bn + ".bias")[c] = 0;
        continue;
      }
      t.at("stage2.conv" + std::to_string(grp.unit) + ".weight")[c].zero_();
      const int offset = 16 + (grp.unit == 1 ? plan.original.stages[2][0][0] : 0);
      for (int j = grp.unit + 1; j < 2; ++j) {
        t.at("stage2.bn" + std::to_string(j) + ".weight")[offset + c] = 0;
        t.at("stage2.bn" + std::to_string(j) + ".bias")[offset + c] = 0;
      }
    }
  }
}

}  // namespace

TEST_CASE("the cost of a block network of given inner widths is that of its layers", "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto defaults = BlockWidths::defaults(space, arch);
  CHECK(defaults == widths_of(8, 4, 4, 4, 4));
  for (const auto& [m, b1, b2, g0, g1] :
       std::vector<std::tuple<int, int, int, int, int>>{{8, 4, 4, 4, 4}, {3, 2, 1, 1, 3}}) {
    const auto widths = widths_of(m, b1, b2, g0, g1);
    const auto expected = hand_count(m, b1, b2, g0, g1);
    const auto counted = compress::block_network_cost(space, arch, widths, kShape, kClasses);
    CHECK(counted.params == expected.params);
    CHECK(counted.flops == expected.flops);
    const auto net = space::build_block_network(space, arch, widths, kShape, kClasses);
    CHECK(net->parameter_count() == expected.params);
    CHECK(net->flops() == expected.flops);
  }
}

TEST_CASE("pruning nothing gives the same network and the same outputs", "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto original = tiny_network(space, arch);
  const auto widths = BlockWidths::defaults(space, arch);
  const auto scores = compress::rank_channels(*original, space, arch, widths, Ranking::kL1);
  const auto plan = compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.0,
                                           PruneTarget::kFlops);
  CHECK(plan.pruned == widths);
  CHECK(plan.removed_channels == 0);
  const auto pruned = compress::apply_pruning(*original, space, arch, plan, kShape, kClasses);
  CHECK(pruned->parameter_count() == original->parameter_count());
  const auto x = at::randn({5, 1, 12, 12});
  at::NoGradGuard no_grad;
  CHECK(at::equal(pruned->forward(x), original->forward(x)));
}

TEST_CASE("pruning half the FLOPs removes whole channels and meets the target", "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto original = tiny_network(space, arch);
  const auto widths = BlockWidths::defaults(space, arch);
  for (const auto ranking : {Ranking::kL1, Ranking::kBatchNorm}) {
    for (const auto target : {PruneTarget::kFlops, PruneTarget::kParams}) {
      const auto scores = compress::rank_channels(*original, space, arch, widths, ranking);
      const auto plan =
          compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.5, target);
      const auto& w = plan.pruned.stages;
      const auto expected = hand_count(w[0][0][0], w[1][0][0], w[1][0][1], w[2][0][0], w[2][1][0]);
      CHECK(plan.after.params == expected.params);
      CHECK(plan.after.flops == expected.flops);
      const auto measure = [&](const compress::NetworkCost& c) {
        return target == PruneTarget::kFlops ? c.flops : c.params;
      };
      CHECK(measure(plan.after) <= 0.5 * static_cast<double>(measure(plan.before)));
      CHECK(plan.removed_channels > 0);
      const auto pruned = compress::apply_pruning(*original, space, arch, plan, kShape, kClasses);
      CHECK(pruned->parameter_count() == expected.params);
      CHECK(pruned->flops() == expected.flops);
      CHECK(pruned->parameter_count() < original->parameter_count());
      // The tensors shrink along the pruned dimensions.
      std::map<std::string, at::Tensor> t;
      for (auto& item : pruned->named_parameters(true)) t[item.key()] = item.value();
      CHECK(t.at("stage0_block0.conv1.weight").size(0) == w[0][0][0]);
      CHECK(t.at("stage0_block0.bn1.weight").size(0) == w[0][0][0]);
      CHECK(t.at("stage0_block0.conv2.weight").size(1) == w[0][0][0]);
      CHECK(t.at("stage1_block0.conv2.weight").sizes() ==
            at::IntArrayRef({w[1][0][1], w[1][0][0], 3, 3}));
      CHECK(t.at("stage1_block0.conv3.weight").size(1) == w[1][0][1]);
      CHECK(t.at("stage2.conv1.weight").sizes() ==
            at::IntArrayRef({w[2][1][0], 16 + w[2][0][0], 3, 3}));
      CHECK(t.at("stage2.transition.weight").size(1) == 16 + w[2][0][0] + w[2][1][0]);
      std::int64_t width_sum = 0, original_sum = 0;
      for (size_t g = 0; g < plan.kept.size(); ++g) width_sum += plan.kept[g].size();
      for (const auto& stage : widths.stages)
        for (const auto& unit : stage)
          for (const int v : unit) original_sum += v;
      CHECK(original_sum - width_sum == plan.removed_channels);
    }
  }
}

TEST_CASE("a pruned network computes what the original does with the removed channels silenced",
          "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto original = tiny_network(space, arch, 11);
  const auto widths = BlockWidths::defaults(space, arch);
  const auto scores = compress::rank_channels(*original, space, arch, widths, Ranking::kL1);
  const auto plan = compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.4,
                                           PruneTarget::kFlops);
  REQUIRE(plan.removed_channels > 0);
  const auto pruned = compress::apply_pruning(*original, space, arch, plan, kShape, kClasses);
  silence_removed(*original, plan);
  const auto x = at::randn({6, 1, 12, 12});
  at::NoGradGuard no_grad;
  const auto expected = original->forward(x);
  const auto got = pruned->forward(x);
  CHECK(at::allclose(got, expected, 1e-4, 1e-5));
}

TEST_CASE("BatchNorm ranking removes the channels with the smallest scales first", "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto original = tiny_network(space, arch);
  {
    at::NoGradGuard no_grad;
    for (auto& item : original->named_parameters(true)) {
      if (item.key() == "stage0_block0.bn1.weight") item.value()[5] = 1e-4;
      if (item.key() == "stage2.bn1.weight") item.value()[16 + 2] = 2e-4;  // dense layer 0's ch 2
    }
  }
  const auto widths = BlockWidths::defaults(space, arch);
  const auto scores = compress::rank_channels(*original, space, arch, widths, Ranking::kBatchNorm);
  CHECK(scores[0][5] == Approx(1e-4));
  CHECK(scores[3][2] == Approx(2e-4));
  // The smallest possible cut: one channel (the lowest scale) is enough for 0.1% of the FLOPs.
  const auto plan = compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.001,
                                           PruneTarget::kFlops);
  CHECK(plan.removed_channels == 1);
  CHECK(plan.pruned.stages[0][0][0] == 7);
  CHECK(std::find(plan.kept[0].begin(), plan.kept[0].end(), 5) == plan.kept[0].end());
  // The scales the sparsity penalty acts on: the BatchNorms that rank (none for dense layer 1).
  const auto scales = compress::ranked_batchnorm_scales(*original, space, arch, widths);
  REQUIRE(scales.size() == 4);
  CHECK(scales[0].size(0) == 8);
  CHECK(scales[3].size(0) == 4);
  CHECK(scales[3][2].item<float>() == Approx(2e-4));
  CHECK(scales[3].requires_grad());
}

TEST_CASE(
    "a target the prunable channels cannot reach, or a ratio below 0 or from 1 up, is refused",
    "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto original = tiny_network(space, arch);
  const auto widths = BlockWidths::defaults(space, arch);
  const auto scores = compress::rank_channels(*original, space, arch, widths, Ranking::kL1);
  CHECK_THROWS_AS(compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.95,
                                         PruneTarget::kParams),
                  ConfigError);
  CHECK_THROWS_AS(compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 1.0,
                                         PruneTarget::kFlops),
                  ConfigError);
  CHECK_THROWS_AS(compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, -0.1,
                                         PruneTarget::kFlops),
                  ConfigError);
  CHECK_THROWS_AS(compress::parse_prune_target("macs", "t"), ConfigError);
  CHECK_THROWS_AS(compress::parse_ranking("l2", "r"), ConfigError);
}

TEST_CASE("inner widths round-trip through JSON and are checked against the architecture",
          "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto widths = widths_of(3, 2, 1, 1, 3);
  CHECK(BlockWidths::from_json(widths.to_json(), "w") == widths);
  CHECK(widths.to_json().dump() == "[[[3]],[[2,1]],[[1],[3]]]");
  CHECK_THROWS_AS(BlockWidths::from_json(nlohmann::json::parse("[[3]]"), "w"), ConfigError);
  CHECK_THROWS_AS(widths_of(0, 2, 1, 1, 3).check(space, arch, "w"), ConfigError);
  auto short_one = widths;
  short_one.stages.pop_back();
  CHECK_THROWS_AS(short_one.check(space, arch, "w"), ConfigError);
  CHECK_THROWS_AS(space::build_block_network(space, arch, short_one, kShape, kClasses),
                  ConfigError);
}
