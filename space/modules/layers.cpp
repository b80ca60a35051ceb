#include "space/modules/layers.h"

namespace nasforge::space::modules {

torch::nn::Conv2d make_conv(int in, int out, int kernel, int stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace nasforge::space::modules
