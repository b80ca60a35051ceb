#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/sgd.h>

#include <limits>

#include "space/block_space.h"
#include "trainer/augment.h"
#include "trainer/dataset.h"
#include "trainer/sgd.h"
#include "trainer/training_loop.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

// The reference: slice the padded image, then mirror.
at::Tensor crop_one(const at::Tensor& image, int padding, std::int64_t top, std::int64_t left,
                    bool flip) {
  const auto h = image.size(1), w = image.size(2);
  auto padded = at::constant_pad_nd(image, {padding, padding, padding, padding}, 0);
  auto out = padded.narrow(1, top, h).narrow(2, left, w);
  return flip ? out.flip({2}) : out;
}

std::vector<at::Tensor> clone_all(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> out;
  for (const auto& t : ts) out.push_back(t.detach().clone().set_requires_grad(true));
  return out;
}

}  // namespace

TEST_CASE("crop_and_flip equals slicing the padded image and mirroring it", "[trainer]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto batch = at::randn({6, 3, 7, 5}, gen);
  const int padding = 2;
  auto draws = trainer::draw_augmentation(6, padding, true, gen);
  REQUIRE(draws.offsets.sizes() == at::IntArrayRef({6, 2}));
  CHECK(draws.offsets.min().item<std::int64_t>() >= 0);
  CHECK(draws.offsets.max().item<std::int64_t>() <= 2 * padding);
  auto out = trainer::crop_and_flip(batch, padding, draws.offsets, draws.flips);
  REQUIRE(out.sizes() == batch.sizes());
  for (int i = 0; i < 6; ++i) {
    auto expected = crop_one(batch[i], padding, draws.offsets[i][0].item<std::int64_t>(),
                             draws.offsets[i][1].item<std::int64_t>(), draws.flips[i].item<bool>());
    CHECK(out[i].equal(expected));
  }
  // Flip only, crop only, neither.
  auto mirrored = trainer::crop_and_flip(batch, 0, {}, at::ones({6}, at::kBool));
  CHECK(mirrored.equal(batch.flip({3})));
  auto centred = at::full({6, 2}, padding, at::kLong);
  CHECK(trainer::crop_and_flip(batch, padding, centred, {}).equal(batch));
  CHECK(trainer::crop_and_flip(batch, 0, {}, {}).equal(batch));
  CHECK_FALSE(trainer::draw_augmentation(6, 0, false, gen).offsets.defined());
}

TEST_CASE("fused SGD follows torch::optim::SGD with Nesterov momentum and weight decay",
          "[trainer]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  std::vector<at::Tensor> a = {at::randn({4, 3, 3, 3}, gen).set_requires_grad(true),
                               at::randn({7}, gen).set_requires_grad(true)};
  auto b = clone_all(a);
  for (bool nesterov : {true, false}) {
    torch::optim::SGD reference(
        b, torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(nesterov).weight_decay(5e-4));
    trainer::FusedSgd fused(a, {0.9, nesterov, 5e-4});
    for (int step = 0; step < 4; ++step) {
      auto grads = std::vector<at::Tensor>{at::randn({4, 3, 3, 3}, gen), at::randn({7}, gen)};
      fused.zero_grad();
      reference.zero_grad();
      for (size_t i = 0; i < a.size(); ++i) {
        a[i].mutable_grad() = grads[i].clone();
        b[i].mutable_grad() = grads[i].clone();
      }
      CHECK(fused.gradients().size() == 2);
      fused.step(0.1);
      reference.step();
      for (size_t i = 0; i < a.size(); ++i) CHECK(at::allclose(a[i], b[i], 1e-5, 1e-6));
    }
  }
}

TEST_CASE("fused SGD skips the step when found_inf is set and works without momentum",
          "[trainer]") {
  auto p = at::ones({3}).set_requires_grad(true);
  trainer::FusedSgd sgd({p}, {0.9, true, 0.0});
  p.mutable_grad() = at::full({3}, 2.0f);
  sgd.step(0.5, at::ones({1}));
  CHECK(p.equal(at::ones({3})));
  sgd.step(0.5, at::zeros({1}));
  // First real step: buffer = grad, Nesterov direction = grad + 0.9 * buffer = 3.8.
  CHECK(p.allclose(at::full({3}, 1.0f - 0.5f * 3.8f)));

  auto q = at::ones({2}).set_requires_grad(true);
  trainer::FusedSgd plain({q}, {0.0, true, 0.0});
  q.mutable_grad() = at::full({2}, 1.0f);
  plain.step(0.25);
  CHECK(q.allclose(at::full({2}, 0.75f)));
  plain.zero_grad();
  CHECK(plain.gradients().empty());
  plain.step(0.25);  // no gradient: nothing to do
  CHECK(q.allclose(at::full({2}, 0.75f)));
}

TEST_CASE("channels_last training on CPU reaches the accuracy of contiguous training",
          "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  const auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  double accuracy[2] = {0, 0};
  for (bool channels_last : {false, true}) {
    at::manual_seed(4);
    auto network = space::build_network(space, arch, data->shape, data->num_classes);
    trainer::DeviceTuning tuning;
    tuning.channels_last = channels_last;
    const auto outcome = trainer::train_network(*network, *data, quick_config(),
                                                c10::Device(c10::kCPU), 4, {}, tuning);
    accuracy[channels_last] = outcome.epochs.back().val_accuracy;
    // The session hands the network back in the standard layout.
    for (const auto& p : network->parameters()) CHECK(p.is_contiguous());
  }
  CHECK(accuracy[0] > 0.85);
  CHECK(accuracy[1] > 0.85);
  CHECK(accuracy[1] == Approx(accuracy[0]).margin(0.05));
  CHECK(trainer::default_channels_last(c10::Device(c10::kCUDA, 0)));
}

TEST_CASE("a training session runs steps across epoch boundaries", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto network = space::build_network(space, space.parse("basic-d1-w8-k3/basic-d1-w16-k3"),
                                      data->shape, data->num_classes);
  auto config = quick_config();
  config.batch_size = 256;
  const auto before = network->parameters().front().clone();
  trainer::TrainingSession session(*network, *data, config, c10::Device(c10::kCPU), 1);
  CHECK(session.data_on_device());
  CHECK(session.steps_per_epoch() == (data->train.size() + 255) / 256);
  session.run_steps(session.steps_per_epoch() + 2);
  session.synchronize();
  CHECK_FALSE(network->parameters().front().equal(before));
  const auto record = session.run_epoch();
  CHECK(record.epoch == 3);
  CHECK(std::isfinite(record.train_loss));
}
