#pragma once
// The LibTorch side of a search space: a Network realises an Architecture for an input shape and
// a class count. Kept apart from the encoding (space/*.h), whose headers stay free of LibTorch.
#include <cstdint>
#include <memory>

#include <torch/nn/module.h>

#include "space/search_space.h"

namespace nasforge::space {

struct InputShape {
  int channels = 1;
  int height = 28;
  int width = 28;
};

// Counts multiply-adds while a network is built (each conv/linear adds its own).
struct CostCounter {
  std::int64_t multiply_adds = 0;
  void conv(int in_channels, int out_channels, int kernel, int out_h, int out_w, int groups = 1) {
    multiply_adds += static_cast<std::int64_t>(in_channels / groups) * out_channels * kernel *
                     kernel * out_h * out_w;
  }
  void linear(int in_features, int out_features) {
    multiply_adds += static_cast<std::int64_t>(in_features) * out_features;
  }
};

class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor input) = 0;
  std::int64_t flops() const { return flops_; }
  std::int64_t parameter_count() const;

 protected:
  std::int64_t flops_ = 0;
};

// Builds the network of `arch` in `space` (blocks or nb201); throws ConfigError if it cannot be
// built for this input (e.g. too many stride-2 stages for the resolution).
std::shared_ptr<Network> build_network(const SearchSpace& space, const Architecture& arch,
                                       const InputShape& input, int num_classes);

}  // namespace nasforge::space
