#include "trainer/distributed/pipeline_partition.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <limits>

#include "common/errors.h"
#include "space/modules/layers.h"

namespace nasforge::trainer::distributed {

std::vector<at::Tensor> PipelinePiece::parameters() const {
  std::vector<at::Tensor> all;
  for (const auto& m : modules) {
    for (auto& p : m->parameters()) all.push_back(p);
  }
  return all;
}

std::vector<PipelinePiece> block_network_pieces(space::Network& network) {
  const auto children = network.named_children();
  auto wrong = [&](const std::string& why) {
    return ConfigError("pipeline stages: the network is not a block network (" + why +
                       "); only block-space networks can be split into stages");
  };
  if (children.size() < 3 || children[0].key() != "stem" || children[1].key() != "stem_bn" ||
      children[children.size() - 1].key() != "head") {
    throw wrong("expected stem, stem_bn, blocks, head");
  }
  auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(children[0].value());
  auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(children[1].value());
  auto head =
      std::dynamic_pointer_cast<torch::nn::LinearImpl>(children[children.size() - 1].value());
  if (!conv || !bn || !head) throw wrong("stem, stem_bn or head of another type");

  std::vector<PipelinePiece> pieces;
  PipelinePiece stem;
  stem.name = "stem";
  stem.modules = {conv, bn};
  stem.forward = [conv, bn](const at::Tensor& x) {
    return torch::nn::functional::relu(bn->forward(conv->forward(x)));
  };
  pieces.push_back(std::move(stem));
  for (size_t i = 2; i + 1 < children.size(); ++i) {
    auto layer = std::dynamic_pointer_cast<space::modules::Layer>(children[i].value());
    if (!layer) throw wrong("child '" + children[i].key() + "' is not a block");
    PipelinePiece piece;
    piece.name = children[i].key();
    piece.modules = {layer};
    piece.forward = [layer](const at::Tensor& x) { return layer->forward(x); };
    pieces.push_back(std::move(piece));
  }
  PipelinePiece last;
  last.name = "head";
  last.modules = {head};
  last.forward = [head](const at::Tensor& x) { return head->forward(x.mean({2, 3})); };
  pieces.push_back(std::move(last));
  return pieces;
}

std::string to_string(StageBalance balance) {
  return balance == StageBalance::kFlops ? "flops" : "parameters";
}

StageBalance parse_stage_balance(const std::string& name) {
  if (name == "flops") return StageBalance::kFlops;
  if (name == "parameters") return StageBalance::kParameters;
  throw ConfigError("pipeline balance '" + name + "': expected flops or parameters");
}

std::vector<double> piece_costs(const std::vector<PipelinePiece>& pieces, StageBalance balance,
                                const space::InputShape& input) {
  std::vector<double> costs;
  costs.reserve(pieces.size());
  if (balance == StageBalance::kParameters) {
    for (const auto& piece : pieces) {
      double n = 0;
      for (const auto& p : piece.parameters()) n += static_cast<double>(p.numel());
      costs.push_back(n);
    }
    return costs;
  }
  // One image through the pieces in inference mode (leaves batch-norm statistics alone).
  std::vector<bool> was_training;
  for (const auto& piece : pieces) {
    for (const auto& m : piece.modules) {
      was_training.push_back(m->is_training());
      m->eval();
    }
  }
  const at::NoGradGuard no_grad;
  // On the pieces' device: a trial's network is already on its GPU when it is cut.
  const auto first = pieces.empty() ? std::vector<at::Tensor>{} : pieces.front().parameters();
  auto x = at::zeros({1, input.channels, input.height, input.width},
                     at::TensorOptions().device(first.empty() ? at::kCPU : first.front().device()));
  for (const auto& piece : pieces) {
    x = piece.forward(x);
    const double pixels = x.dim() == 4 ? static_cast<double>(x.size(2) * x.size(3)) : 1.0;
    double cost = 0;
    for (const auto& p : piece.parameters()) {
      if (p.dim() == 4) cost += static_cast<double>(p.numel()) * pixels;
      if (p.dim() == 2) cost += static_cast<double>(p.numel());
    }
    costs.push_back(cost);
  }
  size_t i = 0;
  for (const auto& piece : pieces) {
    for (const auto& m : piece.modules) m->train(was_training[i++]);
  }
  return costs;
}

std::vector<int> partition_balanced(const std::vector<double>& costs, int stages) {
  const int n = static_cast<int>(costs.size());
  if (stages < 1)
    throw ConfigError("pipeline stages: " + std::to_string(stages) + ": must be >= 1");
  if (n < stages) {
    throw ConfigError("pipeline stages: " + std::to_string(stages) + " stages for a network of " +
                      std::to_string(n) + " pieces (stem, blocks, head); use at most " +
                      std::to_string(n) + " stages");
  }
  std::vector<double> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + costs[i];
  // best[k][j]: the smallest largest stage cost of the first j pieces in k stages; cut[k][j] the
  // start of the last of them. O(stages * n^2), n being a network's few dozen pieces.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<int>> cut(stages + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int k = 1; k <= stages; ++k) {
    for (int j = k; j <= n; ++j) {
      for (int i = k - 1; i < j; ++i) {
        const double worst = std::max(best[k - 1][i], prefix[j] - prefix[i]);
        if (worst < best[k][j]) {
          best[k][j] = worst;
          cut[k][j] = i;
        }
      }
    }
  }
  std::vector<int> bounds(stages + 1);
  bounds[stages] = n;
  for (int k = stages; k >= 1; --k) bounds[k - 1] = cut[k][bounds[k]];
  return bounds;
}

}  // namespace nasforge::trainer::distributed
