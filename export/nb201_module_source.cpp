// model.py for the NAS-Bench-201 space. Mirrors space/modules/nb201_network.cpp: the same module
// names (body.<i>.edge<e>.conv/bn, body.<i>.conv_a/conv_b/shortcut), ReLU before each conv, a
// stem without ReLU, "none" edges left out of the sums and a node with no input read as zeros.
#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "export/module_source_parts.h"

namespace nasforge::exporter::detail {
namespace {

using space::Nb201Space;

constexpr const char* kBlocks = R"(

class ReluConvBn(nn.Module):
    """ReLU, convolution (no bias, padding kernel // 2), BatchNorm: every NB201 convolution."""

    def __init__(self, in_channels, out_channels, kernel, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride,
                              padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(F.relu(x)))


class Reduction(nn.Module):
    """The stride-2 residual block between stages; its shortcut is a 2x2 average pool and a 1x1
    convolution."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv_a = ReluConvBn(in_channels, out_channels, 3, 2)
        self.conv_b = ReluConvBn(out_channels, out_channels, 3, 1)
        self.pool = nn.AvgPool2d(2, stride=2)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return self.shortcut(self.pool(x)) + self.conv_b(self.conv_a(x))
)";

// The Cell class of this architecture: one module per edge that has weights or pools, and a
// forward that sums each node's inputs in edge order, as CellImpl does.
std::string cell_source(const space::Architecture& arch) {
  std::ostringstream init, forward;
  std::array<bool, 4> defined{true, false, false, false};
  std::array<std::vector<std::string>, 4> terms;
  for (size_t e = 0; e < Nb201Space::kEdges; ++e) {
    const std::string op = Nb201Space::kOperations[static_cast<size_t>(arch.choices()[e])];
    const auto from = static_cast<size_t>(Nb201Space::kEdgeFrom[e]);
    const auto to = static_cast<size_t>(Nb201Space::kEdgeTo[e]);
    const std::string edge = "edge" + std::to_string(e);
    const std::string comment = "  # node " + std::to_string(from) + " -> " + std::to_string(to);
    if (op == "none") continue;
    if (op == "nor_conv_1x1" || op == "nor_conv_3x3") {
      init << "        self." << edge << " = ReluConvBn(channels, channels, "
           << (op == "nor_conv_1x1" ? 1 : 3) << ", 1)" << comment << ": " << op << "\n";
    } else if (op == "avg_pool_3x3") {
      init << "        self." << edge
           << " = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)" << comment << ": "
           << op << "\n";
    }
    // Nodes are computed in order, so `from` is final when an edge out of it is read.
    const std::string in = from == 0       ? "x"
                           : defined[from] ? "n" + std::to_string(from)
                                           : "torch.zeros_like(x)";
    terms[to].push_back(op == "skip_connect" ? in : "self." + edge + "(" + in + ")");
    defined[to] = true;
  }
  for (size_t node = 1; node < 4; ++node) {
    if (terms[node].empty()) continue;
    forward << "        n" << node << " = ";
    for (size_t t = 0; t < terms[node].size(); ++t) forward << (t ? " + " : "") << terms[node][t];
    forward << "\n";
  }
  forward << "        return " << (defined[3] ? "n3" : "torch.zeros_like(x)") << "\n";

  std::string out = R"(

class Cell(nn.Module):
    """The searched cell: node j is the sum over i < j of op(i -> j)(node i); the output is
    node 3, and "none" edges are left out.

    )" + arch.canonical() +
                    R"(
    """

    def __init__(self, channels):
        super().__init__()
)";
  auto init_text = init.str();
  if (init_text.empty()) init_text = "        pass\n";
  return out + init_text + "\n    def forward(self, x):\n" + forward.str();
}

}  // namespace

std::string nb201_network_source(const space::Nb201Space& space, const space::Architecture& arch,
                                 const ModelSpec& spec) {
  std::ostringstream init;
  int c = space.channels();
  init << "        self.stem_conv = nn.Conv2d(" << spec.shape.channels << ", " << c
       << ", 3, padding=1, bias=False)\n";
  init << "        self.stem_bn = nn.BatchNorm2d(" << c << ")\n";
  init << "        self.body = nn.Sequential(\n";
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      init << "            Reduction(" << c << ", " << 2 * c << "),\n";
      c *= 2;
    }
    for (int i = 0; i < space.cells_per_stage(); ++i) init << "            Cell(" << c << "),\n";
  }
  init << "        )\n";
  init << "        self.last_bn = nn.BatchNorm2d(" << c << ")\n";
  init << "        self.classifier = nn.Linear(" << c << ", NUM_CLASSES)\n";

  std::string out = kBlocks + cell_source(arch) + R"(

class Network(nn.Module):
    """NAS-Bench-201 network (Dong & Yang, ICLR 2020): 3x3 stem with BN, three stages of cells
    with C, 2C and 4C channels joined by Reduction blocks, BN-ReLU, global average pooling and a
    linear classifier."""

    def __init__(self):
        super().__init__()
)";
  out += normalisation_init() + init.str();
  out += "\n    def forward(self, x):\n";
  out += normalisation_forward();
  out += "        x = self.body(self.stem_bn(self.stem_conv(x)))\n";
  out += "        x = F.relu(self.last_bn(x)).mean((2, 3))  # global average pooling\n";
  out += "        return self.classifier(x)\n";
  return out;
}

}  // namespace nasforge::exporter::detail
