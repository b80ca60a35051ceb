// Quantization: BatchNorm folding, the quantizable graph of a block network, calibration and fake
// quantization, and the int8 QDQ ONNX model in ONNX Runtime against the fake-quant network.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/optim/sgd.h>

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "compress/pruning.h"
#include "compress/quantization.h"
#include "export/qdq_onnx.h"
#include "export/safetensors.h"
#include "tests/compress/tiny_network.h"
#include "tests/export/export_helpers.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;

namespace {

at::Tensor normalised(const at::Tensor& images_u8) {
  return (images_u8.to(at::kFloat) / 255.0 - 0.5) / 0.25;
}

trainer::Normalization kNorm{{0.5f}, {0.25f}};

}  // namespace

TEST_CASE("folding BatchNorm into the conv before it keeps eval-mode outputs", "[compress]") {
  torch::manual_seed(5);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 6, 3).padding(1).stride(2));
  torch::nn::BatchNorm2d bn(6);
  {
    at::NoGradGuard no_grad;
    bn->running_mean.copy_(at::randn({6}));
    bn->running_var.copy_(at::rand({6}) + 0.3);
    bn->weight.copy_(at::randn({6}));
    bn->bias.copy_(at::randn({6}));
  }
  bn->eval();
  const auto x = at::randn({4, 3, 9, 9});
  at::NoGradGuard no_grad;
  const auto expected = bn(conv(x));
  const auto folded = compress::fold_batchnorm(conv->weight, conv->bias, bn->weight, bn->bias,
                                               bn->running_mean, bn->running_var, 1e-5);
  const auto got = at::conv2d(x, folded.weight, folded.bias, 2, 1);
  CHECK(at::allclose(got, expected, 1e-5, 1e-5));
  // Without a conv bias, as the block networks' convs are.
  const auto no_bias = compress::fold_batchnorm(conv->weight, at::Tensor(), bn->weight, bn->bias,
                                                bn->running_mean, bn->running_var, 1e-5);
  const auto expected2 = bn(at::conv2d(x, conv->weight, {}, 2, 1));
  CHECK(at::allclose(at::conv2d(x, no_bias.weight, no_bias.bias, 2, 1), expected2, 1e-5, 1e-5));
}

TEST_CASE("the folded graph of a block network gives the network's outputs", "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  auto net = tiny_network(space, arch);
  auto quant = compress::quantizable_block_network(*net, space, arch);
  // Every conv's BatchNorm is gone: convs, the dense layers' affines, and the head.
  int convs = 0, affines = 0;
  for (const auto& n : quant->nodes()) {
    convs += n.op == compress::QuantOp::kConv;
    affines += n.op == compress::QuantOp::kAffine;
  }
  CHECK(convs == 1 + 2 + 1 + 4 + 2 + 1);  // stem, basic, its shortcut, bottleneck + shortcut,
                                          // dense layers, transition
  CHECK(affines == 2);
  at::NoGradGuard no_grad;
  const auto x = at::randn({8, 1, 12, 12});
  net->eval();
  const auto expected = net->forward(x);
  CHECK(at::allclose(quant->forward(x), expected, 1e-5, 1e-5));
  CHECK(quant->parameter_count() < net->parameter_count());  // BatchNorm parameters folded away
  CHECK(quant->flops() == net->flops());

  SECTION("and a pruned network's too") {
    const auto widths = space::BlockWidths::defaults(space, arch);
    const auto scores = compress::rank_channels(*net, space, arch, widths, compress::Ranking::kL1);
    const auto plan = compress::plan_pruning(space, arch, widths, kShape, kClasses, scores, 0.4,
                                             compress::PruneTarget::kFlops);
    auto pruned = compress::apply_pruning(*net, space, arch, plan, kShape, kClasses);
    auto q = compress::quantizable_block_network(*pruned, space, arch);
    CHECK(at::allclose(q->forward(x), pruned->forward(x), 1e-5, 1e-5));
  }
}

TEST_CASE("calibrated fake quantization puts weights and activations on their int8 grids",
          "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  auto net = tiny_network(space, arch);
  auto quant = compress::quantizable_block_network(*net, space, arch);
  torch::manual_seed(2);
  trainer::Dataset train{at::randint(0, 256, {96, 1, 12, 12}).to(at::kByte),
                         at::randint(0, kClasses, {96}).to(at::kLong)};
  REQUIRE_THROWS_AS(compress::calibrate(*quant, train, kNorm, 0, 32, at::kCPU), ConfigError);
  compress::calibrate(*quant, train, kNorm, 3, 32, at::kCPU);
  CHECK(quant->mode() == compress::QuantMode::kQuantized);
  for (size_t i = 0; i + 1 < quant->nodes().size(); ++i) {
    const auto [scale, zero_point] = quant->activation_qparams(i);
    INFO("node " << i << " " << quant->nodes()[i].source);
    CHECK(scale > 0);
    CHECK(zero_point >= 0);
    CHECK(zero_point <= 255);
    // ReLU outputs start at 0, so ONNX Runtime can drop the ReLU before QuantizeLinear.
    if (quant->nodes()[i].relu) CHECK(zero_point == 0);
  }
  for (const auto& [name, t] : quant->export_tensors()) {
    if (name.ends_with(".weight")) {
      CHECK(t.scalar_type() == at::kChar);
      CHECK(t.abs().max().item<int>() == 127);  // each channel's largest weight takes the range
    }
  }
  at::NoGradGuard no_grad;
  const auto x = normalised(train.images.slice(0, 0, 32));
  const auto fake = quant->forward(x);
  quant->set_mode(compress::QuantMode::kFloat);
  const auto real = quant->forward(x);
  // Close but not equal: 8 bits lose a little.
  CHECK_FALSE(at::equal(fake, real));
  CHECK((fake - real).abs().max().item<double>() < 0.2 * real.abs().max().item<double>());
}

