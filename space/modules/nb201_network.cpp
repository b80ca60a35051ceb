#include "space/modules/nb201_network.h"

#include <array>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "common/errors.h"

namespace nasforge::space {

namespace {

namespace nn = torch::nn;

// ReLU -> Conv (no bias) -> BN: the convolution of every NB201 op and of the residual blocks.
class ReluConvBnImpl : public nn::Module {
 public:
  ReluConvBnImpl(int in, int out, int kernel, int stride)
      : conv_(register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                                     .stride(stride)
                                                     .padding(kernel / 2)
                                                     .bias(false)))),
        bn_(register_module("bn", nn::BatchNorm2d(out))) {}

  torch::Tensor forward(const torch::Tensor& x) { return bn_->forward(conv_->forward(x.relu())); }

 private:
  nn::Conv2d conv_;
  nn::BatchNorm2d bn_;
};
TORCH_MODULE(ReluConvBn);

// One searched cell: node j = sum over i < j of op(i -> j)(node i); the output is node 3. Edges
// with "none" are left out of the sum (they would add zeros).
class CellImpl : public nn::Module {
 public:
  CellImpl(const std::vector<int>& ops, int channels, int height, int width, CostCounter& cost) {
    for (size_t e = 0; e < ops.size(); ++e) {
      const std::string op = Nb201Space::kOperations[static_cast<size_t>(ops[e])];
      Edge edge;
      const std::string name = "edge" + std::to_string(e);
      if (op == "none") {
        edge.kind = Kind::kNone;
      } else if (op == "skip_connect") {
        edge.kind = Kind::kSkip;
      } else if (op == "avg_pool_3x3") {
        edge.kind = Kind::kPool;
        edge.pool = register_module(
            name,
            nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)));
      } else {
        const int kernel = op == "nor_conv_1x1" ? 1 : 3;
        edge.kind = Kind::kConv;
        edge.conv = register_module(name, ReluConvBn(channels, channels, kernel, 1));
        cost.conv(channels, channels, kernel, height, width);
      }
      edges_.push_back(edge);
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    std::array<torch::Tensor, 4> nodes{x, {}, {}, {}};
    for (size_t e = 0; e < edges_.size(); ++e) {
      auto& edge = edges_[e];
      if (edge.kind == Kind::kNone) continue;
      auto in = nodes[static_cast<size_t>(Nb201Space::kEdgeFrom[e])];
      if (!in.defined()) in = torch::zeros_like(x);  // a node whose inputs are all "none"
      auto y = edge.kind == Kind::kSkip   ? in
               : edge.kind == Kind::kPool ? edge.pool->forward(in)
                                          : edge.conv->forward(in);
      auto& out = nodes[static_cast<size_t>(Nb201Space::kEdgeTo[e])];
      out = out.defined() ? out + y : y;
    }
    return nodes[3].defined() ? nodes[3] : torch::zeros_like(x);
  }

 private:
  enum class Kind { kNone, kSkip, kConv, kPool };
  struct Edge {
    Kind kind = Kind::kNone;
    ReluConvBn conv{nullptr};
    nn::AvgPool2d pool{nullptr};
  };
  std::vector<Edge> edges_;
};
TORCH_MODULE(Cell);

// The stride-2 residual block between stages: a ResNet basic block whose shortcut is a 2x2
// average pool followed by a 1x1 convolution.
class ReductionImpl : public nn::Module {
 public:
  ReductionImpl(int in, int out, int height_out, int width_out, CostCounter& cost)
      : conv_a_(register_module("conv_a", ReluConvBn(in, out, 3, 2))),
        conv_b_(register_module("conv_b", ReluConvBn(out, out, 3, 1))),
        pool_(register_module("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)))),
        shortcut_(
            register_module("shortcut", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)))) {
    cost.conv(in, out, 3, height_out, width_out);
    cost.conv(out, out, 3, height_out, width_out);
    cost.conv(in, out, 1, height_out, width_out);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    return shortcut_->forward(pool_->forward(x)) + conv_b_->forward(conv_a_->forward(x));
  }

 private:
  ReluConvBn conv_a_;
  ReluConvBn conv_b_;
  nn::AvgPool2d pool_;
  nn::Conv2d shortcut_;
};
TORCH_MODULE(Reduction);

class Nb201Network final : public Network {
 public:
  Nb201Network(const Nb201Space& space, const Architecture& arch, const InputShape& input,
               int num_classes) {
    CostCounter cost;
    int c = space.channels();
    int h = input.height;
    int w = input.width;
    stem_conv_ = register_module(
        "stem_conv", nn::Conv2d(nn::Conv2dOptions(input.channels, c, 3).padding(1).bias(false)));
    stem_bn_ = register_module("stem_bn", nn::BatchNorm2d(c));
    cost.conv(input.channels, c, 3, h, w);
    body_ = register_module("body", nn::Sequential());
    for (int stage = 0; stage < 3; ++stage) {
      if (stage > 0) {
        h /= 2;
        w /= 2;
        body_->push_back(Reduction(c, 2 * c, h, w, cost));
        c *= 2;
      }
      for (int i = 0; i < space.cells_per_stage(); ++i) {
        body_->push_back(Cell(arch.choices(), c, h, w, cost));
      }
    }
    last_bn_ = register_module("last_bn", nn::BatchNorm2d(c));
    classifier_ = register_module("classifier", nn::Linear(c, num_classes));
    cost.linear(c, num_classes);
    flops_ = cost.multiply_adds;
  }

  torch::Tensor forward(torch::Tensor input) override {
    auto x = body_->forward(stem_bn_->forward(stem_conv_->forward(input)));
    x = last_bn_->forward(x).relu().mean({2, 3});  // global average pooling
    return classifier_->forward(x);
  }

 private:
  nn::Conv2d stem_conv_{nullptr};
  nn::BatchNorm2d stem_bn_{nullptr};
  nn::Sequential body_{nullptr};
  nn::BatchNorm2d last_bn_{nullptr};
  nn::Linear classifier_{nullptr};
};

}  // namespace

std::shared_ptr<Network> build_nb201_network(const Nb201Space& space, const Architecture& arch,
                                             const InputShape& input, int num_classes) {
  if (arch.space_type() != Nb201Space::kType) {
    throw ConfigError("nb201 network: got an architecture of space '" + arch.space_type() +
                      "'; expected nb201");
  }
  if (input.height < 4 || input.width < 4 || input.height % 4 != 0 || input.width % 4 != 0) {
    throw ConfigError("nb201 network: an input of " + std::to_string(input.height) + "x" +
                      std::to_string(input.width) +
                      " cannot pass two stride-2 stages; height and width must be multiples of 4");
  }
  if (num_classes < 1) {
    throw ConfigError("nb201 network: num_classes is " + std::to_string(num_classes) +
                      "; expected at least 1");
  }
  return std::make_shared<Nb201Network>(space, arch, input, num_classes);
}

}  // namespace nasforge::space
