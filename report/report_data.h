#pragma once
// Everything the HTML report shows, read from a search's database in one go (safe while the
// search runs: it only reads). The sections render from this value, not from the store.
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/records.h"

namespace nasforge::store {
class SqliteStore;
}

namespace nasforge::report {

struct ReportData {
  store::ExperimentRow experiment;
  std::vector<store::TrialRow> trials;                      // by ordinal
  std::map<std::int64_t, std::vector<EpochRecord>> epochs;  // by trial id; none: absent
  std::vector<store::HparamChange> hparam_changes;          // in the order recorded
  std::optional<nlohmann::json> controller_state;           // the latest, decoded
  std::optional<store::TrialRow> best;                      // the store's best trial
  std::vector<store::CompressionRow> compressions;          // oldest first
  double generated_at = 0;                                  // seconds since the epoch
  std::map<std::int64_t, std::int64_t> ordinal_by_id;       // store id -> ordinal

  // The experiment configuration's "<key>.type" ("" when absent).
  std::string type_of(const std::string& key) const;
  // The ordinal of the trial with store id `id`, if there is one.
  std::optional<std::int64_t> ordinal_of(std::int64_t id) const;
  // The finished trials (completed, failed, pruned), in the order they finished.
  std::vector<const store::TrialRow*> by_finish_time() const;
};

ReportData load_report_data(const store::SqliteStore& store);

}  // namespace nasforge::report
