#include "trainer/training_loop.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <torch/autograd.h>
#include <torch/cuda.h>

#include <chrono>
#include <cmath>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/augment.h"
#include "trainer/batch_prefetcher.h"
#include "trainer/cudnn_benchmark.h"
#include "trainer/precision.h"
#include "trainer/sgd.h"
#include "trainer/training_inputs.h"

namespace nasforge::trainer {
namespace {

using Clock = std::chrono::steady_clock;

// What Python's module.to(memory_format=...) does: 4-d weights change layout in place, so the
// optimizer's and the module's handles stay the same tensors.
void set_memory_format(torch::nn::Module& network, at::MemoryFormat format) {
  torch::NoGradGuard no_grad;
  for (auto& p : network.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
  }
}

// A host tensor on `device`, copied from pinned memory without blocking the host.
at::Tensor to_device(const at::Tensor& host, c10::Device device) {
  if (!host.defined() || host.device() == device) return host;
  if (device.is_cuda()) return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device);
}

EvalMetrics evaluate_batches(space::Network& network, const at::Tensor& images,
                             const at::Tensor& labels, const PixelNormalizer& normalizer,
                             c10::Device device, int batch_size, Precision precision,
                             bool channels_last) {
  torch::NoGradGuard no_grad;
  network.eval();
  const auto n = images.defined() ? images.size(0) : 0;
  auto loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
  auto correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  AutocastScope autocast(device.type(), effective_precision(precision, device.type()));
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const auto len = std::min<std::int64_t>(batch_size, n - start);
    auto x = normalizer.apply(to_device(images.narrow(0, start, len), device));
    if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    auto y = to_device(labels.narrow(0, start, len), device);
    auto logits = network.forward(x).to(at::kFloat);
    loss_sum.add_(at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum));
    correct.add_(logits.argmax(1).eq(y).sum());
  }
  const double total = static_cast<double>(std::max<std::int64_t>(1, n));
  return {loss_sum.item<double>() / total,
          static_cast<double>(correct.item<std::int64_t>()) / total};
}

}  // namespace

bool default_channels_last(c10::Device device) { return device.is_cuda(); }

EvalMetrics evaluate_network(space::Network& network, const Dataset& data,
                             const Normalization& norm, c10::Device device, int batch_size,
                             Precision precision) {
  return evaluate_batches(network, data.images, data.labels,
                          PixelNormalizer(norm.mean, norm.std, device), device, batch_size,
                          precision, /*channels_last=*/false);
}

class TrainingSession::Impl {
 public:
  Impl(space::Network& network, const DataSplits& data, const TrainConfig& config,
       c10::Device device, std::uint64_t seed, const DeviceTuning& tuning,
       DataParallel* data_parallel)
      : network_(network),
        data_parallel_(data_parallel),
        config_(config),
        device_(device),
        precision_(effective_precision(config.precision, device.type())),
        channels_last_(tuning.channels_last.value_or(default_channels_last(device))),
        padding_(effective_crop_padding(config, data)),
        flip_(effective_flip(config, data)),
        augment_(effective_augmentation(config.augment, data.shape.channels)),
        image_height_(data.shape.height),
        image_width_(data.shape.width),
        normalizer_(data.mean, data.std, device),
        gen_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        n_(data.train.size()) {
    network_.to(device_);
    if (channels_last_) set_memory_format(network_, at::MemoryFormat::ChannelsLast);
    if (device_.is_cuda()) cudnn_benchmark_.emplace(tuning.cudnn_benchmark);
    place_data(data, tuning.resident_data);
    if (!resident_ && tuning.prefetch_batches > 0) {
      prefetcher_.emplace(train_images_, train_labels_, tuning.prefetch_batches,
                          tuning.prefetch_workers, /*pin=*/device_.is_cuda());
    }
    sgd_.emplace(network_.parameters(),
                 SgdOptions{config_.momentum, config_.nesterov, config_.weight_decay});
    if (precision_ == Precision::kFp16) scaler_.emplace(device_);
    steps_per_epoch_ = (n_ + config_.batch_size - 1) / config_.batch_size;
    // A continued trial numbers its epochs on from its weights' and anneals over its own.
    total_steps_ = steps_per_epoch_ * (config_.epochs - config_.start_epoch);
    warmup_steps_ = steps_per_epoch_ * config_.warmup_epochs;
    epoch_ = config_.start_epoch;
    position_ = n_;  // no epoch begun yet
  }

