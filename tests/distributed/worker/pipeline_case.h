#pragma once
// The case shared by pipeline_worker (the stages, one per rank) and pipeline_test (the whole
// network on one process): a network, its batches and its optimizer, all seeded.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "space/block_space.h"
#include "space/modules/network.h"
#include "trainer/sgd.h"

namespace nasforge::pipeline_case {

constexpr int kSteps = 3;
constexpr int kMicroBatches = 4;
constexpr std::int64_t kBatch = 18;  // micro-batches of 5, 5, 4, 4: unequal on purpose
constexpr double kLearningRate = 0.05;
constexpr int kClasses = 4;

// stem, stage0_block0, stage0_block1, stage1_block0, stage2, head: six pieces.
inline std::shared_ptr<space::Network> make_network() {
  space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 8, "stages": [
    {"block": ["basic"], "depth": [2], "width": [8]},
    {"block": ["bottleneck"], "depth": [1], "width": [16]},
    {"block": ["dense"], "depth": [2], "width": [16], "growth_rate": [8]}]})"));
  torch::manual_seed(11);
  space::InputShape input;
  input.channels = 1;
  input.height = 12;
  input.width = 12;
  return space::build_network(space,
                              space.parse("basic-d2-w8-k3/bottleneck-d1-w16-k3/dense-d2-g8-w16-k3"),
                              input, kClasses);
}

inline std::pair<at::Tensor, at::Tensor> batch(int step) {
  torch::manual_seed(100 + step);
  auto images = at::randn({kBatch, 1, 12, 12});
  auto labels = at::randint(0, kClasses, {kBatch}, at::TensorOptions().dtype(at::kLong));
  return {images, labels};
}

inline trainer::SgdOptions sgd() {
  trainer::SgdOptions o;
  o.momentum = 0.9;
  o.nesterov = true;
  o.weight_decay = 1e-3;
  return o;
}

}  // namespace nasforge::pipeline_case
