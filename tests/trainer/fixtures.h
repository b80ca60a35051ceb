#pragma once
// Shared fixtures for trainer tests: the synthetic set, a small block space, a quick config.
#include <memory>

#include <nlohmann/json.hpp>

#include "space/block_space.h"
#include "trainer/dataset.h"
#include "trainer/train_config.h"

namespace nasforge::testing {

inline std::shared_ptr<trainer::DataSplits> synthetic_splits() {
  trainer::DatasetSpec spec;
  spec.name = "synthetic";
  spec.format = "synthetic";  // the struct's default format is idx (Fashion-MNIST)
  spec.path.clear();
  spec.validation_fraction = 0.2;
  return std::make_shared<trainer::DataSplits>(trainer::load_splits(spec));
}

inline space::BlockSpace small_space() {
  return space::BlockSpace(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 8, "stages": [
    {"block": ["basic", "dense"], "depth": [1], "width": [8], "growth_rate": [4]},
    {"block": ["basic", "bottleneck"], "depth": [1], "width": [16]}]})"));
}

inline trainer::TrainConfig quick_config() {
  trainer::TrainConfig config;
  config.epochs = 3;
  config.batch_size = 64;
  config.learning_rate = 0.05;
  config.device = "cpu";
  return config;
}

}  // namespace nasforge::testing
