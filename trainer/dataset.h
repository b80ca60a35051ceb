#pragma once
// Image classification datasets held in memory as uint8 tensors, split into train / validation
// (carved from the training set with a fixed seed) / test (used only by `nasforge export`).
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "space/modules/network.h"

namespace nasforge::trainer {

struct Dataset {
  at::Tensor images;  // uint8 [N, C, H, W]
  at::Tensor labels;  // int64 [N]
  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

struct DatasetSpec {
  std::string name = "fashion-mnist";  // fashion-mnist, cifar10, or synthetic (tests only)
  std::string path = "/usr/share/datasets/fashion-mnist";
  double validation_fraction = 0.1;
  std::int64_t train_subset = 0;  // use at most this many training images (0: all)
  std::uint64_t split_seed = 0;

  static DatasetSpec from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

struct DataSplits {
  Dataset train;
  Dataset validation;
  Dataset test;
  int num_classes = 10;
  space::InputShape shape;
  std::vector<float> mean;  // per channel, of the training split, in [0, 1] units
  std::vector<float> std;
  bool natural_images = false;  // horizontal flips make sense
};

// Loads and splits; throws DataError naming the missing or malformed file.
DataSplits load_splits(const DatasetSpec& spec);

// Readers for the on-disk formats (exposed for tests).
Dataset read_fashion_mnist(const std::string& dir, bool train);
Dataset read_cifar10(const std::string& dir, bool train);
// A small, learnable synthetic set (class-dependent blobs) for unit tests.
Dataset make_synthetic(std::int64_t count, int channels, int size, int classes, std::uint64_t seed);

}  // namespace nasforge::trainer
