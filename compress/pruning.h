#pragma once
// Structured pruning of a block network: rank the inner channels of its units (the channels no
// addition or concatenation index ties to others; space/block_widths.h), remove the lowest ranked
// until the network's FLOPs or parameters reach a target, and build the smaller dense network
// with the kept channels' weights (conv out-channels, BatchNorm, the next conv's in-channels).
// Ranking by the L1 norm of each channel's filters (Li et al. 2017, "Pruning filters for efficient
// ConvNets") or by |gamma| of the BatchNorm that scales it, after an optional L1 penalty on those
// scales while fine-tuning (network slimming, Liu et al. 2017).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "space/block_widths.h"
#include "space/modules/network.h"

namespace nasforge::compress {

enum class PruneTarget { kFlops, kParams };
enum class Ranking { kL1, kBatchNorm };

// "flops" / "params" and "l1" / "bn"; throw ConfigError naming `where` otherwise.
PruneTarget parse_prune_target(const std::string& text, const std::string& where);
Ranking parse_ranking(const std::string& text, const std::string& where);
std::string to_string(PruneTarget target);
std::string to_string(Ranking ranking);

// What a block network of these inner widths holds and computes.
struct NetworkCost {
  std::int64_t params = 0;
  std::int64_t flops = 0;  // multiply-adds of one image, as space::CostCounter counts them
};

// Counted from the architecture, without building the network.
NetworkCost block_network_cost(const space::BlockSpace& space, const space::Architecture& arch,
                               const space::BlockWidths& widths, const space::InputShape& input,
                               int num_classes);

// The prunable channel groups, in order: (stage, unit, slot) of BlockWidths::stages.
struct ChannelGroup {
  int stage = 0;
  int unit = 0;
  int slot = 0;
};
std::vector<ChannelGroup> channel_groups(const space::BlockWidths& widths);

// One score per channel of each group (higher: more important), comparable across groups:
// l1 divides each channel's filter L1 norm by the mean of its layer; bn takes |gamma| of the
// BatchNorm that next reads the channel (a dense stage's last layer has none: its L1 ranks,
// scaled to the mean |gamma| of the other groups). `network` is a block network of `widths`.
std::vector<std::vector<float>> rank_channels(space::Network& network,
                                              const space::BlockSpace& space,
                                              const space::Architecture& arch,
                                              const space::BlockWidths& widths, Ranking ranking);

// The BatchNorm scales that rank_channels(bn) reads, as views with gradients: the network
// slimming penalty is the sum of their absolute values.
std::vector<at::Tensor> ranked_batchnorm_scales(space::Network& network,
                                                const space::BlockSpace& space,
                                                const space::Architecture& arch,
                                                const space::BlockWidths& widths);

struct PrunePlan {
  space::BlockWidths original;
  space::BlockWidths pruned;
  // kept[g]: the original indices of group g's kept channels, ascending.
  std::vector<std::vector<std::int64_t>> kept;
  NetworkCost before;
  NetworkCost after;
  std::int64_t removed_channels = 0;
};

// Removes the lowest-scored channels, one at a time and at least one channel kept per group,
// until the target measure is at most (1 - ratio) of the original's. ratio in [0, 1): 0 keeps
// every channel. Throws ConfigError when the prunable channels cannot remove that much.
PrunePlan plan_pruning(const space::BlockSpace& space, const space::Architecture& arch,
                       const space::BlockWidths& widths, const space::InputShape& input,
                       int num_classes, const std::vector<std::vector<float>>& scores, double ratio,
                       PruneTarget target);

// The pruned network (on the CPU, eval mode): built with plan.pruned, every tensor copied from
// `network` (a block network of plan.original), the pruned dimensions by index. Throws
// InternalError when a tensor does not fit.
std::shared_ptr<space::Network> apply_pruning(space::Network& network,
                                              const space::BlockSpace& space,
                                              const space::Architecture& arch,
                                              const PrunePlan& plan, const space::InputShape& input,
                                              int num_classes);

}  // namespace nasforge::compress
