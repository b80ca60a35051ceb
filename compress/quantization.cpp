#include "compress/quantization.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <limits>
#include <map>

#include "common/errors.h"

namespace nasforge::compress {
namespace {

constexpr std::int64_t kActivationMax = 255;  // uint8 activations

// The uint8 scale and zero point of a range, as tensors on its device: the range is widened to
// hold 0 (so that 0, padding and ReLU's floor, is exact), and a range that starts at 0 gets
// zero point 0 (ONNX Runtime then drops a ReLU before the QuantizeLinear).
std::pair<at::Tensor, at::Tensor> range_qparams(const at::Tensor& min, const at::Tensor& max) {
  const auto lo = at::clamp_max(min, 0.0);
  const auto hi = at::clamp_min(max, 0.0);
  const auto scale = at::clamp_min((hi - lo) / static_cast<double>(kActivationMax), 1e-8);
  const auto zero_point =
      at::clamp(at::round(-lo / scale), 0, static_cast<double>(kActivationMax)).to(at::kInt);
  return {scale.to(at::kFloat), zero_point};
}

}  // namespace

FoldedConv fold_batchnorm(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& gamma,
                          const at::Tensor& beta, const at::Tensor& running_mean,
                          const at::Tensor& running_var, double eps) {
  at::NoGradGuard no_grad;
  const auto factor = gamma / at::sqrt(running_var + eps);
  std::vector<std::int64_t> shape(static_cast<size_t>(weight.dim()), 1);
  shape[0] = -1;
  FoldedConv folded;
  folded.weight = weight * factor.view(shape);
  const auto b = bias.defined() ? bias : at::zeros_like(running_mean);
  folded.bias = beta + (b - running_mean) * factor;
  return folded;
}

std::string to_string(QuantOp op) {
  switch (op) {
    case QuantOp::kInput:
      return "input";
    case QuantOp::kConv:
      return "conv";
    case QuantOp::kAdd:
      return "add";
    case QuantOp::kConcat:
      return "concat";
    case QuantOp::kAvgPool:
      return "avgpool";
    case QuantOp::kGlobalMean:
      return "global_mean";
    case QuantOp::kAffine:
      return "affine";
    case QuantOp::kLinear:
      return "linear";
  }
  throw InternalError("quantization: unknown node type");
}

QuantNetwork::QuantNetwork(std::vector<QuantNode> nodes, const std::vector<at::Tensor>& weights,
                           const std::vector<at::Tensor>& biases,
                           const std::vector<at::Tensor>& scales,
                           const std::vector<at::Tensor>& shifts, std::int64_t flops,
                           const QuantOptions& options)
    : nodes_(std::move(nodes)), options_(options) {
  if (options_.weight_max < 1 || options_.weight_max > 127) {
    throw ConfigError("quantization: weight range " + std::to_string(options_.weight_max) +
                      ": expected 1 to 127");
  }
  const auto n = nodes_.size();
  if (weights.size() != n || biases.size() != n || scales.size() != n || shifts.size() != n) {
    throw InternalError("quantization: one weight, bias, scale and shift slot per node expected");
  }
  flops_ = flops;
  weights_.resize(n);
  biases_.resize(n);
  scales_.resize(n);
  shifts_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    std::string prefix = "n";
    prefix.append(std::to_string(i)).append("_");
    for (const auto& input : nodes_[i].inputs) {
      if (input < 0 || static_cast<size_t>(input) >= i) {
        throw InternalError("quantization: node " + std::to_string(i) + " reads a later node");
      }
    }
    const auto op = nodes_[i].op;
    if (op == QuantOp::kConv || op == QuantOp::kLinear) {
      weights_[i] = register_parameter(prefix + "weight", weights[i].detach().clone());
      biases_[i] = register_parameter(prefix + "bias", biases[i].detach().clone());
    }
    if (op == QuantOp::kAffine) {
      scales_[i] = register_parameter(prefix + "scale", scales[i].detach().clone());
      shifts_[i] = register_parameter(prefix + "shift", shifts[i].detach().clone());
    }
    const auto inf = std::numeric_limits<float>::infinity();
    min_.push_back(register_buffer(prefix + "min", at::full({1}, inf)));
    max_.push_back(register_buffer(prefix + "max", at::full({1}, -inf)));
  }
}

at::Tensor QuantNetwork::weight_scale(size_t node) const {
  const auto& w = weights_[node];
  return at::clamp_min(w.detach().abs().flatten(1).amax(1) / options_.weight_max, 1e-12)
      .to(at::kFloat);
}

