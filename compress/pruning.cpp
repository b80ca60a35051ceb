#include "compress/pruning.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

#include "common/errors.h"
#include "space/modules/block_network.h"
#include "space/modules/layers.h"

namespace nasforge::compress {
namespace {

using space::BlockType;
using TensorMap = std::map<std::string, at::Tensor>;

TensorMap tensors_of(space::Network& network) {
  TensorMap map;
  for (const auto& item : network.named_parameters(/*recurse=*/true))
    map[item.key()] = item.value();
  for (const auto& item : network.named_buffers(/*recurse=*/true)) map[item.key()] = item.value();
  return map;
}

const at::Tensor& tensor(const TensorMap& map, const std::string& name) {
  const auto it = map.find(name);
  if (it == map.end()) throw InternalError("pruning: the network has no tensor " + name);
  return it->second;
}

std::string unit_prefix(const space::StageChoice& st, int stage, int unit) {
  const auto prefix = "stage" + std::to_string(stage);
  return st.block == BlockType::kDense ? prefix : prefix + "_block" + std::to_string(unit);
}

// Input channels of each stage.
std::vector<int> stage_inputs(const space::BlockSpace& space,
                              const std::vector<space::StageChoice>& stages) {
  std::vector<int> inputs;
  int channels = space.stem_width();
  for (const auto& st : stages) {
    inputs.push_back(channels);
    channels = st.width;
  }
  return inputs;
}

// Where group (stage, unit, slot)'s channels are produced, and the BatchNorm (with the offset of
// the channels in it) that next scales them; none for a dense stage's last layer.
struct GroupLayers {
  std::string conv;  // the producing conv's weight
  std::optional<std::string> bn;
  std::int64_t bn_offset = 0;
};

GroupLayers group_layers(const space::StageChoice& st, const ChannelGroup& g, int stage_input,
                         const std::vector<std::vector<int>>& units) {
  const auto prefix = unit_prefix(st, g.stage, g.unit);
  GroupLayers layers;
  if (st.block != BlockType::kDense) {
    const auto n = std::to_string(g.slot + 1);
    layers.conv = prefix + ".conv" + n + ".weight";
    layers.bn = prefix + ".bn" + n + ".weight";
    return layers;
  }
  layers.conv = prefix + ".conv" + std::to_string(g.unit) + ".weight";
  if (g.unit + 1 < static_cast<int>(units.size())) {
    layers.bn = prefix + ".bn" + std::to_string(g.unit + 1) + ".weight";
    layers.bn_offset = stage_input;
    for (int u = 0; u < g.unit; ++u) layers.bn_offset += units[u][0];
  }
  return layers;
}

// How one module's tensors are cut: dim 0 (outputs, or a BatchNorm's channels) and dim 1
// (a conv's inputs) by index; undefined: kept whole.
struct Cut {
  at::Tensor out;
  at::Tensor in;
};

at::Tensor index_tensor(const std::vector<std::int64_t>& indices) {
  return at::tensor(indices, at::kLong);
}

}  // namespace

PruneTarget parse_prune_target(const std::string& text, const std::string& where) {
  if (text == "flops") return PruneTarget::kFlops;
  if (text == "params") return PruneTarget::kParams;
  throw ConfigError(where + ": unknown target '" + text + "'; expected flops or params");
}

Ranking parse_ranking(const std::string& text, const std::string& where) {
  if (text == "l1") return Ranking::kL1;
  if (text == "bn") return Ranking::kBatchNorm;
  throw ConfigError(where + ": unknown ranking '" + text + "'; expected l1 or bn");
}

std::string to_string(PruneTarget target) {
  return target == PruneTarget::kFlops ? "flops" : "params";
}

std::string to_string(Ranking ranking) { return ranking == Ranking::kL1 ? "l1" : "bn"; }

NetworkCost block_network_cost(const space::BlockSpace& space, const space::Architecture& arch,
                               const space::BlockWidths& widths, const space::InputShape& input,
                               int num_classes) {
  NetworkCost cost;
  auto conv = [&](std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t h,
                  std::int64_t w) {
    cost.params += in * out * k * k;
    cost.flops += in * out * k * k * h * w;
  };
  auto bn = [&](std::int64_t channels) { cost.params += 2 * channels; };
  int c = input.channels, h = input.height, w = input.width;
  conv(c, space.stem_width(), 3, h, w);
  bn(space.stem_width());
  c = space.stem_width();
  const auto stages = space.stages(arch);
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto& st = stages[s];
    const auto& units = widths.stages.at(s);
    const int stride = s == 0 ? 1 : 2;
    if (st.block == BlockType::kDense) {
      if (stride == 2) h /= 2, w /= 2;
      int channels = c;
      for (const auto& unit : units) {
        bn(channels);
        conv(channels, unit[0], st.kernel, h, w);
        channels += unit[0];
      }
      conv(channels, st.width, 1, h, w);
      bn(st.width);
      c = st.width;
      continue;
    }
    for (int b = 0; b < st.depth; ++b) {
      const int block_stride = b == 0 ? stride : 1;
      const int oh = space::modules::conv_out(h, st.kernel, block_stride);
      const int ow = space::modules::conv_out(w, st.kernel, block_stride);
      const auto& inner = units.at(static_cast<size_t>(b));
      if (st.block == BlockType::kBasic) {
        conv(c, inner[0], st.kernel, oh, ow);
        bn(inner[0]);
        conv(inner[0], st.width, st.kernel, oh, ow);
        bn(st.width);
      } else {
        conv(c, inner[0], 1, h, w);
        bn(inner[0]);
        conv(inner[0], inner[1], st.kernel, oh, ow);
        bn(inner[1]);
        conv(inner[1], st.width, 1, oh, ow);
        bn(st.width);
      }
      if (block_stride != 1 || c != st.width) {
        conv(c, st.width, 1, oh, ow);
        bn(st.width);
      }
      c = st.width, h = oh, w = ow;
    }
  }
  cost.params += static_cast<std::int64_t>(c) * num_classes + num_classes;
  cost.flops += static_cast<std::int64_t>(c) * num_classes;
  return cost;
}

