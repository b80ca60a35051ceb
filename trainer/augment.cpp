#include "trainer/augment.h"

#include <ATen/ATen.h>

#include <numbers>
#include <utility>

namespace nasforge::trainer {

AugmentDraws draw_augmentation(std::int64_t count, int padding, bool flip, at::Generator& gen) {
  AugmentDraws draws;
  if (padding > 0) {
    draws.offsets =
        at::randint(2 * padding + 1, {count, 2}, gen, at::TensorOptions().dtype(at::kLong));
  }
  if (flip) draws.flips = at::rand({count}, gen, at::TensorOptions().dtype(at::kFloat)).lt(0.5);
  return draws;
}

at::Tensor crop_and_flip(const at::Tensor& batch, int padding, const at::Tensor& offsets,
                         const at::Tensor& flips) {
  const bool crop = padding > 0 && offsets.defined();
  // A rank's share of a last global batch smaller than the world can be empty.
  if ((!crop && !flips.defined()) || batch.size(0) == 0) return batch;
  const int pad = crop ? padding : 0;
  const auto n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
  const auto padded_w = w + 2 * pad;
  const auto index_options = at::TensorOptions().dtype(at::kLong).device(batch.device());
  auto rows = at::arange(h, index_options).unsqueeze(0);                            // [1, H]
  auto cols = at::arange(w, index_options).unsqueeze(0);                            // [1, W]
  if (flips.defined()) cols = at::where(flips.view({n, 1}), (w - 1) - cols, cols);  // [N, W]
  if (crop) {
    rows = rows + offsets.select(1, 0).unsqueeze(1);
    cols = cols + offsets.select(1, 1).unsqueeze(1);
  }
  // Flat index into each padded plane: [N, H*W], the same for every channel.
  auto flat =
      (rows.unsqueeze(2) * padded_w + cols.unsqueeze(1)).expand({n, h, w}).reshape({n, 1, h * w});
  auto source = pad > 0 ? at::constant_pad_nd(batch, {pad, pad, pad, pad}, 0) : batch.contiguous();
  return source.reshape({n, c, -1}).gather(2, flat.expand({n, c, h * w})).view({n, c, h, w});
}

at::Tensor draw_image_augmentation(std::int64_t count, const Augmentation& augment,
                                   std::int64_t height, std::int64_t width, at::Generator& gen) {
  if (!augment.any()) return {};
  const auto float_options = at::TensorOptions().dtype(at::kFloat);
  auto params = at::zeros({count, kAugmentColumns}, float_options);
  auto uniform = [&](int column, double lo, double hi) {
    params.select(1, column).copy_(at::rand({count}, gen, float_options) * (hi - lo) + lo);
  };
  if (augment.rotation > 0) uniform(kAngle, -augment.rotation, augment.rotation);
  const std::pair<int, double> factors[] = {{kBrightness, augment.brightness},
                                            {kContrast, augment.contrast},
                                            {kSaturation, augment.saturation}};
  for (const auto& [column, spread] : factors) {
    if (spread > 0) {
      uniform(column, 1.0 - spread, 1.0 + spread);
    } else {
      params.select(1, column).fill_(1.0);
    }
  }
  if (augment.cutout > 0) {
    const auto long_options = at::TensorOptions().dtype(at::kLong);
    params.select(1, kCutoutRow).copy_(at::randint(height, {count}, gen, long_options));
    params.select(1, kCutoutColumn).copy_(at::randint(width, {count}, gen, long_options));
  }
  return params;
}

namespace {

// The ITU-R 601-2 luma of an RGB batch (torchvision's rgb_to_grayscale), [N, 1, H, W]; the
// channel itself for one channel, the channel mean otherwise.
at::Tensor grayscale(const at::Tensor& x) {
  if (x.size(1) == 3)
    return 0.2989 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1);
  return x.mean(1, /*keepdim=*/true);
}

// factor * a + (1 - factor) * b, clamped to [0, 1] (torchvision's _blend).
at::Tensor blend(const at::Tensor& a, const at::Tensor& b, const at::Tensor& factor) {
  return (factor * a + (1 - factor) * b).clamp_(0, 1);
}

}  // namespace

