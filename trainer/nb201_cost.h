#pragma once
// Parameters and multiply-adds of the NAS-Bench-201 network (Dong & Yang, ICLR 2020), counted
// from the cell alone, as space/modules/nb201_network builds it: a 3x3 stem convolution and BN,
// three stages of N cells at C, 2C, 4C channels with a stride-2 residual block between stages
// (ReLU-Conv3x3(stride 2)-BN, ReLU-Conv3x3-BN, shortcut 2x2 average pool + 1x1 conv), then BN,
// global average pooling and a linear classifier. Conv ops are ReLU-Conv-BN without bias; BN
// has 2 parameters per channel. Multiply-adds count convolutions and the classifier (pooling,
// BN, additions are free), for one input. Free of LibTorch, so the table evaluator can fill
// costs without building a network.
#include <cstdint>
#include <string>
#include <vector>

namespace nasforge::trainer {

struct Nb201Shape {
  int channels = 16;        // C of the first stage
  int cells_per_stage = 5;  // N
  int input_channels = 3;
  int height = 32;
  int width = 32;
  int num_classes = 10;
};

struct NetworkCost {
  std::int64_t params = 0;
  std::int64_t flops = 0;  // multiply-adds for one input
};

// `ops` holds the 6 edges' operation indices into Nb201Space::kOperations.
NetworkCost nb201_network_cost(const std::vector<int>& ops, const Nb201Shape& shape = {});

// The benchmark's network for a table column: CIFAR-10 (32x32, 10 classes), CIFAR-100 (32x32,
// 100) or ImageNet16-120 (16x16, 120), at C = 16, N = 5, by the column's prefix ("cifar10_",
// "cifar100_", "imagenet16_"); false for another column.
bool nb201_shape_of_column(const std::string& column, Nb201Shape& shape);

}  // namespace nasforge::trainer
