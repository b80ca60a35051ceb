#pragma once
// The training loop: SGD with momentum, cosine learning-rate schedule (with optional linear
// warm-up), augmentation, mixed precision, and a per-epoch validation pass.
//
// The step loop never waits for the host: the data set sits on the device as uint8 (normalised,
// cropped and flipped there), an epoch's shuffling and augmentation draws go to the device in one
// copy, losses and accuracy are summed on the device, and fp16 overflow skips the step on the
// device (FusedSgd). The host reads the device once per epoch. A set that stays on the host (too
// large for the device) is the exception: its batches are gathered on the host, ahead of time by
// a BatchPrefetcher, and the step waits only when a batch is not ready yet.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "space/modules/network.h"
#include "trainer/dataset.h"
#include "trainer/device.h"  // resolve_device, for the callers that name a device
#include "trainer/evaluator.h"
#include "trainer/train_config.h"

namespace nasforge::trainer {

struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

struct EvalMetrics {
  double loss = 0;
  double accuracy = 0;
};

struct TrainingOutcome {
  std::vector<EpochRecord> epochs;
  bool stopped_early = false;
};

// How the loop uses the device. The defaults follow common practice per device; on CPU they
// are not yet backed by a clean measurement (see default_channels_last).
struct DeviceTuning {
  // NHWC weights and activations; nullopt: default_channels_last(device).
  std::optional<bool> channels_last;
  // Let cuDNN time its algorithms for each new convolution shape (CUDA only).
  bool cudnn_benchmark = true;
  // Copy the uint8 splits to the device once per trial. A set that does not fit, or any set
  // when false, stays on the host: each batch is gathered there and copied from pinned memory
  // (on a CPU device, false means the same host-gather path, without pinning).
  bool resident_data = true;
  // Batches of host-side data gathered ahead by oneTBB workers while the device computes
  // (trainer/batch_prefetcher.h); 0: each batch is gathered in its step.
  int prefetch_batches = 4;
  int prefetch_workers = 2;
};

// What makes training data-parallel (trainer/distributed implements it; null: one process).
// Every rank shuffles and draws augmentation for the whole epoch from the same seed, trains on
// its part of each global batch of config.batch_size, and after backward the gradients are made
// those of the mean loss over the global batch. Metrics are summed over ranks.
class DataParallel {
 public:
  virtual ~DataParallel() = default;
  // This rank's part of a global batch: positions in `batch_indices` (the batch's sample
  // indices, int64 on the host), int64 on the host; may be empty.
  virtual at::Tensor local_positions(const at::Tensor& batch_indices) = 0;
  // Right before backward (skipped when the local part is empty), with the sizes after_backward
  // will get: gradient hooks may then start all-reduces while backward runs.
  virtual void before_backward(std::int64_t /*local_size*/, std::int64_t /*global_size*/) {}
  // After backward (skipped when the local part is empty): every rank's gradients become those
  // of the global batch, from local gradients of the mean loss over `local_size` samples.
  virtual void after_backward(space::Network& network, std::int64_t local_size,
                              std::int64_t global_size) = 0;
  // Sums `values` over ranks, in place.
  virtual void all_reduce_sum(at::Tensor& values) = 0;
  // Validation over all ranks: each evaluates its range of the `size` samples with
  // `evaluate_range(begin, count)`; the result is the metrics of the whole set.
  virtual EvalMetrics validate(
      std::int64_t size,
      const std::function<EvalMetrics(std::int64_t begin, std::int64_t count)>& evaluate_range) = 0;
};

// On for CUDA (tensor cores want NHWC); off for the CPU, where measurements on a loaded 2-core
// machine were contradictory and tiny dense networks trained about 8x slower in NHWC
// (bench/trainer_throughput --layouts both compares the two).
bool default_channels_last(c10::Device device);

// A training step's loss from the network's input batch (normalised and augmented, on the
// device), its logits (float) and the labels: the mean over the batch (for distillation and
// sparsity penalties; compress/). Unset: cross-entropy with the config's label smoothing.
using LossFunction = std::function<at::Tensor(const at::Tensor& inputs, const at::Tensor& logits,
                                              const at::Tensor& labels)>;

// One trial's training state: the network on the device, optimizer, loss scaler, the resident
// data and the RNG. train_network drives it epoch by epoch; benchmarks drive it step by step.
class TrainingSession {
 public:
  TrainingSession(space::Network& network, const DataSplits& data, const TrainConfig& config,
                  c10::Device device, std::uint64_t seed, const DeviceTuning& tuning = {},
                  DataParallel* data_parallel = nullptr);
  // Puts the network's weights back in the contiguous format; restores the cuDNN setting.
  ~TrainingSession();
  TrainingSession(const TrainingSession&) = delete;
  TrainingSession& operator=(const TrainingSession&) = delete;

  // Trains one full epoch, then validates. Throws TrainingError when the loss is not finite.
  EpochRecord run_epoch();
  // Called by run_epoch after every step (null: not called); counts only, no device sync.
  void set_on_batch(std::function<void(const BatchProgress&)> on_batch);
  // Replaces the training loss (validation stays cross-entropy).
  void set_loss(LossFunction loss);
  // Runs `count` training steps, starting new epochs as needed, with no validation and no host
  // synchronisation (for benchmarks: pair with synchronize()).
  void run_steps(std::int64_t count);
  // Waits until the device has finished the queued work.
  void synchronize() const;

  bool channels_last() const;
  bool data_on_device() const;
  std::int64_t steps_per_epoch() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Trains `network` in place. Throws TrainingError when the loss diverges (NaN/inf beyond what
// loss scaling handles) and lets c10::Error (e.g. out of memory) through to the caller.
// `on_batch`, when set, is called after every training step.
TrainingOutcome train_network(space::Network& network, const DataSplits& data,
                              const TrainConfig& config, c10::Device device, std::uint64_t seed,
                              const std::function<bool(const EpochRecord&)>& on_epoch,
                              const DeviceTuning& tuning = {},
                              DataParallel* data_parallel = nullptr,
                              const std::function<void(const BatchProgress&)>& on_batch = {});

// Loss and accuracy of `network` (in eval mode) on `data` (on the host or on `device`).
EvalMetrics evaluate_network(space::Network& network, const Dataset& data,
                             const Normalization& norm, c10::Device device, int batch_size,
                             Precision precision = Precision::kFp32);

}  // namespace nasforge::trainer
