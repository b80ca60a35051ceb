#pragma once
// Model parallelism by pipeline stages (GPipe, Huang et al. 2019), the first half: a network cut
// into consecutive pieces, and the pieces grouped into stages of balanced cost. A block network
// is a sequence (stem, its blocks or dense stages, pooled head), so each of those is a piece.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "space/modules/network.h"

namespace nasforge::trainer::distributed {

// One consecutive part of a network: the modules it owns (shared with the network, so its
// parameters are the network's) and how it maps its input to its output.
struct PipelinePiece {
  std::string name;  // the network's child: "stem", "stage1_block0", "head"
  std::vector<std::shared_ptr<torch::nn::Module>> modules;
  std::function<at::Tensor(const at::Tensor&)> forward;
  std::vector<at::Tensor> parameters() const;
};

// The pieces of a block-space network (space/modules/block_network): the stem (conv, batch norm,
// ReLU), each block or dense stage, and the head (global mean pooling, linear). Applying them in
// order computes what network.forward does, with the same operations. Throws ConfigError for a
// network of another shape (an NB-201 cell network is not a sequence of such modules).
std::vector<PipelinePiece> block_network_pieces(space::Network& network);

enum class StageBalance {
  kParameters,  // each piece costs its parameter count
  kFlops,       // each piece costs its multiply-adds per image
};

// "parameters" or "flops", as experiments name them; parse_stage_balance throws ConfigError for
// another name.
std::string to_string(StageBalance balance);
StageBalance parse_stage_balance(const std::string& name);

// Each piece's cost. kFlops runs the pieces once on a zero image of `input` to learn each
// output's resolution: a convolution costs its weight's size times its piece's output pixels
// (exact except for the 1x1 before a strided bottleneck convolution, counted at the lower
// resolution), a linear layer its weight's size.
std::vector<double> piece_costs(const std::vector<PipelinePiece>& pieces, StageBalance balance,
                                const space::InputShape& input);

// Splits `costs` (in order) into `stages` consecutive non-empty runs whose largest total is as
// small as possible. Returns stages + 1 boundaries: stage s holds pieces [b[s], b[s + 1]).
// Throws ConfigError when there are fewer pieces than stages or stages < 1.
std::vector<int> partition_balanced(const std::vector<double>& costs, int stages);

}  // namespace nasforge::trainer::distributed
