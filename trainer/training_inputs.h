#pragma once
// What the training loops (training_loop, distributed/pipeline_training) share about a step's
// input: the images normalised on the device, the experiment's augmentation as this data can take
// it, the crop and flip defaults, and the learning rate of each step.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "trainer/dataset.h"
#include "trainer/train_config.h"

namespace nasforge::trainer {

// (x / 255 - mean) / std as one multiply-add, x * scale + shift, with [1, C, 1, 1] tensors made
// on the device once instead of per batch.
class PixelNormalizer {
 public:
  PixelNormalizer(const std::vector<float>& mean, const std::vector<float>& std,
                  c10::Device device);
  // uint8 images [N, C, H, W] to normalised floats.
  at::Tensor apply(const at::Tensor& images_u8) const;
  // uint8 images to [0, 1] pixels, colour-jittered there (where its clamps are defined) with
  // each image's factors from `params`, then normalised.
  at::Tensor apply_jittered(const at::Tensor& images_u8, const at::Tensor& params,
                            const Augmentation& augment) const;

 private:
  at::Tensor scale_;
  at::Tensor shift_;
  at::Tensor unit_scale_;  // 1 / std, for pixels already in [0, 1]
};

// A training batch as the network takes it: uint8 images [N, C, H, W] normalised (colour-jittered
// first when `augment` asks), cropped and flipped by `offsets` and `flips`, then rotated and cut
// out by `params` (draw_image_augmentation's rows for these images). An undefined draw leaves its
// op out. The draws must be on the images' device.
at::Tensor augmented_batch(const PixelNormalizer& normalizer, const at::Tensor& images_u8,
                           const Augmentation& augment, int padding, const at::Tensor& offsets,
                           const at::Tensor& flips, const at::Tensor& params);

// The experiment's augmentation as this data set can take it: saturation means nothing on
// grayscale (torchvision leaves such images as they are), so it is dropped with a warning, once
// per process rather than once per trial.
Augmentation effective_augmentation(const Augmentation& asked, int channels);

// The random crop's zero padding: the config's, or 2 for 28px inputs and 4 from 32px.
int effective_crop_padding(const TrainConfig& config, const DataSplits& data);
// Random horizontal flips: the config's, or on for natural images (CIFAR), off otherwise.
bool effective_flip(const TrainConfig& config, const DataSplits& data);

// Cosine annealing from config.learning_rate over `total_steps`, after a linear warm-up over
// `warmup_steps` (step is 0-based).
double learning_rate_at(const TrainConfig& config, std::int64_t step, std::int64_t total_steps,
                        std::int64_t warmup_steps);

}  // namespace nasforge::trainer
