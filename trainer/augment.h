#pragma once
// Standard augmentation on a normalised float batch: random crop with zero padding (zero is the
// mean after normalisation) and random horizontal flip. Runs on the batch's device.
//
// The training loop draws an epoch's crop offsets and flips on the host in one go
// (draw_augmentation) and moves them to the device with one copy, so a seed trains the same on
// every device and the step loop never waits for the host.
#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace nasforge::trainer {

struct AugmentDraws {
  at::Tensor offsets;  // int64 [N, 2]: top row and left column in the padded image; undefined: none
  at::Tensor flips;    // bool [N]: mirror horizontally; undefined: none
};

// Draws `count` images' crop offsets (in [0, 2 * padding]) and flips (probability 1/2) on the CPU.
AugmentDraws draw_augmentation(std::int64_t count, int padding, bool flip, at::Generator& gen);

// Crops each image of `batch` [N, C, H, W] at its offsets from the zero-padded image and mirrors
// the flagged ones, with one gather. Undefined offsets mean no shift, undefined flips no mirror;
// offsets and flips must be on the batch's device.
at::Tensor crop_and_flip(const at::Tensor& batch, int padding, const at::Tensor& offsets,
                         const at::Tensor& flips);

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen);
at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen);

}  // namespace nasforge::trainer
