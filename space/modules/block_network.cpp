#include "space/modules/block_network.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/linear.h>

#include "common/errors.h"
#include "space/modules/layers.h"

namespace nasforge::space {
namespace {

namespace F = torch::nn::functional;
using modules::conv_out;
using modules::Layer;
using modules::make_conv;

// Where a block is built: its input channels and resolution, updated as blocks are added.
struct Cursor {
  int channels;
  int height;
  int width;
  CostCounter* cost;
};

class Projection : public torch::nn::Module {
 public:
  Projection(Cursor& c, int out, int stride) {
    conv_ = register_module("conv", make_conv(c.channels, out, 1, stride));
    bn_ = register_module("bn", torch::nn::BatchNorm2d(out));
  }
  torch::Tensor forward(torch::Tensor x) { return bn_(conv_(x)); }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};

class BasicBlock : public Layer {
 public:
  // `mid`: conv1's outputs (`out` unless pruned).
  BasicBlock(Cursor& c, int out, int mid, int kernel, int stride) {
    const int h = conv_out(c.height, kernel, stride), w = conv_out(c.width, kernel, stride);
    conv1_ = register_module("conv1", make_conv(c.channels, mid, kernel, stride));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(mid));
    conv2_ = register_module("conv2", make_conv(mid, out, kernel));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out));
    c.cost->conv(c.channels, mid, kernel, h, w);
    c.cost->conv(mid, out, kernel, h, w);
    if (stride != 1 || c.channels != out) {
      shortcut_ = register_module("shortcut", std::make_shared<Projection>(c, out, stride));
      c.cost->conv(c.channels, out, 1, h, w);
    }
    c = {out, h, w, c.cost};
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto y = F::relu(bn1_(conv1_(x)));
    y = bn2_(conv2_(y));
    return F::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  std::shared_ptr<Projection> shortcut_;
};

class BottleneckBlock : public Layer {
 public:
  // `mid1`, `mid2`: conv1's and conv2's outputs (both max(out / 4, 4) unless pruned).
  BottleneckBlock(Cursor& c, int out, int mid1, int mid2, int kernel, int stride) {
    const int h = conv_out(c.height, kernel, stride), w = conv_out(c.width, kernel, stride);
    conv1_ = register_module("conv1", make_conv(c.channels, mid1, 1));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(mid1));
    conv2_ = register_module("conv2", make_conv(mid1, mid2, kernel, stride));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(mid2));
    conv3_ = register_module("conv3", make_conv(mid2, out, 1));
    bn3_ = register_module("bn3", torch::nn::BatchNorm2d(out));
    c.cost->conv(c.channels, mid1, 1, c.height, c.width);
    c.cost->conv(mid1, mid2, kernel, h, w);
    c.cost->conv(mid2, out, 1, h, w);
    if (stride != 1 || c.channels != out) {
      shortcut_ = register_module("shortcut", std::make_shared<Projection>(c, out, stride));
      c.cost->conv(c.channels, out, 1, h, w);
    }
    c = {out, h, w, c.cost};
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto y = F::relu(bn1_(conv1_(x)));
    y = F::relu(bn2_(conv2_(y)));
    y = bn3_(conv3_(y));
    return F::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  std::shared_ptr<Projection> shortcut_;
};

// A DenseNet stage: optional 2x2 average pooling, `depth` BN-ReLU-Conv layers that each add
// `growth` channels to the concatenated features, then a 1x1 transition to `out` channels.
// `growths` holds each layer's growth (all the growth rate unless pruned).
class DenseStage : public Layer {
 public:
  DenseStage(Cursor& c, const std::vector<int>& growths, int out, int kernel, bool downsample)
      : downsample_(downsample) {
    if (downsample_) c = {c.channels, c.height / 2, c.width / 2, c.cost};
    int channels = c.channels;
    for (size_t i = 0; i < growths.size(); ++i) {
      const auto index = std::to_string(i);
      bns_.push_back(register_module("bn" + index, torch::nn::BatchNorm2d(channels)));
      convs_.push_back(register_module("conv" + index, make_conv(channels, growths[i], kernel)));
      c.cost->conv(channels, growths[i], kernel, c.height, c.width);
      channels += growths[i];
    }
    transition_ = register_module("transition", make_conv(channels, out, 1));
    transition_bn_ = register_module("transition_bn", torch::nn::BatchNorm2d(out));
    c.cost->conv(channels, out, 1, c.height, c.width);
    c = {out, c.height, c.width, c.cost};
  }
  torch::Tensor forward(torch::Tensor x) override {
    if (downsample_) x = F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
    for (size_t i = 0; i < convs_.size(); ++i) {
      auto y = convs_[i](F::relu(bns_[i](x)));
      x = at::cat({x, y}, 1);
    }
    return F::relu(transition_bn_(transition_(x)));
  }

