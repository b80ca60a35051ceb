#pragma once
// The training loop: SGD with momentum, cosine learning-rate schedule (with optional linear
// warm-up), augmentation, mixed precision, and a per-epoch validation pass.
#include <functional>

#include <c10/core/Device.h>

#include "space/modules/network.h"
#include "trainer/dataset.h"
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

// Trains `network` in place. Throws TrainingError when the loss diverges (NaN/inf beyond what
// loss scaling handles) and lets c10::Error (e.g. out of memory) through to the caller.
TrainingOutcome train_network(space::Network& network, const DataSplits& data,
                              const TrainConfig& config, c10::Device device, std::uint64_t seed,
                              const std::function<bool(const EpochRecord&)>& on_epoch);

// Loss and accuracy of `network` (in eval mode) on `data`.
EvalMetrics evaluate_network(space::Network& network, const Dataset& data,
                             const Normalization& norm, c10::Device device, int batch_size,
                             Precision precision = Precision::kFp32);

// The device named by the config ("auto": CUDA when available).
c10::Device resolve_device(const std::string& name);

}  // namespace nasforge::trainer