TEST_CASE("quantization-aware training moves the ranges and trains through fake quantization",
          "[compress]") {
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  auto net = tiny_network(space, arch);
  auto quant = compress::quantizable_block_network(*net, space, arch);
  torch::manual_seed(4);
  trainer::Dataset train{at::randint(0, 256, {64, 1, 12, 12}).to(at::kByte),
                         at::randint(0, kClasses, {64}).to(at::kLong)};
  compress::calibrate(*quant, train, kNorm, 1, 32, at::kCPU);
  const auto before = quant->activation_qparams(1);
  quant->train();
  const auto x = normalised(train.images) * 3;  // a wider input range than calibrated
  auto loss = at::cross_entropy_loss(quant->forward(x), train.labels);
  loss.backward();
  // Straight-through gradients reach the weights of every conv.
  for (const auto& p : quant->parameters()) {
    REQUIRE(p.grad().defined());
    CHECK(p.grad().abs().sum().item<double>() > 0);
  }
  const auto after = quant->activation_qparams(1);
  CHECK(after.first > before.first);
  // In eval mode the ranges stay.
  quant->eval();
  at::NoGradGuard no_grad;
  quant->forward(x);
  CHECK(quant->activation_qparams(1).first == after.first);
}

TEST_CASE("the int8 QDQ model in ONNX Runtime has the fake-quant network's accuracy",
          "[compress][export]") {
  NASFORGE_REQUIRE_PYTHON();
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  auto net = tiny_network(space, arch);
  torch::manual_seed(6);
  // The task: which quadrant is brighter. A few steps of training, so that predictions vary.
  const auto targets = at::randint(0, kClasses, {2000}).to(at::kLong);
  const auto masks = at::one_hot(targets, kClasses).to(at::kFloat).view({2000, 1, 2, 2});
  const auto images =
      (at::randint(0, 176, {2000, 1, 12, 12}) + 80 * at::upsample_nearest2d(masks, {12, 12}))
          .to(at::kByte);
  net->train();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  for (int step = 0; step < 30; ++step) {
    sgd.zero_grad();
    const auto b = (step % 3) * 256;
    at::cross_entropy_loss(net->forward(normalised(images.slice(0, b, b + 256))),
                           targets.slice(0, b, b + 256))
        .backward();
    sgd.step();
  }
  net->eval();
  // 7-bit weights, as `nasforge compress` uses by default: x86 CPUs without VNNI (this one) sum
  // uint8 x int8 products in 16 bits, which full-range int8 weights overflow (agreement with the
  // fake-quant network then fell to 93.5% here).
  compress::QuantOptions quant_options;
  quant_options.weight_max = 63;
  auto quant = compress::quantizable_block_network(*net, space, arch, quant_options);
  trainer::Dataset train{images.slice(0, 0, 256), targets.slice(0, 0, 256)};
  compress::calibrate(*quant, train, kNorm, 4, 64, at::kCPU);
  at::Tensor predictions;
  {
    at::NoGradGuard no_grad;
    predictions = quant->forward(normalised(images)).argmax(1);
  }
  const double fake_accuracy = predictions.eq(targets).to(at::kDouble).mean().item<double>();
  // Not a network that predicts one class whatever the input.
  const auto counts = at::bincount(predictions, {}, kClasses);
  INFO("predicted classes " << counts);
  REQUIRE(std::get<0>(at::sort(counts))[kClasses - 2].item<std::int64_t>() >= 100);

  TempDir dir("quant-onnx");
  auto graph = quant->graph_json();
  graph["input_shape"] = {1, 12, 12};
  graph["mean"] = {0.5};
  graph["std"] = {0.25};
  std::ofstream(dir.file("quant_graph.json")) << graph.dump(2);
  exporter::write_safetensors(dir.file("quant_weights.safetensors"), quant->export_tensors());
  const auto qdq = exporter::export_qdq_onnx(dir.path.string(), exporter::default_python());
  INFO(qdq.message);
  REQUIRE(qdq.written);
  // Accuracy on the task, and agreement: accuracy against the fake-quant network's predictions.
  exporter::write_safetensors(dir.file("task.safetensors"),
                              {{"images", images}, {"labels", targets.to(at::kLong)}});
  exporter::write_safetensors(dir.file("agreement.safetensors"),
                              {{"images", images}, {"labels", predictions.to(at::kLong)}});
  exporter::OrtOptions options;
  options.latency = false;
  options.data = dir.file("task.safetensors");
  const auto task = exporter::run_onnx_runtime({dir.file("model_int8.onnx")}, options,
                                               exporter::default_python());
  options.data = dir.file("agreement.safetensors");
  const auto agreement = exporter::run_onnx_runtime({dir.file("model_int8.onnx")}, options,
                                                    exporter::default_python());
  INFO(task.message << agreement.message);
  REQUIRE(task.ran);
  REQUIRE(agreement.ran);
  const auto& ort = task.models.at(0);
  INFO("fake-quant " << fake_accuracy << ", ONNX Runtime int8 " << ort.accuracy << ", agreement "
                     << agreement.models.at(0).accuracy);
  CHECK(fake_accuracy > 0.4);  // learnt something (chance: 0.25)
  CHECK(std::abs(ort.accuracy - fake_accuracy) <= 0.005);
  CHECK(agreement.models.at(0).accuracy >= 0.99);
  // ONNX Runtime ran integer kernels, not dequantized float convs.
  CHECK(ort.quantized_kernels >= 10);
  CHECK(ort.float_convs == 0);
}