  ~Impl() {
    try {
      if (channels_last_) set_memory_format(network_, at::MemoryFormat::Contiguous);
    } catch (const c10::Error& e) {
      log::warn(std::string("could not restore the network's memory format: ") +
                e.what_without_backtrace());
    }
  }

  EpochRecord run_epoch() {
    const auto started = Clock::now();
    network_.train();
    begin_epoch();
    while (position_ < n_) {
      step();
      if (on_batch_) report_batch(started);
    }
    EpochRecord record;
    record.epoch = epoch_;
    if (data_parallel_) {
      data_parallel_->all_reduce_sum(loss_sum_);
      data_parallel_->all_reduce_sum(correct_);
    }
    const double n = static_cast<double>(std::max<std::int64_t>(1, n_));
    record.train_loss = loss_sum_.item<double>() / n;
    record.train_accuracy = static_cast<double>(correct_.item<std::int64_t>()) / n;
    if (!std::isfinite(record.train_loss)) {
      throw TrainingError("training diverged: loss is " + std::to_string(record.train_loss) +
                          " in epoch " + std::to_string(epoch_) + " (try a lower learning_rate)");
    }
    auto evaluate_range = [&](std::int64_t begin, std::int64_t count) {
      auto part = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, begin, count) : t; };
      return evaluate_batches(network_, part(val_images_), part(val_labels_), normalizer_, device_,
                              config_.eval_batch_size, precision_, channels_last_);
    };
    const auto n_val = val_images_.defined() ? val_images_.size(0) : 0;
    const auto val =
        data_parallel_ ? data_parallel_->validate(n_val, evaluate_range) : evaluate_range(0, n_val);
    record.val_loss = val.loss;
    record.val_accuracy = val.accuracy;
    record.learning_rate = lr_;
    record.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (scaler_) {
      record.loss_scale = scaler_->scale_value();
      record.skipped_steps = scaler_->skipped_steps();
    }
    return record;
  }

  void run_steps(std::int64_t count) {
    network_.train();
    for (std::int64_t i = 0; i < count; ++i) {
      if (position_ >= n_) begin_epoch();
      step();
    }
  }

  void synchronize() const {
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  }

  void set_on_batch(std::function<void(const BatchProgress&)> on_batch) {
    on_batch_ = std::move(on_batch);
  }

  void set_loss(LossFunction loss) { loss_ = std::move(loss); }

  bool channels_last() const { return channels_last_; }
  bool resident() const { return resident_; }
  std::int64_t steps_per_epoch() const { return steps_per_epoch_; }

 private:
  void place_data(const DataSplits& data, bool resident) {
    train_images_ = data.train.images;
    train_labels_ = data.train.labels;
    val_images_ = data.validation.images;
    val_labels_ = data.validation.labels;
    resident_ = device_.is_cpu() && resident;
    if (device_.is_cpu() || !resident) return;
    try {
      auto images = data.train.images.to(device_);
      auto labels = data.train.labels.to(device_);
      auto val_images =
          data.validation.images.defined() ? data.validation.images.to(device_) : at::Tensor();
      auto val_labels =
          data.validation.labels.defined() ? data.validation.labels.to(device_) : at::Tensor();
      train_images_ = images;
      train_labels_ = labels;
      val_images_ = val_images;
      val_labels_ = val_labels;
      resident_ = true;
    } catch (const c10::OutOfMemoryError&) {
      log::warn("the data set does not fit in " + device_.str() +
                " memory; copying each batch from the host instead");
    }
  }

  // Shuffles and draws the epoch's augmentation on the host, then moves them in one copy each.
  void begin_epoch() {
    ++epoch_;
    position_ = 0;
    order_host_ = at::randperm(n_, gen_, at::kLong);
    auto draws = draw_augmentation(n_, padding_, flip_, gen_);
    // After crop and flip, so that their draws are those of a run without the other ops.
    auto params = draw_image_augmentation(n_, augment_, image_height_, image_width_, gen_);
    order_ = resident_ ? to_device(order_host_, device_) : order_host_;
    if (prefetcher_) {
      std::vector<at::Tensor> batches;
      for (std::int64_t start = 0; start < n_; start += config_.batch_size) {
        const auto len = std::min<std::int64_t>(config_.batch_size, n_ - start);
        auto index = order_host_.narrow(0, start, len);
        const auto local = local_positions(start, len);
        batches.push_back(local.defined() ? index.index_select(0, local) : index);
      }
      prefetcher_->start_epoch(std::move(batches));
    }
    offsets_ = to_device(draws.offsets, device_);
    flips_ = to_device(draws.flips, device_);
    params_ = to_device(params, device_);
    loss_sum_ = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device_));
    correct_ = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device_));
  }

  void step() {
    const auto len = std::min<std::int64_t>(config_.batch_size, n_ - position_);
    // Data-parallel: this rank's positions, copied to the device once per step (not once per
    // tensor gathered with them).
    const auto local = local_positions(position_, len);
    const auto local_on_device = local.defined() ? to_device(local, device_) : local;
    auto part = [&](const at::Tensor& t) {
      auto batch = t.narrow(0, position_, len);
      if (!local.defined()) return batch;
      return batch.index_select(0, t.device() == device_ ? local_on_device : local);
    };
    // Resident: the gather runs on the device; otherwise on the host (ahead of time, by the
    // prefetcher's workers, when there is one), then one copy from pinned memory.
    at::Tensor images, y;
    if (prefetcher_) {
      auto batch = prefetcher_->next();
      images = to_device(batch.images, device_);
      y = to_device(batch.labels, device_);
    } else {
      auto index = part(order_);
      images = to_device(train_images_.index_select(0, index), device_);
      y = to_device(train_labels_.index_select(0, index), device_);
    }
    const auto local_len = y.size(0);
    lr_ = learning_rate_at(config_, step_, total_steps_, warmup_steps_);
    sgd_->zero_grad();
    // A rank whose share of a last, short global batch is empty still joins the all-reduce.
    if (local_len > 0) {
      const auto params = params_.defined() ? part(params_) : at::Tensor();
      auto x = augmented_batch(normalizer_, images, augment_, padding_,
                               offsets_.defined() ? part(offsets_) : at::Tensor(),
                               flips_.defined() ? part(flips_) : at::Tensor(), params);
      if (channels_last_) x = x.contiguous(at::MemoryFormat::ChannelsLast);
      at::Tensor logits, loss;
      {
        AutocastScope autocast(device_.type(), precision_);
        logits = network_.forward(x);
        loss = loss_ ? loss_(x, logits.to(at::kFloat), y)
                     : at::cross_entropy_loss(logits.to(at::kFloat), y, {}, at::Reduction::Mean,
                                              -100, config_.label_smoothing);
      }
      if (data_parallel_) data_parallel_->before_backward(local_len, len);
      (scaler_ ? scaler_->scale(loss) : loss).backward();
      loss_sum_.add_(loss.detach(), static_cast<double>(local_len));
      correct_.add_(logits.detach().argmax(1).eq(y).sum());
    }
    if (data_parallel_) data_parallel_->after_backward(network_, local_len, len);
    if (scaler_) {
      sgd_->step(lr_, scaler_->unscale(sgd_->gradients()));
      scaler_->update();
    } else {
      sgd_->step(lr_);
    }
    position_ += len;
    ++step_;
  }

  // From host counters only: position_ counts the global batch's images on every rank.
  void report_batch(Clock::time_point epoch_started) const {
    BatchProgress progress;
    progress.epoch = epoch_;
    progress.epochs = config_.epochs;
    progress.batch = (position_ + config_.batch_size - 1) / config_.batch_size;
    progress.batches = steps_per_epoch_;
    progress.images = position_;
    progress.total_images = n_;
    progress.seconds = std::chrono::duration<double>(Clock::now() - epoch_started).count();
    on_batch_(progress);
  }

  // Data-parallel: this rank's positions within the global batch at [start, start + len) of the
  // epoch's order; undefined: all of them.
  at::Tensor local_positions(std::int64_t start, std::int64_t len) const {
    if (!data_parallel_) return {};
    return data_parallel_->local_positions(order_host_.narrow(0, start, len));
  }

  space::Network& network_;
  DataParallel* data_parallel_;
  TrainConfig config_;
  c10::Device device_;
  Precision precision_;
  bool channels_last_;
  int padding_;
  bool flip_;
  Augmentation augment_;
  std::int64_t image_height_, image_width_;
  PixelNormalizer normalizer_;
  at::Generator gen_;
  std::int64_t n_;
  std::optional<CudnnBenchmarkScope> cudnn_benchmark_;  // set while training on a GPU
  bool resident_ = true;
  at::Tensor train_images_, train_labels_, val_images_, val_labels_;
  std::optional<FusedSgd> sgd_;
  std::optional<LossScaler> scaler_;
  std::optional<BatchPrefetcher> prefetcher_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0;
  std::int64_t step_ = 0, position_ = 0;
  int epoch_ = 0;
  double lr_ = 0;
  at::Tensor order_host_, order_, offsets_, flips_, params_;
  at::Tensor loss_sum_, correct_;
  std::function<void(const BatchProgress&)> on_batch_;
  LossFunction loss_;
};

