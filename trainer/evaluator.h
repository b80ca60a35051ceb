#pragma once
// An Evaluator answers "how good is this architecture?": by training it (TorchEvaluator) or by
// looking it up in a benchmark table (Nb201TableEvaluator). It never holds the store; per-epoch
// records go out through the context's callback, which may ask to stop early.
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"
#include "space/architecture.h"

namespace nasforge::trainer {

// Where a trial's training epoch stands after a step, counted on the host: reading it never waits
// for the device (on CUDA a step counts once it is queued, which may be a few steps ahead).
struct BatchProgress {
  int epoch = 0;                  // 1-based
  int epochs = 0;                 // the epoch the trial trains to
  std::int64_t batch = 0;         // steps done in this epoch, 1-based
  std::int64_t batches = 0;       // steps in the epoch
  std::int64_t images = 0;        // training images through this epoch so far (all ranks)
  std::int64_t total_images = 0;  // training images in an epoch
  double seconds = 0;             // since the epoch began
};

struct TrialContext {
  std::int64_t trial_id = 0;
  std::uint64_t seed = 0;
  // Hyperparameter overrides for this trial (e.g. {"learning_rate": 0.1, "epochs": 3}).
  nlohmann::json hparams = nlohmann::json::object();
  // The device to train on (e.g. "cuda:1" for a worker slot); empty: the training config's.
  std::string device;
  // Where to save the trained weights; empty: do not save.
  std::string weights_path;
  // Weights to start from instead of a fresh initialisation (a trial continued from a lower
  // fidelity; hparams' start_epoch says how far they were trained); empty: none.
  std::string init_weights_path;
  // Called after every epoch; returning false stops the trial early (it ends as pruned).
  std::function<bool(const EpochRecord&)> on_epoch;
  // Whether a trained network's CPU latency is measured into the result's metrics["latency_ms"]
  // (the search asks when its objective needs it; it takes a few forward passes).
  bool measure_latency = false;
  // Called after every training step with where the epoch stands (for progress display; on the
  // training thread, so it must be cheap and thread-safe). Null: not called.
  std::function<void(const BatchProgress&)> on_batch;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual std::string type() const = 0;
  // Never throws for a trial's own failure (divergence, out of memory): that is a kFailed result.
  virtual TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) = 0;
};

}  // namespace nasforge::trainer