at::Tensor QuantNetwork::quantized_weight(size_t node) const {
  const auto& w = weights_[node];
  if (mode_ != QuantMode::kQuantized) return w;
  const auto scale = weight_scale(node);
  const auto zero = at::zeros({w.size(0)}, w.options().dtype(at::kInt));
  return at::fake_quantize_per_channel_affine(w, scale, zero, 0, -options_.weight_max,
                                              options_.weight_max);
}

at::Tensor QuantNetwork::quantize_activation(size_t node, const at::Tensor& x) {
  const bool observe =
      mode_ == QuantMode::kCalibrate || (mode_ == QuantMode::kQuantized && is_training());
  if (observe) {
    at::NoGradGuard no_grad;
    const auto lo = x.detach().min().to(at::kFloat).reshape({1});
    const auto hi = x.detach().max().to(at::kFloat).reshape({1});
    if (mode_ == QuantMode::kCalibrate) {
      min_[node].copy_(at::minimum(min_[node], lo));
      max_[node].copy_(at::maximum(max_[node], hi));
    } else {
      // Moving average; a range never observed takes the batch's.
      const auto a = options_.averaging;
      min_[node].copy_(at::where(at::isinf(min_[node]), lo, min_[node] + a * (lo - min_[node])));
      max_[node].copy_(at::where(at::isinf(max_[node]), hi, max_[node] + a * (hi - max_[node])));
    }
  }
  if (mode_ != QuantMode::kQuantized) return x;
  const auto [scale, zero_point] = range_qparams(min_[node], max_[node]);
  return at::fake_quantize_per_tensor_affine(x, scale, zero_point, 0, kActivationMax);
}

torch::Tensor QuantNetwork::forward(torch::Tensor input) {
  namespace F = torch::nn::functional;
  std::vector<at::Tensor> values(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    auto in = [&](size_t k) -> const at::Tensor& {
      return values[static_cast<size_t>(node.inputs.at(k))];
    };
    at::Tensor y;
    switch (node.op) {
      case QuantOp::kInput:
        y = input;
        break;
      case QuantOp::kConv:
        y = at::conv2d(in(0), quantized_weight(i), biases_[i], node.stride, node.padding);
        break;
      case QuantOp::kAdd:
        y = in(0) + in(1);
        break;
      case QuantOp::kConcat: {
        std::vector<at::Tensor> parts;
        for (size_t k = 0; k < node.inputs.size(); ++k) parts.push_back(in(k));
        y = at::cat(parts, 1);
        break;
      }
      case QuantOp::kAvgPool:
        y = F::avg_pool2d(in(0), F::AvgPool2dFuncOptions(2));
        break;
      case QuantOp::kGlobalMean:
        y = in(0).mean({2, 3});
        break;
      case QuantOp::kAffine:
        y = in(0) * scales_[i].view({1, -1, 1, 1}) + shifts_[i].view({1, -1, 1, 1});
        break;
      case QuantOp::kLinear:
        y = at::linear(in(0), quantized_weight(i), biases_[i]);
        break;
    }
    if (node.relu) y = at::relu(y);
    // The logits stay float.
    values[i] = node.op == QuantOp::kLinear ? y : quantize_activation(i, y);
  }
  return values.back();
}

std::pair<double, std::int64_t> QuantNetwork::activation_qparams(size_t node) const {
  const auto [scale, zero_point] = range_qparams(min_.at(node).cpu(), max_.at(node).cpu());
  return {scale.item<double>(), zero_point.item<std::int64_t>()};
}

std::int64_t QuantNetwork::quantized_weight_count() const {
  std::int64_t count = 0;
  for (const auto& w : weights_) {
    if (w.defined()) count += w.numel();
  }
  return count;
}

std::int64_t QuantNetwork::int8_bytes() const {
  std::int64_t bytes = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (weights_[i].defined()) {
      bytes += weights_[i].numel() + 4 * biases_[i].numel() + 4 * weights_[i].size(0);
    }
    if (scales_[i].defined()) bytes += 4 * (scales_[i].numel() + shifts_[i].numel());
    if (nodes_[i].op != QuantOp::kLinear) bytes += 4 + 1;
  }
  return bytes;
}

nlohmann::json QuantNetwork::graph_json() const {
  auto nodes = nlohmann::json::array();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& n = nodes_[i];
    nlohmann::json j = {{"op", to_string(n.op)}, {"inputs", n.inputs},   {"relu", n.relu},
                        {"stride", n.stride},    {"padding", n.padding}, {"source", n.source}};
    if (n.op != QuantOp::kLinear) {
      const auto [scale, zero_point] = activation_qparams(i);
      j["scale"] = scale;
      j["zero_point"] = zero_point;
    }
    nodes.push_back(j);
  }
  return {{"weight_max", options_.weight_max}, {"activation", "uint8"}, {"nodes", nodes}};
}

