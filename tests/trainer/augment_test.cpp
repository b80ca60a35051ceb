#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <numbers>

#include "common/errors.h"
#include "space/block_space.h"
#include "trainer/augment.h"
#include "trainer/dataset.h"
#include "trainer/train_config.h"
#include "trainer/training_loop.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

// Parameters as draw_image_augmentation lays them out, with the given jitter factors.
at::Tensor factors(const std::vector<float>& brightness, const std::vector<float>& contrast,
                   const std::vector<float>& saturation) {
  const auto n = static_cast<std::int64_t>(brightness.size());
  auto params = at::zeros({n, trainer::kAugmentColumns});
  for (std::int64_t i = 0; i < n; ++i) {
    params[i][trainer::kBrightness] = brightness[i];
    params[i][trainer::kContrast] = contrast[i];
    params[i][trainer::kSaturation] = saturation[i];
  }
  return params;
}

float clamp01(float v) { return std::min(1.0f, std::max(0.0f, v)); }

float gray(const at::TensorAccessor<float, 3>& image, std::int64_t y, std::int64_t x) {
  return 0.2989f * image[0][y][x] + 0.587f * image[1][y][x] + 0.114f * image[2][y][x];
}

// Bilinear sample of one channel at (row, col) in pixel-centre coordinates, zero outside.
float sample(const at::TensorAccessor<float, 2>& plane, double row, double col) {
  const auto h = plane.size(0), w = plane.size(1);
  const auto r0 = static_cast<std::int64_t>(std::floor(row));
  const auto c0 = static_cast<std::int64_t>(std::floor(col));
  double value = 0;
  for (std::int64_t r = r0; r <= r0 + 1; ++r) {
    for (std::int64_t c = c0; c <= c0 + 1; ++c) {
      if (r < 0 || r >= h || c < 0 || c >= w) continue;
      value += (1 - std::abs(row - static_cast<double>(r))) *
               (1 - std::abs(col - static_cast<double>(c))) * plane[r][c];
    }
  }
  return static_cast<float>(value);
}

// Each channel of each image rotated counter-clockwise by its angle about the image centre: the
// output pixel takes the input at the point that the inverse turn brings it to.
at::Tensor rotate_reference(const at::Tensor& batch, const std::vector<double>& degrees) {
  auto out = at::zeros_like(batch);
  auto in = batch.accessor<float, 4>();
  auto o = out.accessor<float, 4>();
  const auto h = batch.size(2), w = batch.size(3);
  for (std::int64_t i = 0; i < batch.size(0); ++i) {
    const double a = degrees[static_cast<size_t>(i)] * std::numbers::pi / 180.0;
    for (std::int64_t r = 0; r < h; ++r) {
      for (std::int64_t c = 0; c < w; ++c) {
        // Centred pixel coordinates, y down; a counter-clockwise turn on screen.
        const double x = static_cast<double>(c) + 0.5 - static_cast<double>(w) / 2;
        const double y = static_cast<double>(r) + 0.5 - static_cast<double>(h) / 2;
        const double x_in = std::cos(a) * x - std::sin(a) * y;
        const double y_in = std::sin(a) * x + std::cos(a) * y;
        for (std::int64_t ch = 0; ch < batch.size(1); ++ch) {
          o[i][ch][r][c] = sample(in[i][ch], y_in + static_cast<double>(h) / 2 - 0.5,
                                  x_in + static_cast<double>(w) / 2 - 0.5);
        }
      }
    }
  }
  return out;
}

// Three-channel synthetic splits (class-dependent rows), normalised by their own statistics.
trainer::DataSplits rgb_splits() {
  trainer::DataSplits data;
  data.train = trainer::make_synthetic(640, 3, 12, 4, 21);
  data.validation = trainer::make_synthetic(200, 3, 12, 4, 22);
  data.num_classes = 4;
  data.shape = {3, 12, 12};
  auto pixels = data.train.images.to(at::kFloat).div(255);
  for (int c = 0; c < 3; ++c) {
    data.mean.push_back(pixels.select(1, c).mean().item<float>());
    data.std.push_back(pixels.select(1, c).std().item<float>());
  }
  data.natural_images = true;
  return data;
}

}  // namespace

