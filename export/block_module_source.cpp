// model.py for the block space. Mirrors space/modules/block_network.cpp: the same module names,
// registration, padding (kernel / 2), bias-free convolutions, BatchNorm defaults (eps 1e-5,
// momentum 0.1, the same in LibTorch and PyTorch) and order of operations.
#include <algorithm>
#include <set>
#include <sstream>

#include "export/module_source_parts.h"

namespace nasforge::exporter::detail {
namespace {

using space::BlockType;

constexpr const char* kConv = R"(

def conv(in_channels, out_channels, kernel, stride=1):
    """A convolution with "same" padding (kernel // 2) and no bias."""
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2,
                     bias=False)
)";

constexpr const char* kProjection = R"(

class Projection(nn.Module):
    """The shortcut of a residual block whose shape changes: 1x1 convolution and BatchNorm."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv = conv(in_channels, out_channels, 1, stride)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))
)";

constexpr const char* kBasic = R"(

class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016): conv-BN-ReLU, conv-BN, plus the shortcut, ReLU.
    mid_channels: the first conv's outputs (out_channels unless pruned)."""

    def __init__(self, in_channels, out_channels, kernel, stride, mid_channels=None):
        super().__init__()
        mid_channels = out_channels if mid_channels is None else mid_channels
        self.conv1 = conv(in_channels, mid_channels, kernel, stride)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = conv(mid_channels, out_channels, kernel)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Projection(in_channels, out_channels, stride)
        else:
            self.shortcut = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))
)";

constexpr const char* kBottleneck = R"(

class BottleneckBlock(nn.Module):
    """ResNet bottleneck block: 1x1 to mid_channels, kxk (strided), 1x1 to out_channels, each
    with BatchNorm (ReLU after the first two), plus the shortcut, ReLU. mid2_channels: the kxk
    conv's outputs (mid_channels unless pruned)."""

    def __init__(self, in_channels, mid_channels, out_channels, kernel, stride, mid2_channels=None):
        super().__init__()
        mid2_channels = mid_channels if mid2_channels is None else mid2_channels
        self.conv1 = conv(in_channels, mid_channels, 1)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = conv(mid_channels, mid2_channels, kernel, stride)
        self.bn2 = nn.BatchNorm2d(mid2_channels)
        self.conv3 = conv(mid2_channels, out_channels, 1)
        self.bn3 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Projection(in_channels, out_channels, stride)
        else:
            self.shortcut = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))
)";

constexpr const char* kDense = R"(

class DenseStage(nn.Module):
    """DenseNet stage (Huang et al. 2017): optional 2x2 average pooling, `depth` BN-ReLU-conv
    layers that each add `growth` channels to the concatenated features, then a 1x1 transition
    convolution with BatchNorm and ReLU to out_channels. growths: each layer's growth (all
    `growth` unless pruned)."""

    def __init__(self, in_channels, depth, growth, out_channels, kernel, downsample, growths=None):
        super().__init__()
        self.downsample = downsample
        self.depth = depth
        growths = [growth] * depth if growths is None else growths
        channels = in_channels
        for i in range(depth):
            self.add_module("bn%d" % i, nn.BatchNorm2d(channels))
            self.add_module("conv%d" % i, conv(channels, growths[i], kernel))
            channels += growths[i]
        self.transition = conv(channels, out_channels, 1)
        self.transition_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        for i in range(self.depth):
            y = getattr(self, "conv%d" % i)(F.relu(getattr(self, "bn%d" % i)(x)))
            x = torch.cat([x, y], 1)
        return F.relu(self.transition_bn(self.transition(x)))
)";

}  // namespace

std::string block_network_source(const space::BlockSpace& space, const space::Architecture& arch,
                                 const ModelSpec& spec, const space::BlockWidths* widths) {
  const auto stages = space.stages(arch);
  // Inner widths that differ from the architecture's (a pruned network) become keywords.
  const auto defaults = space::BlockWidths::defaults(space, arch);
  if (widths) widths->check(space, arch, "model.py: inner widths");
  const auto& inner = widths ? *widths : defaults;
  std::set<BlockType> used;
  for (const auto& st : stages) used.insert(st.block);

  // Network.__init__ and forward, stage by stage as BlockNetwork's constructor builds them.
  std::ostringstream init, forward;
  int channels = space.stem_width();
  init << "        self.stem = conv(" << spec.shape.channels << ", " << channels << ", 3)\n";
  init << "        self.stem_bn = nn.BatchNorm2d(" << channels << ")\n";
  forward << "        x = F.relu(self.stem_bn(self.stem(x)))\n";
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto& st = stages[s];
    const int stride = s == 0 ? 1 : 2;
    const std::string prefix = "stage" + std::to_string(s);
    if (st.block == BlockType::kDense) {
      init << "        self." << prefix << " = DenseStage(" << channels << ", depth=" << st.depth
           << ", growth=" << st.growth_rate << ", out_channels=" << st.width
           << ", kernel=" << st.kernel << ", downsample=" << (stride == 2 ? "True" : "False");
      if (inner.stages[s] != defaults.stages[s]) {
        init << ", growths=[";
        for (size_t i = 0; i < inner.stages[s].size(); ++i)
          init << (i ? ", " : "") << inner.stages[s][i][0];
        init << "]";
      }
      init << ")\n";
      forward << "        x = self." << prefix << "(x)\n";
      channels = st.width;
      continue;
    }
    for (int b = 0; b < st.depth; ++b) {
      const int block_stride = b == 0 ? stride : 1;
      const auto name = prefix + "_block" + std::to_string(b);
      init << "        self." << name << " = ";
      const auto& unit = inner.stages[s][static_cast<size_t>(b)];
      const auto& unit_default = defaults.stages[s][static_cast<size_t>(b)];
      if (st.block == BlockType::kBasic) {
        init << "BasicBlock(" << channels << ", " << st.width;
      } else {
        init << "BottleneckBlock(" << channels << ", " << unit[0] << ", " << st.width;
      }
      init << ", kernel=" << st.kernel << ", stride=" << block_stride;
      if (st.block == BlockType::kBasic && unit[0] != unit_default[0]) {
        init << ", mid_channels=" << unit[0];
      } else if (st.block == BlockType::kBottleneck && unit[1] != unit[0]) {
        init << ", mid2_channels=" << unit[1];
      }
      init << ")\n";
      forward << "        x = self." << name << "(x)\n";
      channels = st.width;
    }
  }
  init << "        self.head = nn.Linear(" << channels << ", NUM_CLASSES)\n";
  forward << "        x = x.mean((2, 3))  # global average pooling\n";
  forward << "        return self.head(x)\n";

  std::string out = kConv;
  if (used.count(BlockType::kBasic) || used.count(BlockType::kBottleneck)) out += kProjection;
  if (used.count(BlockType::kBasic)) out += kBasic;
  if (used.count(BlockType::kBottleneck)) out += kBottleneck;
  if (used.count(BlockType::kDense)) out += kDense;
  out += R"(

class Network(nn.Module):
    """Stem (3x3 conv, BN, ReLU), the stages, global average pooling and a linear head."""

    def __init__(self):
        super().__init__()
)";
  out += normalisation_init() + init.str();
  out += "\n    def forward(self, x):\n";
  out += normalisation_forward() + forward.str();
  return out;
}

}  // namespace nasforge::exporter::detail
