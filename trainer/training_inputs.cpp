#include "trainer/training_inputs.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numbers>

#include "common/log.h"
#include "trainer/augment.h"

namespace nasforge::trainer {

PixelNormalizer::PixelNormalizer(const std::vector<float>& mean, const std::vector<float>& std,
                                 c10::Device device) {
  std::vector<float> scale_values, shift_values, unit_scale_values;
  for (size_t c = 0; c < mean.size(); ++c) {
    scale_values.push_back(1.0f / (255.0f * std[c]));
    shift_values.push_back(-mean[c] / std[c]);
    unit_scale_values.push_back(1.0f / std[c]);
  }
  const auto count = static_cast<std::int64_t>(mean.size());
  scale_ = at::tensor(scale_values, at::kFloat).view({1, count, 1, 1}).to(device);
  shift_ = at::tensor(shift_values, at::kFloat).view({1, count, 1, 1}).to(device);
  unit_scale_ = at::tensor(unit_scale_values, at::kFloat).view({1, count, 1, 1}).to(device);
}

at::Tensor PixelNormalizer::apply(const at::Tensor& images_u8) const {
  return at::addcmul(shift_, images_u8.to(at::kFloat), scale_);
}

at::Tensor PixelNormalizer::apply_jittered(const at::Tensor& images_u8, const at::Tensor& params,
                                           const Augmentation& augment) const {
  auto pixels = color_jitter(images_u8.to(at::kFloat).div_(255.0f), params, augment);
  return at::addcmul(shift_, pixels, unit_scale_);
}

at::Tensor augmented_batch(const PixelNormalizer& normalizer, const at::Tensor& images_u8,
                           const Augmentation& augment, int padding, const at::Tensor& offsets,
                           const at::Tensor& flips, const at::Tensor& params) {
  auto x = crop_and_flip(augment.jitter() ? normalizer.apply_jittered(images_u8, params, augment)
                                          : normalizer.apply(images_u8),
                         padding, offsets, flips);
  if (params.defined()) x = rotate_and_cut_out(x, params, augment);
  return x;
}

Augmentation effective_augmentation(const Augmentation& asked, int channels) {
  Augmentation augment = asked;
  if (augment.saturation > 0 && channels != 3) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      log::warn("training.augment.saturation is ignored: the images have " +
                std::to_string(channels) + " channel(s), and saturation needs 3 (RGB)");
    }
    augment.saturation = 0;
  }
  return augment;
}

int effective_crop_padding(const TrainConfig& config, const DataSplits& data) {
  return config.crop_padding >= 0 ? config.crop_padding : (data.shape.height >= 32 ? 4 : 2);
}

bool effective_flip(const TrainConfig& config, const DataSplits& data) {
  return config.flip >= 0 ? config.flip == 1 : data.natural_images;
}

double learning_rate_at(const TrainConfig& config, std::int64_t step, std::int64_t total_steps,
                        std::int64_t warmup_steps) {
  if (step < warmup_steps) {
    return config.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double progress =
      static_cast<double>(step - warmup_steps) /
      static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps));
  return 0.5 * config.learning_rate * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace nasforge::trainer