std::vector<ChannelGroup> channel_groups(const space::BlockWidths& widths) {
  std::vector<ChannelGroup> groups;
  for (size_t s = 0; s < widths.stages.size(); ++s) {
    for (size_t u = 0; u < widths.stages[s].size(); ++u) {
      for (size_t k = 0; k < widths.stages[s][u].size(); ++k) {
        groups.push_back({static_cast<int>(s), static_cast<int>(u), static_cast<int>(k)});
      }
    }
  }
  return groups;
}

std::vector<std::vector<float>> rank_channels(space::Network& network,
                                              const space::BlockSpace& space,
                                              const space::Architecture& arch,
                                              const space::BlockWidths& widths, Ranking ranking) {
  at::NoGradGuard no_grad;
  const auto map = tensors_of(network);
  const auto stages = space.stages(arch);
  const auto inputs = stage_inputs(space, stages);
  const auto groups = channel_groups(widths);
  std::vector<std::vector<float>> scores(groups.size());
  std::vector<size_t> fallback;  // bn ranking: groups scored by L1 for want of a BatchNorm
  double gamma_sum = 0;
  std::int64_t gamma_count = 0;
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& g = groups[i];
    const auto& st = stages[static_cast<size_t>(g.stage)];
    const auto& units = widths.stages[static_cast<size_t>(g.stage)];
    const auto layers = group_layers(st, g, inputs[static_cast<size_t>(g.stage)], units);
    const auto width = units[static_cast<size_t>(g.unit)][static_cast<size_t>(g.slot)];
    at::Tensor score;
    if (ranking == Ranking::kBatchNorm && layers.bn) {
      score = tensor(map, *layers.bn).detach().narrow(0, layers.bn_offset, width).abs();
      gamma_sum += score.sum().item<double>();
      gamma_count += width;
    } else {
      score = tensor(map, layers.conv).detach().abs().sum({1, 2, 3});
      score = score / score.mean().clamp_min(1e-12);
      if (ranking == Ranking::kBatchNorm) fallback.push_back(i);
    }
    score = score.to(at::kCPU, at::kFloat).contiguous();
    scores[i].assign(score.data_ptr<float>(), score.data_ptr<float>() + score.numel());
  }
  const float scale = gamma_count > 0 ? static_cast<float>(gamma_sum / gamma_count) : 1.0f;
  for (const auto i : fallback) {
    for (auto& v : scores[i]) v *= scale;
  }
  return scores;
}