 private:
  bool downsample_;
  std::vector<torch::nn::BatchNorm2d> bns_;
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Conv2d transition_{nullptr};
  torch::nn::BatchNorm2d transition_bn_{nullptr};
};

class BlockNetwork : public Network {
 public:
  BlockNetwork(const BlockSpace& space, const Architecture& arch, const BlockWidths& widths,
               const InputShape& input, int num_classes) {
    CostCounter cost;
    Cursor c{input.channels, input.height, input.width, &cost};
    stem_ = register_module("stem", make_conv(input.channels, space.stem_width(), 3));
    stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(space.stem_width()));
    cost.conv(input.channels, space.stem_width(), 3, c.height, c.width);
    c.channels = space.stem_width();
    const auto stages = space.stages(arch);
    for (size_t s = 0; s < stages.size(); ++s) {
      const auto& st = stages[s];
      const int stride = s == 0 ? 1 : 2;
      if (stride == 2 && (c.height < 2 || c.width < 2)) {
        throw ConfigError("architecture " + arch.canonical() + ": stage " + std::to_string(s) +
                          " would downsample a " + std::to_string(c.height) + "x" +
                          std::to_string(c.width) + " feature map; use fewer stages for " +
                          std::to_string(input.height) + "x" + std::to_string(input.width) +
                          " inputs");
      }
      const std::string prefix = "stage" + std::to_string(s);
      // No default: a new block type must be handled here (-Wswitch says where).
      const auto& inner = widths.stages[s];
      switch (st.block) {
        case BlockType::kBasic:
          for (int b = 0; b < st.depth; ++b) {
            add(prefix + "_block" + std::to_string(b),
                std::make_shared<BasicBlock>(c, st.width, inner[b][0], st.kernel,
                                             b == 0 ? stride : 1));
          }
          break;
        case BlockType::kBottleneck:
          for (int b = 0; b < st.depth; ++b) {
            add(prefix + "_block" + std::to_string(b),
                std::make_shared<BottleneckBlock>(c, st.width, inner[b][0], inner[b][1], st.kernel,
                                                  b == 0 ? stride : 1));
          }
          break;
        case BlockType::kDense: {
          std::vector<int> growths;
          for (const auto& unit : inner) growths.push_back(unit[0]);
          add(prefix, std::make_shared<DenseStage>(c, growths, st.width, st.kernel, stride == 2));
          break;
        }
      }
    }
    head_ = register_module("head", torch::nn::Linear(c.channels, num_classes));
    cost.linear(c.channels, num_classes);
    flops_ = cost.multiply_adds;
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = F::relu(stem_bn_(stem_(x)));
    for (auto& layer : layers_) x = layer->forward(x);
    x = x.mean({2, 3});
    return head_(x);
  }

 private:
  void add(const std::string& name, std::shared_ptr<Layer> layer) {
    layers_.push_back(register_module(name, std::move(layer)));
  }

  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<std::shared_ptr<Layer>> layers_;
  torch::nn::Linear head_{nullptr};
};

}  // namespace

std::shared_ptr<Network> build_block_network(const BlockSpace& space, const Architecture& arch,
                                             const InputShape& input, int num_classes) {
  return std::make_shared<BlockNetwork>(space, arch, BlockWidths::defaults(space, arch), input,
                                        num_classes);
}

std::shared_ptr<Network> build_block_network(const BlockSpace& space, const Architecture& arch,
                                             const BlockWidths& widths, const InputShape& input,
                                             int num_classes) {
  widths.check(space, arch, "inner widths");
  return std::make_shared<BlockNetwork>(space, arch, widths, input, num_classes);
}

}  // namespace nasforge::space
