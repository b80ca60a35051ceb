#include "trainer/training_loop.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>
#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>
#include <numbers>

#include "common/errors.h"
#include "trainer/augment.h"
#include "trainer/precision.h"

namespace nasforge::trainer {
namespace {

using Clock = std::chrono::steady_clock;

at::Tensor normalize(const at::Tensor& images_u8, const Normalization& norm, c10::Device device) {
  auto x = images_u8.to(device, /*non_blocking=*/true).to(at::kFloat).div_(255.0);
  const auto c = x.size(1);
  auto mean = at::tensor(norm.mean, at::TensorOptions().dtype(at::kFloat)).to(device).view({1, c, 1, 1});
  auto std = at::tensor(norm.std, at::TensorOptions().dtype(at::kFloat)).to(device).view({1, c, 1, 1});
  return x.sub_(mean).div_(std);
}

double learning_rate_at(const TrainConfig& config, std::int64_t step, std::int64_t total_steps,
                        std::int64_t warmup_steps) {
  if (step < warmup_steps) {
    return config.learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps));
  return 0.5 * config.learning_rate * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0 && !torch::cuda::is_available()) {
    throw ConfigError("device '" + name + "': CUDA is not available on this machine; use \"auto\" or \"cpu\"");
  }
  return c10::Device(name);
}

EvalMetrics evaluate_network(space::Network& network, const Dataset& data, const Normalization& norm,
                             c10::Device device, int batch_size, Precision precision) {
  torch::NoGradGuard no_grad;
  network.eval();
  const auto n = data.size();
  auto loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
  auto correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  AutocastScope autocast(device.type(), effective_precision(precision, device.type()));
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const auto len = std::min<std::int64_t>(batch_size, n - start);
    auto x = normalize(data.images.narrow(0, start, len), norm, device);
    auto y = data.labels.narrow(0, start, len).to(device);
    auto logits = network.forward(x).to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).to(at::kDouble);
    correct += logits.argmax(1).eq(y).sum();
  }
  const double total = static_cast<double>(std::max<std::int64_t>(1, n));
  return {loss_sum.item<double>() / total, static_cast<double>(correct.item<std::int64_t>()) / total};
}

TrainingOutcome train_network(space::Network& network, const DataSplits& data,
                              const TrainConfig& config, c10::Device device, std::uint64_t seed,
                              const std::function<bool(const EpochRecord&)>& on_epoch) {
  network.to(device);
  const Precision precision = effective_precision(config.precision, device.type());
  const Normalization norm{data.mean, data.std};
  const int padding = config.crop_padding >= 0 ? config.crop_padding : (data.shape.height >= 32 ? 4 : 2);
  const bool flip = config.flip >= 0 ? config.flip == 1 : data.natural_images;

  torch::optim::SGD optimizer(network.parameters(),
                              torch::optim::SGDOptions(config.learning_rate)
                                  .momentum(config.momentum)
                                  .nesterov(config.nesterov && config.momentum > 0)
                                  .weight_decay(config.weight_decay));
  std::optional<LossScaler> scaler;
  if (precision == Precision::kFp16) scaler.emplace(device);

  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto n = data.train.size();
  const auto steps_per_epoch = (n + config.batch_size - 1) / config.batch_size;
  const auto total_steps = steps_per_epoch * config.epochs;
  const auto warmup_steps = steps_per_epoch * config.warmup_epochs;
  std::int64_t step = 0;
  TrainingOutcome outcome;

  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto started = Clock::now();
    network.train();
    auto order = at::randperm(n, gen, at::kLong);
    auto loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
    auto correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
    double lr = config.learning_rate;
    for (std::int64_t start = 0; start < n; start += config.batch_size, ++step) {
      const auto len = std::min<std::int64_t>(config.batch_size, n - start);
      auto index = order.narrow(0, start, len);
      auto x = normalize(data.train.images.index_select(0, index), norm, device);
      x = random_crop(x, padding, gen);
      if (flip) x = random_flip(x, gen);
      auto y = data.train.labels.index_select(0, index).to(device);

      lr = learning_rate_at(config, step, total_steps, warmup_steps);
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      }
      optimizer.zero_grad();
      at::Tensor logits, loss;
      {
        AutocastScope autocast(device.type(), precision);
        logits = network.forward(x);
        loss = at::cross_entropy_loss(logits.to(at::kFloat), y, {}, at::Reduction::Mean, -100,
                                      config.label_smoothing);
      }
      if (scaler) {
        scaler->scale(loss).backward();
        std::vector<at::Tensor> grads;
        for (auto& p : network.parameters()) grads.push_back(p.mutable_grad());
        if (scaler->unscale_and_check(grads)) optimizer.step();
        scaler->update();
      } else {
        loss.backward();
        optimizer.step();
      }
      loss_sum += loss.detach().to(at::kDouble) * static_cast<double>(len);
      correct += logits.detach().argmax(1).eq(y).sum();
    }
    EpochRecord record;
    record.epoch = epoch;
    record.train_loss = loss_sum.item<double>() / static_cast<double>(n);
    record.train_accuracy = static_cast<double>(correct.item<std::int64_t>()) / static_cast<double>(n);
    if (!std::isfinite(record.train_loss)) {
      throw TrainingError("training diverged: loss is " + std::to_string(record.train_loss) +
                          " in epoch " + std::to_string(epoch) + " (try a lower learning_rate)");
    }
    const auto val = evaluate_network(network, data.validation, norm, device, config.eval_batch_size,
                                      precision);
    record.val_loss = val.loss;
    record.val_accuracy = val.accuracy;
    record.learning_rate = lr;
    record.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (scaler) {
      record.loss_scale = scaler->scale_value();
      record.skipped_steps = scaler->skipped_steps();
    }
    outcome.epochs.push_back(record);
    if (on_epoch && !on_epoch(record)) {
      outcome.stopped_early = epoch < config.epochs;
      break;
    }
  }
  return outcome;
}

}  // namespace nasforge::trainer
