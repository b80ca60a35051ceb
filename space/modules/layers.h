#pragma once
// Small LibTorch building blocks shared by the networks of the search spaces.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include "space/modules/network.h"

namespace nasforge::space::modules {

// A module with one tensor in and one out, so blocks can be held polymorphically.
class Layer : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

// Spatial size after a convolution with "same" padding and this stride.
inline int conv_out(int size, int kernel, int stride) {
  return (size + 2 * (kernel / 2) - kernel) / stride + 1;
}

torch::nn::Conv2d make_conv(int in, int out, int kernel, int stride = 1);

}  // namespace nasforge::space::modules