std::vector<std::pair<std::string, at::Tensor>> QuantNetwork::export_tensors() const {
  at::NoGradGuard no_grad;
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::string prefix = "n";
    prefix.append(std::to_string(i)).append(".");
    if (weights_[i].defined()) {
      const auto w = weights_[i].detach().cpu().to(at::kFloat);
      const auto scale = weight_scale(i).cpu();
      std::vector<std::int64_t> shape(static_cast<size_t>(w.dim()), 1);
      shape[0] = -1;
      const auto q =
          at::clamp(at::round(w / scale.view(shape)), -options_.weight_max, options_.weight_max)
              .to(at::kChar);
      tensors.emplace_back(prefix + "weight", q.contiguous());
      tensors.emplace_back(prefix + "weight_scale", scale.contiguous());
      tensors.emplace_back(prefix + "bias", biases_[i].detach().cpu().to(at::kFloat).contiguous());
    }
    if (scales_[i].defined()) {
      tensors.emplace_back(prefix + "scale", scales_[i].detach().cpu().to(at::kFloat).contiguous());
      tensors.emplace_back(prefix + "shift", shifts_[i].detach().cpu().to(at::kFloat).contiguous());
    }
  }
  return tensors;
}

namespace {

// Builds the graph of a block network from its modules, by the names block_network.cpp gives them.
class GraphBuilder {
 public:
  explicit GraphBuilder(space::Network& network) {
    for (const auto& item : network.named_modules("", /*include_self=*/false)) {
      modules_[item.key()] = item.value();
    }
  }

  bool has(const std::string& name) const { return modules_.count(name) > 0; }

  int input() { return add(QuantOp::kInput, {}, false, "input"); }

  // conv `conv` (then BatchNorm `bn` folded in, when not empty), then an optional ReLU.
  int conv(int x, const std::string& conv, const std::string& bn, bool relu) {
    auto* c = module(conv)->as<torch::nn::Conv2d>();
    if (!c) throw InternalError("quantization: " + conv + " is not a conv");
    at::Tensor weight = c->weight.detach(),
               bias = c->bias.defined() ? c->bias.detach() : at::Tensor();
    std::string source = conv;
    if (!bn.empty()) {
      auto* b = batchnorm(bn);
      const auto folded = fold_batchnorm(weight, bias, b->weight.detach(), b->bias.detach(),
                                         b->running_mean, b->running_var, b->options.eps());
      weight = folded.weight;
      bias = folded.bias;
      source.append("+").append(bn);
    } else if (!bias.defined()) {
      bias = at::zeros({weight.size(0)}, weight.options());
    }
    const int i = add(QuantOp::kConv, {x}, relu, source);
    nodes_.back().stride = static_cast<int>((*c->options.stride())[0]);
    nodes_.back().padding = static_cast<int>(weight.size(2) / 2);
    weights_.back() = weight;
    biases_.back() = bias;
    return i;
  }

  // Eval-mode BatchNorm `bn` as a per-channel scale and shift, then ReLU.
  int affine(int x, const std::string& bn) {
    auto* b = batchnorm(bn);
    at::NoGradGuard no_grad;
    const auto scale = b->weight.detach() / at::sqrt(b->running_var + b->options.eps());
    const int i = add(QuantOp::kAffine, {x}, true, bn);
    scales_.back() = scale;
    shifts_.back() = b->bias.detach() - b->running_mean * scale;
    return i;
  }

  int linear(int x, const std::string& name) {
    auto* l = module(name)->as<torch::nn::Linear>();
    if (!l) throw InternalError("quantization: " + name + " is not a linear layer");
    const int i = add(QuantOp::kLinear, {x}, false, name);
    weights_.back() = l->weight.detach();
    biases_.back() = l->bias.detach();
    return i;
  }

  int add(QuantOp op, std::vector<int> inputs, bool relu, const std::string& source) {
    QuantNode node;
    node.op = op;
    node.inputs = std::move(inputs);
    node.relu = relu;
    node.source = source;
    nodes_.push_back(node);
    weights_.emplace_back();
    biases_.emplace_back();
    scales_.emplace_back();
    shifts_.emplace_back();
    return static_cast<int>(nodes_.size()) - 1;
  }

