#pragma once
// What the search knows of its trials, by ordinal: the facts the planner, the pruners and the
// loop decide from. Made from the store's rows on resume and kept in step with the store as
// trials are created and finish; no database needed (tests fill it by hand).
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"

namespace nasforge::search {

struct TrialSummary {
  std::int64_t id = 0;  // the store's row id
  nlohmann::json arch;  // the space's JSON form
  nlohmann::json hparams = nlohmann::json::object();
  TrialKind kind = TrialKind::kNew;
  std::optional<std::int64_t> parent;  // the ordinal of the trial it promotes or extends
  TrialState state = TrialState::kPending;
  double val_accuracy = 0;
  int epochs = 0;  // epochs reached
  double wall_seconds = 0;
  // What the search ranks it by: the objective's reward, else val_accuracy (trial_score).
  double score = 0;
};

class SearchHistory {
 public:
  // A new trial, at the next ordinal; returns that ordinal.
  std::int64_t add(TrialSummary trial);
  // A trial's outcome (its state, accuracy, epochs and seconds) and its score.
  void finish(std::int64_t ordinal, const TrialResult& result, double score);
  // Scored by its validation accuracy (no objective).
  void finish(std::int64_t ordinal, const TrialResult& result) {
    finish(ordinal, result, result.val_accuracy);
  }
  // A completed trial's validation curve from epoch 1, kept for the median rule.
  void add_completed_curve(std::vector<double> curve);

  const TrialSummary& at(std::int64_t ordinal) const;
  std::int64_t size() const { return static_cast<std::int64_t>(trials_.size()); }
  const std::vector<TrialSummary>& trials() const { return trials_; }
  const std::vector<std::vector<double>>& completed_curves() const { return completed_curves_; }

  // The best-scored completed trial that reached exactly `epochs` (ties: the earlier), by
  // ordinal.
  std::optional<std::int64_t> best_completed_at(int epochs) const;

 private:
  std::vector<TrialSummary> trials_;
  std::vector<std::vector<double>> completed_curves_;
};

}  // namespace nasforge::search
