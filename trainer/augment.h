#pragma once
// Standard augmentation on a normalised float batch: random crop with zero padding (zero is the
// mean after normalisation) and random horizontal flip. Runs on the batch's device.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace nasforge::trainer {

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen);
at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen);

}  // namespace nasforge::trainer
