#pragma once
// Int8 quantization of a block network (Jacob et al. 2018, "Quantization and training of neural
// networks for efficient integer-arithmetic-only inference"; Krishnamoorthi 2018): BatchNorm
// folded into the conv before it, per-channel symmetric int8 weights, per-tensor affine uint8
// activations whose ranges observers measure. Post-training quantization calibrates the ranges
// on training batches; quantization-aware training then fine-tunes with fake quantization
// (LibTorch's fake-quantize ops, straight-through gradients) and moving-average ranges.
//
// The quantized network is a small graph of nodes (conv, add, concat, pool, mean, linear), so
// that the same graph, with the learned scales and zero points, is written for ONNX Runtime as a
// QDQ model (export/qdq_onnx.h): each quantized value is what QuantizeLinear -> DequantizeLinear
// gives there.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "space/block_space.h"
#include "space/modules/network.h"
#include "trainer/dataset.h"
#include "trainer/training_loop.h"

namespace nasforge::compress {

// A conv followed by an eval-mode BatchNorm as one conv: w' = w * g / sqrt(v + eps) per output
// channel, b' = beta + (b - mean) * g / sqrt(v + eps). `bias` may be undefined (no bias).
struct FoldedConv {
  at::Tensor weight;
  at::Tensor bias;
};
FoldedConv fold_batchnorm(const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& gamma,
                          const at::Tensor& beta, const at::Tensor& running_mean,
                          const at::Tensor& running_var, double eps);

enum class QuantOp { kInput, kConv, kAdd, kConcat, kAvgPool, kGlobalMean, kAffine, kLinear };
std::string to_string(QuantOp op);

// One node of the quantized graph. Every node's output but the linear head's (the logits) is
// quantized per tensor; `relu` applies before that quantization.
struct QuantNode {
  QuantOp op = QuantOp::kInput;
  std::vector<int> inputs;  // earlier nodes
  bool relu = false;
  int stride = 1;      // conv
  int padding = 0;     // conv
  std::string source;  // the float network's module(s) it came from, for messages
};

enum class QuantMode {
  kFloat,      // no fake quantization: the folded float network
  kCalibrate,  // observers take the min and max of what passes, no fake quantization
  kQuantized,  // fake quantization; in training mode the ranges follow a moving average
};

struct QuantOptions {
  // Weights are symmetric in [-weight_max, weight_max] per output channel (127: int8; 63 keeps
  // x86 kernels without VNNI from saturating their 16-bit sums).
  int weight_max = 127;
  // Moving-average weight of each training batch's range in kQuantized training mode.
  double averaging = 0.01;
};

class QuantNetwork : public space::Network {
 public:
  // `weights[i]`, `biases[i]`: node i's conv/linear tensors (BatchNorm folded in); `scales[i]`,
  // `shifts[i]`: an affine node's per-channel scale and shift (undefined elsewhere).
  QuantNetwork(std::vector<QuantNode> nodes, const std::vector<at::Tensor>& weights,
               const std::vector<at::Tensor>& biases, const std::vector<at::Tensor>& scales,
               const std::vector<at::Tensor>& shifts, std::int64_t flops,
               const QuantOptions& options);

  torch::Tensor forward(torch::Tensor input) override;

  void set_mode(QuantMode mode) { mode_ = mode; }
  QuantMode mode() const { return mode_; }
  const std::vector<QuantNode>& nodes() const { return nodes_; }
  const QuantOptions& options() const { return options_; }

  // Node i's activation scale and zero point (uint8), from its observed range.
  std::pair<double, std::int64_t> activation_qparams(size_t node) const;
  // Bytes of the int8 model: int8 weights, int32 biases, float per-channel weight scales, the
  // activations' scale and zero point, float affine scales and shifts.
  std::int64_t int8_bytes() const;
  // Number of values of the quantized tensors (weights) and of those kept in float.
  std::int64_t quantized_weight_count() const;

  // The graph for export: {"weight_max", "nodes": [{"op", "inputs", "relu", "stride", "padding",
  // "source", "scale", "zero_point"}]}; and its tensors: "n<i>.weight" (int8),
  // "n<i>.weight_scale", "n<i>.bias", "n<i>.scale", "n<i>.shift" (float).
  nlohmann::json graph_json() const;
  std::vector<std::pair<std::string, at::Tensor>> export_tensors() const;

 private:
  at::Tensor quantize_activation(size_t node, const at::Tensor& x);
  at::Tensor quantized_weight(size_t node) const;
  at::Tensor weight_scale(size_t node) const;

  std::vector<QuantNode> nodes_;
  QuantOptions options_;
  QuantMode mode_ = QuantMode::kFloat;
  std::vector<at::Tensor> weights_, biases_, scales_, shifts_;
  std::vector<at::Tensor> min_, max_;  // observed range per node ([1] buffers)
};

// The quantizable graph of a block network of `arch` (any inner widths, e.g. a pruned one) with
// its trained tensors, BatchNorm folded (a DenseNet layer's BatchNorm comes before its ReLU and
// conv, so it stays a float affine). On the CPU, in kFloat mode and eval mode. Throws
// InternalError when the network does not have the layers `arch` implies.
std::shared_ptr<QuantNetwork> quantizable_block_network(space::Network& network,
                                                        const space::BlockSpace& space,
                                                        const space::Architecture& arch,
                                                        const QuantOptions& options = {});

// Post-training calibration: `batches` batches of `batch_size` training images (in order,
// normalised as the trainer does, no augmentation) through the network in kCalibrate mode and
// eval mode, then kQuantized. Throws ConfigError when batches < 1.
void calibrate(QuantNetwork& network, const trainer::Dataset& train,
               const trainer::Normalization& norm, int batches, int batch_size, c10::Device device);

}  // namespace nasforge::compress
