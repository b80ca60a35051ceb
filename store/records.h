#pragma once
// The rows nasforge keeps, as plain values. The store knows nothing of LibTorch or the trainer.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"

namespace nasforge::store {

struct ExperimentRow {
  std::int64_t id = 0;
  std::string name;
  nlohmann::json config;
  std::string status;  // running, completed, failed
  double created_at = 0;
};

struct NewTrial {
  std::int64_t ordinal = 0;  // 0-based position in the search, unique per experiment
  std::string arch_canonical;
  std::string arch_hash;
  nlohmann::json arch;  // the space's JSON form of the architecture
  nlohmann::json hparams = nlohmann::json::object();
  TrialKind kind = TrialKind::kNew;
  std::optional<std::int64_t> parent;  // the ordinal of the trial it promotes or extends
};

struct TrialRow {
  std::int64_t id = 0;
  std::int64_t experiment_id = 0;
  std::int64_t ordinal = 0;
  std::string arch_canonical;
  std::string arch_hash;
  nlohmann::json arch;
  nlohmann::json hparams;
  TrialState state = TrialState::kPending;
  TrialKind kind = TrialKind::kNew;
  std::optional<std::int64_t> parent;  // the ordinal of the trial it promotes or extends
  TrialResult result;                  // meaningful once is_finished(state)
  double created_at = 0;
  double started_at = 0;
  double finished_at = 0;
};

// Which completed trial SqliteStore::best_trial picks: the highest value among those of the
// highest fidelity (most epochs) that pass the limits; ties go to the earlier trial.
struct BestTrialQuery {
  // Ranked by this trial metric (e.g. "reward"), trials without it left out; empty: val_accuracy.
  std::string metric;
  // Only trials whose measured parameter count / multiply-adds are at most this (a trial with
  // none measured never fits a limit).
  std::optional<std::int64_t> max_params;
  std::optional<std::int64_t> max_flops;
};

struct HparamChange {
  std::int64_t trial_id = 0;  // 0: an experiment-wide change
  int epoch = 0;
  std::string name;
  double value = 0;
  std::string reason;
};

// What the search's data loading found: counts the experiment is judged by, and the full report
// (per-class counts, skipped files with reasons, duplicate and leakage examples) as JSON.
struct DataReportRow {
  std::int64_t skipped_files = 0;       // files that could not be decoded or read
  std::int64_t duplicates_dropped = 0;  // exact duplicates removed within splits
  std::int64_t leakage = 0;             // test images also found in the training data
  nlohmann::json details = nlohmann::json::object();
  double recorded_at = 0;
};

// One run of `nasforge compress`: which trial it started from, what it did (methods in order,
// e.g. "prune+distill", with their settings) and what came out.
struct CompressionRow {
  std::int64_t id = 0;
  std::int64_t experiment_id = 0;
  std::int64_t parent_ordinal = 0;  // the trial compressed
  std::string method;
  nlohmann::json settings = nlohmann::json::object();
  std::int64_t params = 0;
  std::int64_t flops = 0;
  std::int64_t model_bytes = 0;  // model.safetensors
  double val_accuracy = 0;
  std::optional<double> test_accuracy;  // none when the data set has no test split
  double latency_ms = 0;                // CPU, batch 1
  std::string out_dir;
  double created_at = 0;
};

// Controller state as the controller gave it (CBOR bytes), with the number of trials it has seen.
struct ControllerSnapshot {
  std::int64_t step = 0;
  std::vector<std::uint8_t> cbor;
};

}  // namespace nasforge::store
