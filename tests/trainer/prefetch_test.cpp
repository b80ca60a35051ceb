#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <chrono>
#include <future>
#include <vector>

#include <tbb/global_control.h>

#include "common/errors.h"
#include "trainer/batch_prefetcher.h"
#include "trainer/training_loop.h"

using namespace nasforge;
using namespace nasforge::testing;

namespace {

std::vector<at::Tensor> batches_of(const at::Tensor& order, std::int64_t batch_size) {
  std::vector<at::Tensor> out;
  for (std::int64_t start = 0; start < order.size(0); start += batch_size) {
    out.push_back(order.narrow(0, start, std::min(batch_size, order.size(0) - start)));
  }
  return out;
}

}  // namespace

TEST_CASE("the prefetcher hands out each batch's gather, in order, epoch after epoch",
          "[trainer]") {
  const auto images = at::randint(0, 256, {50, 1, 4, 4}, at::kByte);
  const auto labels = at::arange(50, at::kLong).mul(7);
  trainer::BatchPrefetcher prefetcher(images, labels, /*depth=*/3, /*workers=*/2, /*pin=*/false);
  for (int epoch = 0; epoch < 3; ++epoch) {
    const auto order = at::randperm(50, at::kLong);
    const auto indices = batches_of(order, 8);  // 7 batches, the last of 2
    prefetcher.start_epoch(indices);
    for (const auto& index : indices) {
      REQUIRE_FALSE(prefetcher.exhausted());
      const auto batch = prefetcher.next();
      CHECK(batch.images.equal(images.index_select(0, index)));
      CHECK(batch.labels.equal(labels.index_select(0, index)));
    }
    CHECK(prefetcher.exhausted());
    CHECK_THROWS_AS(prefetcher.next(), InternalError);
  }
  // An epoch abandoned half-way: the next one starts clean.
  prefetcher.start_epoch(batches_of(at::arange(50, at::kLong), 10));
  prefetcher.next();
  const auto order = at::arange(49, -1, -1, at::kLong);
  prefetcher.start_epoch(batches_of(order, 10));
  CHECK(prefetcher.next().labels.equal(labels.index_select(0, order.narrow(0, 0, 10))));
}

TEST_CASE("with no oneTBB worker to run its tasks, the prefetcher still runs epoch after epoch",
          "[trainer]") {
  // One thread in all: the tasks it enqueues never get a worker. The training thread gathers
  // every batch itself, and no epoch waits for a task that cannot run (one used to).
  const tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
  const auto images = at::randint(0, 256, {30, 1, 4, 4}, at::kByte);
  const auto labels = at::arange(30, at::kLong);
  auto epochs = std::async(std::launch::async, [&] {
    trainer::BatchPrefetcher prefetcher(images, labels, /*depth=*/2, /*workers=*/1, false);
    int batches = 0;
    for (int epoch = 0; epoch < 3; ++epoch) {
      const auto indices = batches_of(at::randperm(30, at::kLong), 8);
      prefetcher.start_epoch(indices);
      for (const auto& index : indices) {
        if (prefetcher.next().labels.equal(labels.index_select(0, index))) ++batches;
      }
    }
    return batches;
  });
  REQUIRE(epochs.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(epochs.get() == 12);
}

TEST_CASE("a worker's error reaches the training thread", "[trainer]") {
  const auto images = at::zeros({10, 1, 2, 2}, at::kByte);
  trainer::BatchPrefetcher prefetcher(images, at::zeros({10}, at::kLong), 2, 1, false);
  prefetcher.start_epoch({at::arange(5, at::kLong), at::full({5}, 99, at::kLong)});
  CHECK_NOTHROW(prefetcher.next());
  CHECK_THROWS_AS(prefetcher.next(), c10::Error);  // index 99 is out of range
}

TEST_CASE("training from host batches through the prefetcher equals training in place",
          "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  const auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  auto config = quick_config();
  config.epochs = 2;
  config.batch_size = 48;  // the last batch is partial
  auto train = [&](const trainer::DeviceTuning& tuning) {
    at::manual_seed(4);
    auto network = space::build_network(space, arch, data->shape, data->num_classes);
    trainer::TrainingSession session(*network, *data, config, c10::Device(c10::kCPU), 9, tuning);
    std::vector<EpochRecord> records;
    for (int e = 0; e < config.epochs; ++e) records.push_back(session.run_epoch());
    return std::pair(records, session.data_on_device());
  };
  const auto [in_place, resident] = train({});
  trainer::DeviceTuning host;
  host.resident_data = false;
  const auto [prefetched, host_resident] = train(host);
  host.prefetch_batches = 0;
  const auto [gathered, gathered_resident] = train(host);
  CHECK(resident);
  CHECK_FALSE(host_resident);
  CHECK_FALSE(gathered_resident);
  for (int e = 0; e < config.epochs; ++e) {
    CHECK(prefetched[e].train_loss == in_place[e].train_loss);
    CHECK(prefetched[e].val_accuracy == in_place[e].val_accuracy);
    CHECK(gathered[e].train_loss == in_place[e].train_loss);
  }
  CHECK(in_place.back().val_accuracy > 0.5);
}