TrainingSession::TrainingSession(space::Network& network, const DataSplits& data,
                                 const TrainConfig& config, c10::Device device, std::uint64_t seed,
                                 const DeviceTuning& tuning, DataParallel* data_parallel)
    : impl_(std::make_unique<Impl>(network, data, config, device, seed, tuning, data_parallel)) {}

TrainingSession::~TrainingSession() = default;

EpochRecord TrainingSession::run_epoch() { return impl_->run_epoch(); }
void TrainingSession::set_on_batch(std::function<void(const BatchProgress&)> on_batch) {
  impl_->set_on_batch(std::move(on_batch));
}
void TrainingSession::set_loss(LossFunction loss) { impl_->set_loss(std::move(loss)); }
void TrainingSession::run_steps(std::int64_t count) { impl_->run_steps(count); }
void TrainingSession::synchronize() const { impl_->synchronize(); }
bool TrainingSession::channels_last() const { return impl_->channels_last(); }
bool TrainingSession::data_on_device() const { return impl_->resident(); }
std::int64_t TrainingSession::steps_per_epoch() const { return impl_->steps_per_epoch(); }

TrainingOutcome train_network(space::Network& network, const DataSplits& data,
                              const TrainConfig& config, c10::Device device, std::uint64_t seed,
                              const std::function<bool(const EpochRecord&)>& on_epoch,
                              const DeviceTuning& tuning, DataParallel* data_parallel,
                              const std::function<void(const BatchProgress&)>& on_batch) {
  if (config.start_epoch >= config.epochs) {
    throw InternalError("train_network: start_epoch " + std::to_string(config.start_epoch) +
                        " leaves nothing of " + std::to_string(config.epochs) + " epochs to train");
  }
  TrainingSession session(network, data, config, device, seed, tuning, data_parallel);
  session.set_on_batch(on_batch);
  TrainingOutcome outcome;
  for (int epoch = config.start_epoch + 1; epoch <= config.epochs; ++epoch) {
    outcome.epochs.push_back(session.run_epoch());
    if (on_epoch && !on_epoch(outcome.epochs.back())) {
      outcome.stopped_early = epoch < config.epochs;
      break;
    }
  }
  return outcome;
}

}  // namespace nasforge::trainer
