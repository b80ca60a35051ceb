#pragma once
// The only code that writes SQL. One database file holds one experiment: its configuration, its
// trials with their architectures, hyperparameters, outcomes and per-epoch curves, hyperparameter
// changes, and the controller's state. Every state change is one transaction; a trial's outcome
// and the controller state that consumed it are written together.
//
// Contract: a finished trial (completed/failed/pruned) is never changed; methods throw StoreError
// naming the database path; one writer at a time (WAL mode lets readers such as `status` in).
#include <optional>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/sqlite.h"

namespace nasforge::store {

class SqliteStore {
 public:
  static constexpr int kSchemaVersion = 4;

  // Creates a new database; throws StoreError if the file already exists.
  static SqliteStore create(const std::string& path);
  // Opens an existing nasforge database, migrating an older schema; refuses other files.
  static SqliteStore open(const std::string& path);

  const std::string& path() const { return connection_.path(); }

  std::int64_t create_experiment(const std::string& name, const nlohmann::json& config);
  ExperimentRow experiment() const;  // the experiment of this database
  void set_experiment_status(std::int64_t experiment_id, const std::string& status);

  // Records a proposed trial (status pending), the hyperparameter changes that chose its
  // hyperparameters (their trial_id is set to the new trial's), and the controller state right
  // after proposing it, in one transaction.
  std::int64_t create_trial(std::int64_t experiment_id, const NewTrial& trial,
                            const ControllerSnapshot& controller,
                            const std::vector<HparamChange>& changes = {});
  void start_trial(std::int64_t trial_id);
  void append_epoch(std::int64_t trial_id, const EpochRecord& epoch);
  // Records the outcome and the controller state after observing it, in one transaction.
  void finish_trial(std::int64_t trial_id, const TrialResult& outcome,
                    const ControllerSnapshot& controller);
  // A trial left running by a crash: drops its partial curve (and the hyperparameter changes
  // made while it trained) and makes it pending again.
  void reset_trial(std::int64_t trial_id);

  std::vector<TrialRow> trials(std::int64_t experiment_id) const;
  std::optional<TrialRow> trial(std::int64_t trial_id) const;
  // The best completed trial at the highest fidelity (most epochs) reached, so that a short,
  // low-fidelity evaluation never wins over full ones; ties go to the earlier trial.
  std::optional<TrialRow> best_trial(std::int64_t experiment_id) const;
  // The same rule, ranked by `query.metric` and within its limits.
  std::optional<TrialRow> best_trial(std::int64_t experiment_id, const BestTrialQuery& query) const;
  // The completed trials that no other completed trial dominates in (cost lower or equal,
  // val_accuracy higher or equal, one of them strictly; of equal points the earlier trial), by
  // cost ascending. `cost` is "params", "flops" or a trial metric (e.g. "latency_ms"); trials
  // with no cost measured (0 or missing) are left out. All fidelities count as they are.
  std::vector<TrialRow> pareto_front(std::int64_t experiment_id, const std::string& cost) const;
  std::vector<EpochRecord> epochs(std::int64_t trial_id) const;

  void record_hparam_change(const HparamChange& change);
  std::vector<HparamChange> hparam_changes(std::int64_t experiment_id) const;

  void save_controller_state(std::int64_t experiment_id, const ControllerSnapshot& snapshot);
  std::optional<ControllerSnapshot> controller_state(std::int64_t experiment_id) const;

  // The data report of the experiment's latest load (a resume records it again, replacing it).
  void record_data_report(std::int64_t experiment_id, const DataReportRow& report);
  std::optional<DataReportRow> data_report(std::int64_t experiment_id) const;

  // Compression runs (store/compressions.cpp): one row each, oldest first.
  std::int64_t record_compression(const CompressionRow& row);
  std::vector<CompressionRow> compressions(std::int64_t experiment_id) const;

  int schema_version() const;

 private:
  explicit SqliteStore(detail::Connection connection);
  void write_controller_state(std::int64_t experiment_id, const ControllerSnapshot& snapshot);
  void write_hparam_change(const HparamChange& change);
  void read_metrics(TrialRow& row) const;

  detail::Connection connection_;
};

// Applies numbered migrations up to kSchemaVersion; refuses newer or foreign databases.
void migrate(detail::Connection& connection);

}  // namespace nasforge::store
