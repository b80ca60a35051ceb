// Training on a GPU: mixed precision, host-side data through the prefetcher, two trials side by
// side on one device, and out of memory. Run only where CUDA is (gpu_main.cpp skips otherwise).
#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "space/block_space.h"
#include "trainer/torch_evaluator.h"
#include "trainer/training_loop.h"

using namespace nasforge;
using namespace nasforge::testing;

TEST_CASE("fp16 training with loss scaling on CUDA learns and keeps channels_last",
          "[trainer][gpu]") {
  auto data = synthetic_splits();
  auto space = small_space();
  const auto arch = space.parse("basic-d1-w8-k3/bottleneck-d1-w16-k3");
  for (auto precision : {trainer::Precision::kFp16, trainer::Precision::kBf16}) {
    at::manual_seed(2);
    auto network = space::build_network(space, arch, data->shape, data->num_classes);
    auto config = quick_config();
    config.device = "cuda";
    config.precision = precision;
    const auto device = c10::Device(c10::kCUDA, 0);
    {
      trainer::TrainingSession session(*network, *data, config, device, 2);
      CHECK(session.channels_last());
      CHECK(session.data_on_device());
      EpochRecord last;
      for (int e = 0; e < config.epochs; ++e) last = session.run_epoch();
      CHECK(last.val_accuracy > 0.85);
      if (precision == trainer::Precision::kFp16) CHECK(last.loss_scale > 0);
    }
    // Evaluation of the returned (contiguous) network agrees with the session's last epoch.
    const auto metrics =
        trainer::evaluate_network(*network, data->validation, {data->mean, data->std}, device, 100);
    CHECK(metrics.accuracy > 0.85);
  }
}

TEST_CASE("on CUDA, host-side data trains through pinned prefetched batches", "[trainer][gpu]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.device = "cuda";
  at::manual_seed(6);
  auto network = space::build_network(space, space.parse("basic-d1-w8-k3/basic-d1-w16-k3"),
                                      data->shape, data->num_classes);
  trainer::DeviceTuning host;
  host.resident_data = false;
  trainer::TrainingSession session(*network, *data, config, c10::Device(c10::kCUDA, 0), 6, host);
  CHECK_FALSE(session.data_on_device());
  EpochRecord last;
  for (int e = 0; e < config.epochs; ++e) last = session.run_epoch();
  CHECK(last.val_accuracy > 0.85);
}

TEST_CASE("two trials train side by side on one GPU, each on its own stream", "[trainer][gpu]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.device = "cuda:0";
  config.epochs = 4;
  trainer::TorchEvaluator evaluator(space, data, config);
  using Clock = std::chrono::steady_clock;
  std::mutex mutex;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans(2);
  std::vector<TrialResult> results(2);
  auto run = [&](int slot) {
    trainer::TrialContext context;
    context.seed = 10 + static_cast<std::uint64_t>(slot);
    context.device = "cuda:0";
    // When training really began (its first step done) and when its last epoch ended; the
    // thread's start would prove nothing, both threads start at once.
    auto& span = spans[static_cast<size_t>(slot)];
    context.on_batch = [&](const trainer::BatchProgress&) {
      const std::lock_guard lock(mutex);
      if (span.first == Clock::time_point{}) span.first = Clock::now();
    };
    context.on_epoch = [&](const EpochRecord&) {
      const std::lock_guard lock(mutex);
      span.second = Clock::now();
      return true;
    };
    results[static_cast<size_t>(slot)] =
        evaluator.evaluate(space.parse("basic-d1-w8-k3/bottleneck-d1-w16-k3"), context);
  };
  std::thread a(run, 0), b(run, 1);
  a.join();
  b.join();
  for (const auto& r : results) {
    INFO(r.error);
    CHECK(r.state == TrialState::kCompleted);
    CHECK(r.val_accuracy > 0.85);
  }
  // Each trial's first step came before the other's last epoch ended: they trained at once.
  REQUIRE(spans[0].first != Clock::time_point{});
  REQUIRE(spans[1].first != Clock::time_point{});
  CHECK(spans[0].first < spans[1].second);
  CHECK(spans[1].first < spans[0].second);
}

TEST_CASE("a trial out of GPU memory fails with the device named and the next one trains",
          "[trainer][gpu]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.device = "cuda:0";
  config.batch_size = 4096;
  trainer::TorchEvaluator evaluator(space, data, config);
  trainer::TrialContext context;
  context.seed = 3;
  // A few MiB for this process: the first trial's activations cannot fit.
  c10::cuda::CUDACachingAllocator::emptyCache();
  c10::cuda::CUDACachingAllocator::setMemoryFraction(0.0002, 0);
  const auto starved =
      evaluator.evaluate(space.parse("basic-d1-w8-k3/bottleneck-d1-w16-k3"), context);
  c10::cuda::CUDACachingAllocator::setMemoryFraction(1.0, 0);
  CHECK(starved.state == TrialState::kFailed);
  CHECK_THAT(starved.error, Catch::Contains("out of memory on cuda:0"));
  config.batch_size = 32;
  trainer::TorchEvaluator fed(space, data, config);
  const auto next = fed.evaluate(space.parse("basic-d1-w8-k3/bottleneck-d1-w16-k3"), context);
  INFO(next.error);
  CHECK(next.state == TrialState::kCompleted);
}
