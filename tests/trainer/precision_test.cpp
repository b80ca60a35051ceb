#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <limits>

#include "trainer/precision.h"

using namespace nasforge::trainer;

TEST_CASE("loss scaler starts at 2^16 and unscales gradients", "[trainer]") {
  LossScaler scaler(c10::Device(c10::kCPU));
  CHECK(scaler.scale_value() == 65536.0);
  std::vector<at::Tensor> grads = {at::full({3}, 65536.0f), at::full({2}, 131072.0f)};
  CHECK(scaler.unscale_and_check(grads));
  CHECK(grads[0][0].item<float>() == Approx(1.0f));
  CHECK(grads[1][1].item<float>() == Approx(2.0f));
  CHECK(scaler.skipped_steps() == 0);
}

TEST_CASE("loss scaler backs off and skips the step on inf or NaN", "[trainer]") {
  LossScaler scaler(c10::Device(c10::kCPU));
  std::vector<at::Tensor> grads = {at::ones({3}),
                                   at::full({1}, std::numeric_limits<float>::infinity())};
  CHECK_FALSE(scaler.unscale_and_check(grads));
  scaler.update();
  CHECK(scaler.scale_value() == 32768.0);
  CHECK(scaler.skipped_steps() == 1);
  std::vector<at::Tensor> nan = {at::full({2}, std::numeric_limits<float>::quiet_NaN())};
  CHECK_FALSE(scaler.unscale_and_check(nan));
  scaler.update();
  CHECK(scaler.scale_value() == 16384.0);
  CHECK(scaler.skipped_steps() == 2);
}

TEST_CASE("loss scaler grows after growth_interval clean steps", "[trainer]") {
  LossScalerOptions options;
  options.growth_interval = 3;
  LossScaler scaler(c10::Device(c10::kCPU), options);
  for (int step = 1; step <= 6; ++step) {
    std::vector<at::Tensor> grads = {at::ones({4})};
    REQUIRE(scaler.unscale_and_check(grads));
    scaler.update();
    if (step == 2) CHECK(scaler.scale_value() == 65536.0);
    if (step == 3) CHECK(scaler.scale_value() == 131072.0);
  }
  CHECK(scaler.scale_value() == 262144.0);
  // An overflow resets the count of clean steps.
  std::vector<at::Tensor> bad = {at::full({1}, std::numeric_limits<float>::infinity())};
  scaler.unscale_and_check(bad);
  scaler.update();
  CHECK(scaler.scale_value() == 131072.0);
}

TEST_CASE("autocast scope runs matmuls in bf16 on CPU and restores the state", "[trainer]") {
  auto a = at::randn({4, 4});
  {
    AutocastScope scope(c10::kCPU, Precision::kBf16);
    CHECK(at::autocast::is_autocast_enabled(c10::kCPU));
    CHECK(at::mm(a, a).scalar_type() == at::kBFloat16);
  }
  CHECK_FALSE(at::autocast::is_autocast_enabled(c10::kCPU));
  CHECK(at::mm(a, a).scalar_type() == at::kFloat);
  CHECK(effective_precision(Precision::kFp16, c10::kCPU) == Precision::kBf16);
  CHECK(effective_precision(Precision::kFp16, c10::kCUDA) == Precision::kFp16);
}
