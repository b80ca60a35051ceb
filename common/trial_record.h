#pragma once
// What a trial is and what it produced, as plain values: one record type for the trainer that
// fills it, the search that reads it and the store that keeps it. No LibTorch, no SQLite.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace nasforge {

// A trial's life: pending (recorded), running, then one of the finished states.
enum class TrialState { kPending, kRunning, kCompleted, kFailed, kPruned };

// completed, failed or pruned: the outcome is final and the store never changes it.
bool is_finished(TrialState state);
// The store's and the logs' spelling: "pending", "running", "completed", "failed", "pruned".
std::string to_string(TrialState state);
// The inverse of to_string; throws StoreError for any other text.
TrialState parse_trial_state(const std::string& text);

// Why a trial exists: a new candidate, the promotion of an earlier trial to a higher fidelity
// (successive halving, Hyperband), or the extension of the best one with the time left.
enum class TrialKind { kNew, kPromotion, kExtension };

std::string to_string(TrialKind kind);  // "new", "promotion", "extension"
TrialKind parse_trial_kind(const std::string& text);

// One epoch of training, as the trainer reports it and the store keeps it.
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

// What evaluating a trial produced.
struct TrialResult {
  TrialState state = TrialState::kFailed;  // completed, failed or pruned once evaluated
  double val_accuracy = 0;                 // in [0, 1]; the reward the controller sees
  double val_loss = 0;
  double train_loss = 0;
  std::int64_t params = 0;
  std::int64_t flops = 0;  // multiply-adds for one input
  int epochs = 0;          // epochs actually run (the fidelity reached)
  double wall_seconds = 0;
  std::string error;         // why it failed or was pruned, one line
  std::string weights_path;  // where its trained weights are (set by the search, completed only)
  // Further named numbers (e.g. train_accuracy): stored one row each in trial_metrics, so a new
  // metric needs no schema change: set it where it is measured.
  std::map<std::string, double> metrics;
  nlohmann::json extra = nlohmann::json::object();  // evaluator-specific details (JSON)
};

}  // namespace nasforge
