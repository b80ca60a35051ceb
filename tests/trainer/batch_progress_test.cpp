// The training loop's per-step callback: once per step, counting on the host.
#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <vector>

#include "trainer/torch_evaluator.h"

using namespace nasforge;
using namespace nasforge::testing;

TEST_CASE("on_batch is called once per training step with counts that rise", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();  // 3 epochs of batches of 64
  config.batch_size = 100;       // 960 training images: 9 full steps and one of 60
  trainer::TorchEvaluator evaluator(space, data, config);
  std::vector<trainer::BatchProgress> steps;
  std::vector<size_t> steps_at_epoch_end;
  trainer::TrialContext context;
  context.seed = 4;
  context.on_batch = [&](const trainer::BatchProgress& p) { steps.push_back(p); };
  context.on_epoch = [&](const EpochRecord&) {
    steps_at_epoch_end.push_back(steps.size());
    return true;
  };
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), context);
  REQUIRE(result.state == TrialState::kCompleted);
  const std::int64_t n = data->train.size();
  REQUIRE(n == 960);
  REQUIRE(steps.size() == 30);
  // Every epoch's steps come before its epoch record.
  CHECK(steps_at_epoch_end == std::vector<size_t>{10, 20, 30});
  for (size_t i = 0; i < steps.size(); ++i) {
    INFO("step " << i);
    const auto& p = steps[i];
    CHECK(p.epoch == static_cast<int>(i / 10) + 1);
    CHECK(p.epochs == 3);
    CHECK(p.batch == static_cast<std::int64_t>(i % 10) + 1);
    CHECK(p.batches == 10);
    CHECK(p.images == std::min<std::int64_t>(p.batch * 100, n));
    CHECK(p.total_images == n);
    CHECK(p.seconds > 0);
    if (p.batch > 1) CHECK(p.seconds >= steps[i - 1].seconds);
  }
}
