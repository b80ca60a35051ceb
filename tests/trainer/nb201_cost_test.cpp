#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <random>

#include "space/modules/network.h"
#include "space/nb201_space.h"
#include "trainer/nb201_cost.h"
#include "trainer/nb201_table.h"
#include "trainer/trial_runner.h"

namespace nasforge::trainer {
namespace {

const std::string kTablePath = NASFORGE_SOURCE_DIR "/benchmarks/nb201/nb201.csv.gz";

// Operation indices: 0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3.
const std::vector<int> kAllConv3x3 = {3, 3, 3, 3, 3, 3};
const std::vector<int> kAllNone = {0, 0, 0, 0, 0, 0};
// NB201 index 0: |avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip~1|skip~2|
const std::vector<int> kIndex0 = {4, 2, 1, 2, 1, 1};

}  // namespace

TEST_CASE("nb201 network costs of known cells match the NAS-Bench-201 paper's figures",
          "[trainer]") {
  // Every edge nor_conv_3x3: the paper's largest network, about 1.53 M parameters and 220 MFLOPs
  // on CIFAR-10. Counted: stem 464; cells 5 x (6 x 2336 + 6 x 9280 + 6 x 36992) = 1,458,240;
  // reductions 14,464 + 57,600; last BN 128; classifier 650.
  const auto largest = nb201_network_cost(kAllConv3x3);
  CHECK(largest.params == 1'531'546);
  // Cells 3 stages x 30 convolutions x 2,359,296; stem 442,368; reductions 2 x 3,670,016;
  // classifier 640.
  CHECK(largest.flops == 220'119'680);
  // Every edge none: the smallest, about 0.07 M parameters and 7.8 MFLOPs (stem, reductions and
  // classifier alone).
  const auto smallest = nb201_network_cost(kAllNone);
  CHECK(smallest.params == 73'306);
  CHECK(smallest.flops == 7'783'040);
  // Two 1x1 convolutions per cell: 2 x 5 x (C*C + 2C) parameters at C = 16, 32, 64.
  const auto index0 = nb201_network_cost(kIndex0);
  CHECK(index0.params == 73'306 + 10 * (16 * 16 + 32 + 32 * 32 + 64 + 64 * 64 + 128));
  CHECK(index0.flops == 7'783'040 + 10 * (16 * 16 * 32 * 32 + 32 * 32 * 16 * 16 + 64 * 64 * 8 * 8));
}

TEST_CASE("nb201 analytic costs equal the LibTorch network's counts", "[trainer]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> op(0, 4);
  std::vector<std::vector<int>> cells = {kAllConv3x3, kAllNone, kIndex0};
  for (int i = 0; i < 4; ++i) {
    std::vector<int> ops(6);
    for (auto& o : ops) o = op(rng);
    cells.push_back(ops);
  }
  const space::Nb201Space space;
  for (const auto& ops : cells) {
    const auto arch = space.make(ops);
    INFO(arch.canonical());
    const auto network = space::build_network(space, arch, {3, 32, 32}, 10);
    const auto cost = nb201_network_cost(ops);
    CHECK(cost.params == network->parameter_count());
    CHECK(cost.flops == network->flops());
    // CIFAR-100 and ImageNet16-120 networks: other classifiers and resolution.
    Nb201Shape shape;
    REQUIRE(nb201_shape_of_column("imagenet16_valid", shape));
    const auto small = space::build_network(space, arch, {3, 16, 16}, 120);
    CHECK(nb201_network_cost(ops, shape).params == small->parameter_count());
    CHECK(nb201_network_cost(ops, shape).flops == small->flops());
    REQUIRE(nb201_shape_of_column("cifar100_valid_12ep", shape));
    CHECK(nb201_network_cost(ops, shape).params ==
          space::build_network(space, arch, {3, 32, 32}, 100)->parameter_count());
  }
}

TEST_CASE("nb201 table evaluator fills the benchmark network's params and flops", "[trainer]") {
  const auto table = std::make_shared<const Nb201Table>(kTablePath);
  const space::Nb201Space space;
  const auto arch = space.make(kAllConv3x3);
  Nb201TableEvaluator cifar10(table, "cifar10_valid");
  const auto result = cifar10.evaluate(arch, {});
  CHECK(result.params == 1'531'546);
  CHECK(result.flops == 220'119'680);
  // The 12-epoch column is of the same network.
  TrialContext twelve;
  twelve.hparams = {{"epochs", 12}};
  CHECK(cifar10.evaluate(arch, twelve).params == 1'531'546);
  Nb201TableEvaluator cifar100(table, "cifar100_valid");
  CHECK(cifar100.evaluate(arch, {}).params == 1'531'546 - 650 + 64 * 100 + 100);
}

TEST_CASE("CPU latency is the median of batch-1 forward passes in milliseconds", "[trainer]") {
  const space::Nb201Space space;
  const auto small = space::build_network(space, space.make(kAllNone), {3, 32, 32}, 10);
  const auto large = space::build_network(space, space.make(kAllConv3x3), {3, 32, 32}, 10);
  const double fast = measure_cpu_latency_ms(*small, {3, 32, 32}, 5);
  const double slow = measure_cpu_latency_ms(*large, {3, 32, 32}, 5);
  CHECK(fast > 0);
  // 28 times the multiply-adds: clearly slower, whatever else runs on the machine.
  CHECK(slow > 2 * fast);
  CHECK_FALSE(small->is_training());
}

}  // namespace nasforge::trainer