TEST_CASE("rotation by 90 and 180 degrees equals rot90, any angle equals a plain bilinear turn",
          "[trainer]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto square = at::rand({2, 3, 5, 5}, gen);
  auto turned = trainer::rotate(square, at::tensor({90.0f, 180.0f}));
  CHECK(at::allclose(turned[0], at::rot90(square[0], 1, {1, 2}), 1e-5, 1e-5));
  CHECK(at::allclose(turned[1], at::rot90(square[1], 2, {1, 2}), 1e-5, 1e-5));
  CHECK(at::allclose(trainer::rotate(square, at::zeros({2})), square, 1e-6, 1e-6));
  // Non-square images turn about their centre without shear; corners left uncovered are zero.
  auto wide = at::rand({3, 2, 6, 9}, gen);
  const std::vector<double> angles = {30.0, -12.5, 135.0};
  auto out = trainer::rotate(wide, at::tensor({30.0f, -12.5f, 135.0f}));
  CHECK(at::allclose(out, rotate_reference(wide, angles), 1e-4, 1e-5));
  CHECK(out[0][0][0][0].item<float>() == 0.0f);
}

TEST_CASE("brightness scales pixels and clamps at 1", "[trainer]") {
  trainer::Augmentation aug;
  aug.brightness = 0.5;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  auto pixels = at::rand({2, 3, 4, 5}, gen);
  auto out = trainer::color_jitter(pixels, factors({1.4f, 0.6f}, {1, 1}, {1, 1}), aug);
  CHECK(at::allclose(out[0], (pixels[0] * 1.4f).clamp(0, 1)));
  CHECK(at::allclose(out[1], pixels[1] * 0.6f));
  CHECK(out.max().item<float>() <= 1.0f);
}

TEST_CASE("contrast blends each image with its mean gray level, saturation with its grayscale",
          "[trainer]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto pixels = at::rand({2, 3, 4, 5}, gen);
  const std::vector<float> contrast = {1.5f, 0.3f}, saturation = {0.2f, 1.8f};
  trainer::Augmentation aug;
  aug.contrast = 0.9;
  aug.saturation = 0.9;
  auto out = trainer::color_jitter(pixels, factors({1, 1}, contrast, saturation), aug);
  // The reference, one value at a time: contrast first, then saturation on its result.
  auto expected = pixels.clone();
  auto e = expected.accessor<float, 4>();
  for (std::int64_t i = 0; i < 2; ++i) {
    double mean = 0;
    for (std::int64_t y = 0; y < 4; ++y)
      for (std::int64_t x = 0; x < 5; ++x) mean += gray(e[i], y, x);
    mean /= 20;
    const float f = contrast[static_cast<size_t>(i)];
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t y = 0; y < 4; ++y)
        for (std::int64_t x = 0; x < 5; ++x)
          e[i][c][y][x] = clamp01(f * e[i][c][y][x] + (1 - f) * static_cast<float>(mean));
    const float s = saturation[static_cast<size_t>(i)];
    for (std::int64_t y = 0; y < 4; ++y) {
      for (std::int64_t x = 0; x < 5; ++x) {
        const float g = gray(e[i], y, x);
        for (std::int64_t c = 0; c < 3; ++c)
          e[i][c][y][x] = clamp01(s * e[i][c][y][x] + (1 - s) * g);
      }
    }
  }
  CHECK(at::allclose(out, expected, 1e-5, 1e-6));
  // One channel: contrast around the image mean; saturation leaves it as it is.
  auto gray_pixels = at::rand({2, 1, 4, 5}, gen);
  auto gray_out = trainer::color_jitter(gray_pixels, factors({1, 1}, contrast, saturation), aug);
  for (std::int64_t i = 0; i < 2; ++i) {
    const float f = contrast[static_cast<size_t>(i)];
    auto reference = (f * gray_pixels[i] + (1 - f) * gray_pixels[i].mean()).clamp(0, 1);
    CHECK(at::allclose(gray_out[i], reference, 1e-5, 1e-6));
  }
}

