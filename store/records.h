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

// Controller state as the controller gave it (CBOR bytes), with the number of trials it has seen.
struct ControllerSnapshot {
  std::int64_t step = 0;
  std::vector<std::uint8_t> cbor;
};

}  // namespace nasforge::store
