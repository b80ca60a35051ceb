#pragma once
// A tiny block network for the compression tests: 1x12x12 inputs, 4 classes, one stage of each
// block type (basic, bottleneck, dense), so every kind of prunable channel is there.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/block_space.h"
#include "space/modules/block_network.h"

namespace nasforge::testing {

constexpr int kClasses = 4;
inline const space::InputShape kShape{1, 12, 12};

inline space::BlockSpace tiny_space() {
  return space::BlockSpace(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 4, "stages": [
    {"block": ["basic"], "depth": [1], "width": [8], "growth_rate": [4], "kernel": [3]},
    {"block": ["bottleneck"], "depth": [1], "width": [16], "growth_rate": [4], "kernel": [3]},
    {"block": ["dense"], "depth": [2], "width": [8], "growth_rate": [4], "kernel": [3]}]})"));
}

inline space::Architecture tiny_arch(const space::BlockSpace& space) {
  return space.make(std::vector<int>(15, 0));
}

// The network with random weights and BatchNorm statistics (so that eval-mode outputs depend on
// every tensor), in eval mode.
inline std::shared_ptr<space::Network> tiny_network(const space::BlockSpace& space,
                                                    const space::Architecture& arch,
                                                    std::uint64_t seed = 3) {
  torch::manual_seed(seed);
  auto net = space::build_block_network(space, arch, kShape, kClasses);
  at::NoGradGuard no_grad;
  for (auto& item : net->named_buffers(true)) {
    const auto& name = item.key();
    auto& b = item.value();
    if (name.ends_with("running_mean")) b.copy_(at::randn_like(b) * 0.1);
    if (name.ends_with("running_var")) b.copy_(at::rand_like(b) + 0.5);
  }
  for (auto& item : net->named_parameters(true)) {
    const auto& name = item.key();
    auto& p = item.value();
    if (name.find("bn") != std::string::npos && name.ends_with("weight"))
      p.copy_(at::rand_like(p) + 0.5);
    if (name.find("bn") != std::string::npos && name.ends_with("bias"))
      p.copy_(at::randn_like(p) * 0.1);
  }
  net->eval();
  return net;
}

}  // namespace nasforge::testing