TEST_CASE("cutout zeroes exactly a size x size square around the centre, clipped at borders",
          "[trainer]") {
  auto batch = at::rand({3, 2, 10, 8}) + 1;  // no zeros of its own
  const int size = 4;
  // Inside, on the top-left corner, and on the bottom-right border.
  const std::vector<std::pair<int, int>> centres = {{5, 4}, {0, 0}, {9, 7}};
  auto centre_tensor = at::tensor({5.0f, 4.0f, 0.0f, 0.0f, 9.0f, 7.0f}).view({3, 2});
  auto out = trainer::cutout(batch, size, centre_tensor);
  const std::vector<int> zero_counts = {16, 4, 9};
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto [row, col] = centres[static_cast<size_t>(i)];
    int zeros = 0;
    for (std::int64_t y = 0; y < 10; ++y) {
      for (std::int64_t x = 0; x < 8; ++x) {
        const bool inside = y >= row - size / 2 && y < row - size / 2 + size &&
                            x >= col - size / 2 && x < col - size / 2 + size;
        for (std::int64_t c = 0; c < 2; ++c) {
          const float v = out[i][c][y][x].item<float>();
          if (inside) {
            CHECK(v == 0.0f);
          } else {
            CHECK(v == batch[i][c][y][x].item<float>());
          }
        }
        zeros += inside ? 1 : 0;
      }
    }
    CHECK(zeros == zero_counts[static_cast<size_t>(i)]);
  }
}

TEST_CASE("augmentation draws are fixed by the seed and leave crop and flip draws as they were",
          "[trainer]") {
  trainer::Augmentation aug;
  aug.rotation = 15;
  aug.brightness = 0.2;
  aug.saturation = 0.3;
  aug.cutout = 8;
  auto draw = [&](std::uint64_t seed, const trainer::Augmentation& a) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto order = at::randperm(50, gen, at::kLong);
    auto crop = trainer::draw_augmentation(50, 4, true, gen);
    auto params = trainer::draw_image_augmentation(50, a, 32, 30, gen);
    auto next = at::rand({4}, gen);  // what the generator gives after the epoch's draws
    return std::make_tuple(order, crop, params, next);
  };
  const auto [order_a, crop_a, params_a, next_a] = draw(9, aug);
  const auto [order_b, crop_b, params_b, next_b] = draw(9, aug);
  CHECK(params_a.equal(params_b));
  CHECK(next_a.equal(next_b));
  REQUIRE(params_a.sizes() == at::IntArrayRef({50, trainer::kAugmentColumns}));
  auto column = [&](int c) { return params_a.select(1, c); };
  CHECK(column(trainer::kAngle).abs().max().item<float>() <= 15.0f);
  CHECK(column(trainer::kAngle).abs().max().item<float>() > 5.0f);
  CHECK(column(trainer::kBrightness).min().item<float>() >= 0.8f);
  CHECK(column(trainer::kBrightness).max().item<float>() <= 1.2f);
  CHECK(column(trainer::kContrast).eq(1.0f).all().item<bool>());  // off: neutral
  CHECK(column(trainer::kSaturation).min().item<float>() >= 0.7f);
  CHECK(column(trainer::kCutoutRow).max().item<float>() <= 31.0f);
  CHECK(column(trainer::kCutoutColumn).max().item<float>() <= 29.0f);
  CHECK(column(trainer::kCutoutRow).eq(column(trainer::kCutoutRow).round()).all().item<bool>());
  const auto [order_c, crop_c, params_c, next_c] = draw(10, aug);
  CHECK_FALSE(params_a.equal(params_c));

  // Without the new ops: no parameters, and the generator is where it was before they existed.
  const auto [order_d, crop_d, params_d, next_d] = draw(9, trainer::Augmentation{});
  CHECK_FALSE(params_d.defined());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  auto order_old = at::randperm(50, gen, at::kLong);
  auto crop_old = trainer::draw_augmentation(50, 4, true, gen);
  CHECK(next_d.equal(at::rand({4}, gen)));
  // With them, shuffling, crops and flips are still those of a run without them.
  CHECK(order_a.equal(order_old));
  CHECK(crop_a.offsets.equal(crop_old.offsets));
  CHECK(crop_a.flips.equal(crop_old.flips));
}