  std::shared_ptr<QuantNetwork> finish(std::int64_t flops, const QuantOptions& options) {
    return std::make_shared<QuantNetwork>(nodes_, weights_, biases_, scales_, shifts_, flops,
                                          options);
  }

 private:
  std::shared_ptr<torch::nn::Module> module(const std::string& name) const {
    const auto it = modules_.find(name);
    if (it == modules_.end()) throw InternalError("quantization: the network has no " + name);
    return it->second;
  }
  torch::nn::BatchNorm2dImpl* batchnorm(const std::string& name) const {
    auto* b = module(name)->as<torch::nn::BatchNorm2d>();
    if (!b) throw InternalError("quantization: " + name + " is not a BatchNorm");
    return b;
  }

  std::map<std::string, std::shared_ptr<torch::nn::Module>> modules_;
  std::vector<QuantNode> nodes_;
  std::vector<at::Tensor> weights_, biases_, scales_, shifts_;
};

}  // namespace

std::shared_ptr<QuantNetwork> quantizable_block_network(space::Network& network,
                                                        const space::BlockSpace& space,
                                                        const space::Architecture& arch,
                                                        const QuantOptions& options) {
  at::NoGradGuard no_grad;
  network.to(at::kCPU);
  GraphBuilder g(network);
  int x = g.conv(g.input(), "stem", "stem_bn", true);
  const auto stages = space.stages(arch);
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto& st = stages[s];
    const auto stage = "stage" + std::to_string(s);
    switch (st.block) {
      case space::BlockType::kBasic:
      case space::BlockType::kBottleneck: {
        const int convs = st.block == space::BlockType::kBasic ? 2 : 3;
        for (int b = 0; b < st.depth; ++b) {
          const auto p = stage + "_block" + std::to_string(b) + ".";
          int y = x;
          for (int k = 1; k <= convs; ++k) {
            const auto index = std::to_string(k);
            y = g.conv(y, p + "conv" + index, p + "bn" + index, k < convs);
          }
          const int shortcut =
              g.has(p + "shortcut") ? g.conv(x, p + "shortcut.conv", p + "shortcut.bn", false) : x;
          x = g.add(QuantOp::kAdd, {y, shortcut}, true, p + "add");
        }
        break;
      }
      case space::BlockType::kDense: {
        const auto p = stage + ".";
        if (s > 0) x = g.add(QuantOp::kAvgPool, {x}, false, p + "pool");
        for (int i = 0; g.has(p + "conv" + std::to_string(i)); ++i) {
          const auto index = std::to_string(i);
          const int a = g.affine(x, p + "bn" + index);
          const int y = g.conv(a, p + "conv" + index, "", false);
          x = g.add(QuantOp::kConcat, {x, y}, false, p + "concat" + index);
        }
        x = g.conv(x, p + "transition", p + "transition_bn", true);
        break;
      }
    }
  }
  x = g.add(QuantOp::kGlobalMean, {x}, false, "mean");
  g.linear(x, "head");
  auto quant = g.finish(network.flops(), options);
  quant->eval();
  return quant;
}

void calibrate(QuantNetwork& network, const trainer::Dataset& train,
               const trainer::Normalization& norm, int batches, int batch_size,
               c10::Device device) {
  if (batches < 1) {
    throw ConfigError("calibration needs at least 1 batch of training images (got " +
                      std::to_string(batches) + ")");
  }
  if (train.size() == 0) throw ConfigError("calibration: the training split is empty");
  at::NoGradGuard no_grad;
  network.to(device);
  network.eval();
  network.set_mode(QuantMode::kCalibrate);
  const auto channels = static_cast<std::int64_t>(norm.mean.size());
  std::vector<float> scale, shift;
  for (size_t c = 0; c < norm.mean.size(); ++c) {
    scale.push_back(1.0f / (255.0f * norm.std[c]));
    shift.push_back(-norm.mean[c] / norm.std[c]);
  }
  const auto scale_t = at::tensor(scale).view({1, channels, 1, 1}).to(device);
  const auto shift_t = at::tensor(shift).view({1, channels, 1, 1}).to(device);
  for (int b = 0; b < batches; ++b) {
    const auto begin = (static_cast<std::int64_t>(b) * batch_size) % train.size();
    const auto end = std::min(train.size(), begin + batch_size);
    const auto images = train.images.slice(0, begin, end).to(device).to(at::kFloat);
    network.forward(at::addcmul(shift_t, images, scale_t));
  }
  network.set_mode(QuantMode::kQuantized);
}

}  // namespace nasforge::compress
