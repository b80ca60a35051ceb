#pragma once
// An Evaluator answers "how good is this architecture?": by training it (TorchEvaluator) or by
// looking it up in a benchmark table (Nb201TableEvaluator). It never holds the store; per-epoch
// records go out through the context's callback, which may ask to stop early.
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "space/architecture.h"

namespace nasforge::trainer {

struct EpochRecord {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;
  double val_loss = 0;
  double val_accuracy = 0;  // in [0, 1]
  double learning_rate = 0;
  double seconds = 0;
  // Mixed-precision bookkeeping (fp16 dynamic loss scaling); 0 when unused.
  double loss_scale = 0;
  std::int64_t skipped_steps = 0;
};

enum class TrialStatus { kCompleted, kFailed, kPruned };

std::string to_string(TrialStatus status);

struct TrialResult {
  TrialStatus status = TrialStatus::kFailed;
  double val_accuracy = 0;  // in [0, 1]; the reward the controller sees
  double val_loss = 0;
  double train_loss = 0;
  std::int64_t params = 0;
  std::int64_t flops = 0;  // multiply-adds for one input
  int epochs = 0;          // epochs actually run (the fidelity reached)
  double wall_seconds = 0;
  std::string error;                                // why it failed, one line
  nlohmann::json extra = nlohmann::json::object();  // evaluator-specific metrics
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
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual std::string type() const = 0;
  // Never throws for a trial's own failure (divergence, out of memory): that is a kFailed result.
  virtual TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) = 0;
};

}  // namespace nasforge::trainer
