#pragma once
// Standard augmentation on a normalised float batch: random crop with zero padding (zero is the
// mean after normalisation) and random horizontal flip; and, when the experiment asks for them
// (Augmentation), colour jitter on the [0, 1] pixels before normalisation, then random rotation
// and cutout after crop and flip. Runs on the batch's device.
//
// The training loop draws an epoch's crop offsets and flips on the host in one go
// (draw_augmentation), then the other ops' per-image parameters (draw_image_augmentation), and
// moves each to the device with one copy, so a seed trains the same on every device and the step
// loop never waits for the host.
#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "trainer/train_config.h"

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

// Columns of the per-image parameters that draw_image_augmentation returns.
enum AugmentColumn : int {
  kAngle = 0,       // rotation in degrees, counter-clockwise
  kBrightness = 1,  // jitter factors
  kContrast = 2,
  kSaturation = 3,
  kCutoutRow = 4,  // cutout centre, a pixel of the H x W image
  kCutoutColumn = 5,
  kAugmentColumns = 6
};

// Per-image parameters of the ops `augment` turns on, float [count, kAugmentColumns] on the CPU;
// an op that is off takes no draws from `gen` and holds its neutral value (angle 0, factor 1).
// Undefined when every op is off, so the generator then advances exactly as it did before these
// ops existed. The draws come in column order, each a vector of `count`.
at::Tensor draw_image_augmentation(std::int64_t count, const Augmentation& augment,
                                   std::int64_t height, std::int64_t width, at::Generator& gen);

// Brightness, contrast, then saturation on `pixels` (float [N, C, H, W] in [0, 1]) with each
// image's factors from `params` (on the batch's device), each step clamped to [0, 1], as
// torchvision's adjust_* functions: brightness scales, contrast blends with the image's mean gray
// level, saturation blends with the image's grayscale (ITU-R 601-2 weights; 3 channels only,
// other channel counts pass through). Ops that `augment` leaves off are skipped.
at::Tensor color_jitter(const at::Tensor& pixels, const at::Tensor& params,
                        const Augmentation& augment);

// Rotates each image of `batch` [N, C, H, W] counter-clockwise about its centre by `degrees`
// (float [N], on the batch's device), bilinear, with zeros where the rotated image does not
// reach (one affine_grid + grid_sample for the batch).
at::Tensor rotate(const at::Tensor& batch, const at::Tensor& degrees);

// Zeroes in each image the size x size square with rows [row - size / 2, row - size / 2 + size)
// (and the same for columns) around its centre `centres` (float [N, 2]: row, column; on the
// batch's device), clipped at the borders. For an even size this is DeVries & Taylor's square.
at::Tensor cutout(const at::Tensor& batch, int size, const at::Tensor& centres);

// Rotation then cutout, each if `augment` turns it on, with the parameters of `params`.
at::Tensor rotate_and_cut_out(const at::Tensor& batch, const at::Tensor& params,
                              const Augmentation& augment);

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen);
at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen);

}  // namespace nasforge::trainer