std::vector<at::Tensor> ranked_batchnorm_scales(space::Network& network,
                                                const space::BlockSpace& space,
                                                const space::Architecture& arch,
                                                const space::BlockWidths& widths) {
  const auto map = tensors_of(network);
  const auto stages = space.stages(arch);
  const auto inputs = stage_inputs(space, stages);
  std::vector<at::Tensor> scales;
  for (const auto& g : channel_groups(widths)) {
    const auto& units = widths.stages[static_cast<size_t>(g.stage)];
    const auto layers = group_layers(stages[static_cast<size_t>(g.stage)], g,
                                     inputs[static_cast<size_t>(g.stage)], units);
    if (!layers.bn) continue;
    const auto width = units[static_cast<size_t>(g.unit)][static_cast<size_t>(g.slot)];
    scales.push_back(tensor(map, *layers.bn).narrow(0, layers.bn_offset, width));
  }
  return scales;
}

PrunePlan plan_pruning(const space::BlockSpace& space, const space::Architecture& arch,
                       const space::BlockWidths& widths, const space::InputShape& input,
                       int num_classes, const std::vector<std::vector<float>>& scores, double ratio,
                       PruneTarget target) {
  if (!(ratio >= 0 && ratio < 1)) {
    throw ConfigError("prune ratio " + std::to_string(ratio) + ": expected a number in (0, 1)");
  }
  widths.check(space, arch, "inner widths");
  const auto groups = channel_groups(widths);
  if (scores.size() != groups.size()) {
    throw InternalError("plan_pruning: scores for " + std::to_string(scores.size()) +
                        " groups, the network has " + std::to_string(groups.size()));
  }
  PrunePlan plan;
  plan.original = widths;
  plan.pruned = widths;
  plan.before = block_network_cost(space, arch, widths, input, num_classes);
  auto measure = [&](const NetworkCost& c) {
    return target == PruneTarget::kFlops ? c.flops : c.params;
  };
  const double goal = (1.0 - ratio) * static_cast<double>(measure(plan.before));

  // Every channel, lowest score first (ties: the earlier group and channel).
  struct Channel {
    float score;
    size_t group;
    std::int64_t index;
  };
  std::vector<Channel> order;
  std::vector<std::vector<bool>> removed(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    removed[g].assign(scores[g].size(), false);
    for (size_t c = 0; c < scores[g].size(); ++c) {
      order.push_back({scores[g][c], g, static_cast<std::int64_t>(c)});
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Channel& a, const Channel& b) { return a.score < b.score; });
  auto cost = plan.before;
  for (const auto& ch : order) {
    if (static_cast<double>(measure(cost)) <= goal) break;
    const auto& g = groups[ch.group];
    auto& width = plan.pruned.stages[static_cast<size_t>(g.stage)][static_cast<size_t>(g.unit)]
                                    [static_cast<size_t>(g.slot)];
    if (width <= 1) continue;  // a group keeps at least one channel
    --width;
    removed[ch.group][static_cast<size_t>(ch.index)] = true;
    ++plan.removed_channels;
    cost = block_network_cost(space, arch, plan.pruned, input, num_classes);
  }
  if (static_cast<double>(measure(cost)) > goal) {
    const double most =
        1.0 - static_cast<double>(measure(cost)) / static_cast<double>(measure(plan.before));
    throw ConfigError("cannot prune " + std::to_string(static_cast<int>(ratio * 100 + 0.5)) +
                      "% of the " + to_string(target) + " of " + arch.canonical() +
                      ": its prunable inner channels allow at most " +
                      std::to_string(static_cast<int>(most * 100)) +
                      "%; use a lower --prune-ratio");
  }
  plan.after = cost;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<std::int64_t> kept;
    for (size_t c = 0; c < removed[g].size(); ++c) {
      if (!removed[g][c]) kept.push_back(static_cast<std::int64_t>(c));
    }
    plan.kept.push_back(std::move(kept));
  }
  return plan;
}