TEST_CASE("training.augment is parsed, validated and written back", "[trainer]") {
  const auto c = trainer::TrainConfig::from_json(json{{"augment",
                                                       {{"rotation", 15},
                                                        {"brightness", 0.2},
                                                        {"contrast", 0.2},
                                                        {"saturation", 0.1},
                                                        {"cutout", 8}}}},
                                                 "training");
  CHECK(c.augment.rotation == 15);
  CHECK(c.augment.contrast == 0.2);
  CHECK(c.augment.cutout == 8);
  CHECK(trainer::TrainConfig::from_json(c.to_json(), "t").augment == c.augment);
  CHECK(trainer::TrainConfig::from_json(c.to_json(), "t").to_json() == c.to_json());
  // Off by default, and then not written, so earlier configs read back as they were.
  const auto plain = trainer::TrainConfig::from_json(json::object(), "training");
  CHECK_FALSE(plain.augment.any());
  CHECK_FALSE(plain.to_json().contains("augment"));
  CHECK(trainer::TrainConfig::from_json(json{{"augment", json::object()}}, "t").augment ==
        trainer::Augmentation{});

  CHECK_THROWS_WITH(
      trainer::TrainConfig::from_json(json{{"augment", {{"rotate", 10}}}}, "training"),
      Catch::Contains("training.augment: unknown key \"rotate\""));
  CHECK_THROWS_WITH(
      trainer::TrainConfig::from_json(json{{"augment", {{"rotation", 200}}}}, "training"),
      Catch::Contains("training.augment.rotation"));
  CHECK_THROWS_WITH(
      trainer::TrainConfig::from_json(json{{"augment", {{"brightness", 1.5}}}}, "training"),
      Catch::Contains("training.augment.brightness"));
  CHECK_THROWS_AS(trainer::TrainConfig::from_json(json{{"augment", {{"contrast", -0.1}}}}, "t"),
                  ConfigError);
  CHECK_THROWS_WITH(
      trainer::TrainConfig::from_json(json{{"augment", {{"cutout", 2.5}}}}, "training"),
      Catch::Contains("training.augment.cutout: expected an integer"));
  CHECK_THROWS_WITH(trainer::TrainConfig::from_json(json{{"augment", true}}, "training"),
                    Catch::Contains("training.augment"));
}

TEST_CASE("a network trained with every augmentation on still learns", "[trainer]") {
  const auto data = rgb_splits();
  auto space = small_space();
  const auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  auto config = quick_config();
  config.epochs = 3;
  config.augment.rotation = 10;
  config.augment.brightness = 0.2;
  config.augment.contrast = 0.2;
  config.augment.saturation = 0.2;
  config.augment.cutout = 4;
  auto train = [&](const trainer::DataSplits& splits) {
    at::manual_seed(3);
    auto net = space::build_network(space, arch, splits.shape, splits.num_classes);
    return trainer::train_network(*net, splits, config, c10::Device(c10::kCPU), 5, nullptr);
  };
  const auto first = train(data);
  REQUIRE(first.epochs.size() == 3);
  INFO("validation accuracy " << first.epochs.back().val_accuracy);
  CHECK(first.epochs.back().val_accuracy > 0.6);  // chance: 0.25
  // Grayscale: saturation is ignored (with a warning), the rest trains.
  auto gray = data;
  gray.train.images = data.train.images.narrow(1, 0, 1).contiguous();
  gray.validation.images = data.validation.images.narrow(1, 0, 1).contiguous();
  gray.shape.channels = 1;
  gray.mean.resize(1);
  gray.std.resize(1);
  const auto gray_outcome = train(gray);
  INFO("grayscale validation accuracy " << gray_outcome.epochs.back().val_accuracy);
  CHECK(gray_outcome.epochs.back().val_accuracy > 0.6);
  // The augmentations did reach the training loop: without them the same seed trains otherwise.
  config.augment = {};
  CHECK(train(data).epochs.front().train_loss != first.epochs.front().train_loss);
}

TEST_CASE("crop and flip of an empty batch (a rank's share of a short last batch) is empty",
          "[trainer]") {
  const auto empty = at::zeros({0, 3, 8, 8});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto draws = trainer::draw_augmentation(0, 2, true, gen);
  const auto out = trainer::crop_and_flip(empty, 2, draws.offsets, draws.flips);
  CHECK(out.sizes() == empty.sizes());
}