at::Tensor color_jitter(const at::Tensor& pixels, const at::Tensor& params,
                        const Augmentation& augment) {
  const auto n = pixels.size(0);
  if (n == 0) return pixels;
  auto factor = [&](int column) { return params.select(1, column).view({n, 1, 1, 1}); };
  auto x = pixels;
  if (augment.brightness > 0) x = (x * factor(kBrightness)).clamp_(0, 1);
  if (augment.contrast > 0) {
    x = blend(x, grayscale(x).mean({1, 2, 3}, /*keepdim=*/true), factor(kContrast));
  }
  if (augment.saturation > 0 && x.size(1) == 3) {
    x = blend(x, grayscale(x), factor(kSaturation));
  }
  return x;
}

at::Tensor rotate(const at::Tensor& batch, const at::Tensor& degrees) {
  const auto n = batch.size(0), h = batch.size(2), w = batch.size(3);
  if (n == 0) return batch;
  // affine_grid maps each output pixel to the input point it samples, in coordinates normalised
  // to [-1, 1] per axis (y down): for a counter-clockwise turn by a that is the rotation by a in
  // pixel units, rescaled by the aspect ratio so that non-square images turn without shearing.
  auto radians = degrees.to(batch.scalar_type()) * (std::numbers::pi / 180.0);
  auto cos = radians.cos(), sin = radians.sin(), zero = at::zeros_like(radians);
  const double h_over_w = static_cast<double>(h) / static_cast<double>(w);
  auto theta =
      at::stack({cos, -sin * h_over_w, zero, sin / h_over_w, cos, zero}, 1).view({n, 2, 3});
  auto grid = at::affine_grid_generator(theta, {n, batch.size(1), h, w}, /*align_corners=*/false);
  return at::grid_sampler(batch, grid, /*interpolation_mode=bilinear*/ 0,
                          /*padding_mode=zeros*/ 0, /*align_corners=*/false);
}

at::Tensor cutout(const at::Tensor& batch, int size, const at::Tensor& centres) {
  const auto n = batch.size(0), h = batch.size(2), w = batch.size(3);
  if (n == 0 || size <= 0) return batch;
  const auto options = at::TensorOptions().dtype(at::kFloat).device(batch.device());
  // Inside along one axis: first <= index < first + size, [N, length].
  auto inside = [&](int column, std::int64_t length) {
    auto first =
        (centres.select(1, column).to(at::kFloat) - static_cast<float>(size / 2)).view({n, 1});
    auto index = at::arange(length, options).view({1, length});
    return index.ge(first).logical_and(index.lt(first + size));
  };
  auto mask = inside(0, h).unsqueeze(2).logical_and(inside(1, w).unsqueeze(1));  // [N, H, W]
  return batch.masked_fill(mask.unsqueeze(1), 0);
}

at::Tensor rotate_and_cut_out(const at::Tensor& batch, const at::Tensor& params,
                              const Augmentation& augment) {
  auto x = batch;
  if (augment.rotation > 0) x = rotate(x, params.select(1, kAngle));
  if (augment.cutout > 0) x = cutout(x, augment.cutout, params.narrow(1, kCutoutRow, 2));
  return x;
}

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen) {
  if (padding <= 0) return batch;
  auto draws = draw_augmentation(batch.size(0), padding, false, gen);
  return crop_and_flip(batch, padding, draws.offsets.to(batch.device()), {});
}

at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen) {
  auto draws = draw_augmentation(batch.size(0), 0, true, gen);
  return crop_and_flip(batch, 0, {}, draws.flips.to(batch.device()));
}

}  // namespace nasforge::trainer