std::shared_ptr<space::Network> apply_pruning(space::Network& network,
                                              const space::BlockSpace& space,
                                              const space::Architecture& arch,
                                              const PrunePlan& plan, const space::InputShape& input,
                                              int num_classes) {
  const auto stages = space.stages(arch);
  const auto inputs = stage_inputs(space, stages);
  const auto groups = channel_groups(plan.original);
  std::map<std::pair<int, int>, std::vector<size_t>> group_of;  // (stage, unit) -> groups
  for (size_t g = 0; g < groups.size(); ++g)
    group_of[{groups[g].stage, groups[g].unit}].push_back(g);

  // The cut of each module whose tensors shrink, by module name.
  std::map<std::string, Cut> cuts;
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto& st = stages[s];
    const int stage = static_cast<int>(s);
    if (st.block != BlockType::kDense) {
      for (int b = 0; b < st.depth; ++b) {
        const auto prefix = unit_prefix(st, stage, b) + ".";
        const auto& gs = group_of.at({stage, b});
        const auto first = index_tensor(plan.kept[gs[0]]);
        cuts[prefix + "conv1"].out = first;
        cuts[prefix + "bn1"].out = first;
        cuts[prefix + "conv2"].in = first;
        if (st.block == BlockType::kBottleneck) {
          const auto second = index_tensor(plan.kept[gs[1]]);
          cuts[prefix + "conv2"].out = second;
          cuts[prefix + "bn2"].out = second;
          cuts[prefix + "conv3"].in = second;
        }
      }
      continue;
    }
    // Dense: the features a layer reads are the stage input, then each earlier layer's output;
    // a kept channel of layer j sits at the offset of layer j's original outputs.
    const auto prefix = unit_prefix(st, stage, 0) + ".";
    std::vector<std::int64_t> features(static_cast<size_t>(inputs[s]));
    std::iota(features.begin(), features.end(), 0);
    std::int64_t offset = inputs[s];
    for (int i = 0; i < st.depth; ++i) {
      const auto index = std::to_string(i);
      const auto feature_index = index_tensor(features);
      cuts[prefix + "bn" + index].out = feature_index;
      cuts[prefix + "conv" + index].in = feature_index;
      const auto& kept = plan.kept[group_of.at({stage, i})[0]];
      cuts[prefix + "conv" + index].out = index_tensor(kept);
      for (const auto k : kept) features.push_back(offset + k);
      offset += plan.original.stages[s][static_cast<size_t>(i)][0];
    }
    cuts[prefix + "transition"].in = index_tensor(features);
  }

  auto pruned = space::build_block_network(space, arch, plan.pruned, input, num_classes);
  at::NoGradGuard no_grad;
  const auto source = tensors_of(network);
  for (auto& [name, target] : tensors_of(*pruned)) {
    auto value = tensor(source, name).detach().to(at::kCPU);
    const auto module = name.substr(0, name.rfind('.'));
    if (const auto it = cuts.find(module); it != cuts.end() && value.dim() > 0) {
      if (it->second.out.defined()) value = value.index_select(0, it->second.out);
      if (it->second.in.defined() && value.dim() > 1) value = value.index_select(1, it->second.in);
    }
    if (value.sizes() != target.sizes()) {
      throw InternalError(c10::str("pruning: ", name, " has shape ", value.sizes(),
                                   " after the cut, the pruned network expects ", target.sizes()));
    }
    target.copy_(value);
  }
  pruned->eval();
  return pruned;
}

}  // namespace nasforge::compress
