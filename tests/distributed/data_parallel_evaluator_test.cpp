#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include "trainer/distributed/data_parallel.h"
#include "trainer/distributed/process_group.h"
#include "trainer/torch_evaluator.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace dist = nasforge::trainer::distributed;

TEST_CASE("a data-parallel trial in a world of one trains as the single-process trial does",
          "[distributed]") {
  // Both evaluators run one trial body: same seed, same network, same training, same result.
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  trainer::TrialContext context;
  context.seed = 9;
  dist::DistributedContext world(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  dist::DataParallelEvaluator data_parallel(world, space, data, config);
  trainer::TorchEvaluator single(space, data, config);
  const auto a = data_parallel.evaluate(arch, context);
  const auto b = single.evaluate(arch, context);
  REQUIRE(a.state == TrialState::kCompleted);
  REQUIRE(b.state == TrialState::kCompleted);
  CHECK(a.train_loss == b.train_loss);
  CHECK(a.val_accuracy == b.val_accuracy);
  CHECK(a.val_loss == Approx(b.val_loss).epsilon(1e-12));
  CHECK(a.metrics == b.metrics);
  CHECK(a.params == b.params);
  CHECK(a.extra.at("world_size") == 1);
}
