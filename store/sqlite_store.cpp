#include "store/sqlite_store.h"

#include <filesystem>

#include "common/errors.h"

namespace nasforge::store {

using detail::now_seconds;
using detail::Statement;
using detail::Transaction;
using nlohmann::json;

namespace {

constexpr const char* kTrialColumns =
    "id, experiment_id, ordinal, arch_canonical, arch_hash, arch, hparams, status, val_accuracy, "
    "val_loss, train_loss, params, flops, epochs, wall_seconds, error, weights_path, extra, "
    "created_at, started_at, finished_at, kind, parent_ordinal";

TrialRow read_trial(const Statement& s) {
  TrialRow row;
  row.id = s.column_int(0);
  row.experiment_id = s.column_int(1);
  row.ordinal = s.column_int(2);
  row.arch_canonical = s.column_text(3);
  row.arch_hash = s.column_text(4);
  row.arch = json::parse(s.column_text(5));
  row.hparams = json::parse(s.column_text(6));
  row.state = parse_trial_state(s.column_text(7));
  row.result.state = row.state;
  row.result.val_accuracy = s.column_double(8);
  row.result.val_loss = s.column_double(9);
  row.result.train_loss = s.column_double(10);
  row.result.params = s.column_int(11);
  row.result.flops = s.column_int(12);
  row.result.epochs = static_cast<int>(s.column_int(13));
  row.result.wall_seconds = s.column_double(14);
  row.result.error = s.column_text(15);
  row.result.weights_path = s.column_text(16);
  row.result.extra = json::parse(s.column_text(17));
  row.created_at = s.column_double(18);
  row.started_at = s.column_double(19);
  row.finished_at = s.column_double(20);
  row.kind = parse_trial_kind(s.column_text(21));
  if (!s.is_null(22)) row.parent = s.column_int(22);
  return row;
}

}  // namespace

SqliteStore::SqliteStore(detail::Connection connection) : connection_(std::move(connection)) {}

SqliteStore SqliteStore::create(const std::string& path) {
  if (std::filesystem::exists(path)) {
    throw StoreError(path + ": database already exists; continue it with `nasforge resume --db " +
                     path + "` or choose another --db");
  }
  try {
    detail::Connection connection(path, /*create=*/true);
    connection.execute("PRAGMA journal_mode = WAL");
    connection.execute("PRAGMA synchronous = NORMAL");
    connection.execute("PRAGMA foreign_keys = ON");
    migrate(connection);
    return SqliteStore(std::move(connection));
  } catch (...) {
    // Leave no partial database behind.
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ignored);
    throw;
  }
}

SqliteStore SqliteStore::open(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw StoreError(path + ": no such database; start a search with `nasforge run CONFIG --db " +
                     path + "`");
  }
  detail::Connection connection(path, /*create=*/false);
  migrate(connection);
  connection.execute("PRAGMA journal_mode = WAL");
  connection.execute("PRAGMA foreign_keys = ON");
  return SqliteStore(std::move(connection));
}

void SqliteStore::record_data_report(std::int64_t experiment_id, const DataReportRow& report) {
  Statement s(connection_,
              "INSERT OR REPLACE INTO experiment_data (experiment_id, skipped_files, "
              "duplicates_dropped, leakage, report, recorded_at) VALUES (?, ?, ?, ?, ?, ?)");
  s.bind(1, experiment_id)
      .bind(2, report.skipped_files)
      .bind(3, report.duplicates_dropped)
      .bind(4, report.leakage)
      .bind(5, report.details.dump())
      .bind(6, now_seconds())
      .run();
}

std::optional<DataReportRow> SqliteStore::data_report(std::int64_t experiment_id) const {
  Statement s(connection_,
              "SELECT skipped_files, duplicates_dropped, leakage, report, recorded_at "
              "FROM experiment_data WHERE experiment_id = ?");
  s.bind(1, experiment_id);
  if (!s.step()) return std::nullopt;
  DataReportRow row;
  row.skipped_files = s.column_int(0);
  row.duplicates_dropped = s.column_int(1);
  row.leakage = s.column_int(2);
  row.details = json::parse(s.column_text(3));
  row.recorded_at = s.column_double(4);
  return row;
}

int SqliteStore::schema_version() const {
  Statement s(connection_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.column_int(0)) : 0;
}

std::int64_t SqliteStore::create_experiment(const std::string& name, const json& config) {
  Transaction transaction(connection_);
  Statement s(connection_, "INSERT INTO experiments (name, config, created_at) VALUES (?, ?, ?)");
  s.bind(1, name).bind(2, config.dump()).bind(3, now_seconds()).run();
  const auto id = connection_.last_insert_id();
  transaction.commit();
  return id;
}

ExperimentRow SqliteStore::experiment() const {
  Statement s(connection_,
              "SELECT id, name, config, status, created_at FROM experiments ORDER BY id LIMIT 1");
  if (!s.step()) throw StoreError(path() + ": database holds no experiment");
  return {s.column_int(0), s.column_text(1), json::parse(s.column_text(2)), s.column_text(3),
          s.column_double(4)};
}

void SqliteStore::set_experiment_status(std::int64_t experiment_id, const std::string& status) {
  Statement s(connection_, "UPDATE experiments SET status = ? WHERE id = ?");
  s.bind(1, status).bind(2, experiment_id).run();
}

std::int64_t SqliteStore::create_trial(std::int64_t experiment_id, const NewTrial& trial,
                                       const ControllerSnapshot& controller,
                                       const std::vector<HparamChange>& changes) {
  Transaction transaction(connection_);
  Statement s(
      connection_,
      "INSERT INTO trials (experiment_id, ordinal, arch_canonical, arch_hash, arch, hparams, "
      "status, created_at, kind, parent_ordinal) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)");
  s.bind(1, experiment_id)
      .bind(2, trial.ordinal)
      .bind(3, trial.arch_canonical)
      .bind(4, trial.arch_hash)
      .bind(5, trial.arch.dump())
      .bind(6, trial.hparams.dump())
      .bind(7, now_seconds())
      .bind(8, to_string(trial.kind));
  if (trial.parent) {
    s.bind(9, *trial.parent);
  } else {
    s.bind_null(9);
  }
  s.run();
  const auto id = connection_.last_insert_id();
  for (auto change : changes) {
    change.trial_id = id;
    write_hparam_change(change);
  }
  write_controller_state(experiment_id, controller);
  transaction.commit();
  return id;
}

void SqliteStore::start_trial(std::int64_t trial_id) {
  Statement s(
      connection_,
      "UPDATE trials SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending'");
  s.bind(1, now_seconds()).bind(2, trial_id).run();
}

void SqliteStore::append_epoch(std::int64_t trial_id, const EpochRecord& e) {
  Statement s(connection_,
              "INSERT INTO epochs (trial_id, epoch, train_loss, train_accuracy, val_loss, "
              "val_accuracy, learning_rate, seconds, loss_scale, skipped_steps) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, trial_id)
      .bind(2, e.epoch)
      .bind(3, e.train_loss)
      .bind(4, e.train_accuracy)
      .bind(5, e.val_loss)
      .bind(6, e.val_accuracy)
      .bind(7, e.learning_rate)
      .bind(8, e.seconds)
      .bind(9, e.loss_scale)
      .bind(10, e.skipped_steps)
      .run();
}

void SqliteStore::finish_trial(std::int64_t trial_id, const TrialResult& o,
                               const ControllerSnapshot& controller) {
  if (!is_finished(o.state)) {
    throw InternalError("finish_trial: a trial cannot finish as " + to_string(o.state));
  }
  Transaction transaction(connection_);
  Statement find(connection_, "SELECT experiment_id, status FROM trials WHERE id = ?");
  find.bind(1, trial_id);
  if (!find.step()) throw StoreError(path() + ": no trial " + std::to_string(trial_id));
  const auto experiment_id = find.column_int(0);
  const auto state = parse_trial_state(find.column_text(1));
  if (is_finished(state)) {
    throw StoreError(path() + ": trial " + std::to_string(trial_id) + " is already " +
                     to_string(state) + "; a finished trial is never changed");
  }
  Statement s(connection_,
              "UPDATE trials SET status = ?, val_accuracy = ?, val_loss = ?, train_loss = ?, "
              "params = ?, flops = ?, epochs = ?, wall_seconds = ?, error = ?, weights_path = ?, "
              "extra = ?, finished_at = ? WHERE id = ?");
  s.bind(1, to_string(o.state))
      .bind(2, o.val_accuracy)
      .bind(3, o.val_loss)
      .bind(4, o.train_loss)
      .bind(5, o.params)
      .bind(6, o.flops)
      .bind(7, o.epochs)
      .bind(8, o.wall_seconds)
      .bind(9, o.error)
      .bind(10, o.weights_path)
      .bind(11, o.extra.dump())
      .bind(12, now_seconds())
      .bind(13, trial_id)
      .run();
  for (const auto& [name, value] : o.metrics) {
    Statement metric(connection_,
                     "INSERT INTO trial_metrics (trial_id, name, value) VALUES (?, ?, ?)");
    metric.bind(1, trial_id).bind(2, name).bind(3, value).run();
  }
  write_controller_state(experiment_id, controller);
  transaction.commit();
}

void SqliteStore::reset_trial(std::int64_t trial_id) {
  Transaction transaction(connection_);
  Statement status(connection_, "SELECT status FROM trials WHERE id = ?");
  status.bind(1, trial_id);
  if (!status.step()) throw StoreError(path() + ": no trial " + std::to_string(trial_id));
  if (is_finished(parse_trial_state(status.column_text(0)))) {
    throw StoreError(path() + ": trial " + std::to_string(trial_id) +
                     " is finished and cannot be reset");
  }
  Statement drop(connection_, "DELETE FROM epochs WHERE trial_id = ?");
  drop.bind(1, trial_id).run();
  // Changes made while it trained go with its curve; those it was created with (epoch 0: its
  // PBT choice, its promotion) stay, since the rerun uses the same hyperparameters.
  Statement drop_hparams(connection_, "DELETE FROM hyperparams WHERE trial_id = ? AND epoch > 0");
  drop_hparams.bind(1, trial_id).run();
  Statement reset(connection_,
                  "UPDATE trials SET status = 'pending', started_at = NULL WHERE id = ?");
  reset.bind(1, trial_id).run();
  transaction.commit();
}

std::vector<TrialRow> SqliteStore::trials(std::int64_t experiment_id) const {
  Statement s(connection_, std::string("SELECT ") + kTrialColumns +
                               " FROM trials WHERE experiment_id = ? ORDER BY ordinal");
  s.bind(1, experiment_id);
  std::vector<TrialRow> rows;
  while (s.step()) rows.push_back(read_trial(s));
  for (auto& row : rows) read_metrics(row);
  return rows;
}

std::optional<TrialRow> SqliteStore::trial(std::int64_t trial_id) const {
  Statement s(connection_, std::string("SELECT ") + kTrialColumns + " FROM trials WHERE id = ?");
  s.bind(1, trial_id);
  if (!s.step()) return std::nullopt;
  auto row = read_trial(s);
  read_metrics(row);
  return row;
}

std::optional<TrialRow> SqliteStore::best_trial(std::int64_t experiment_id) const {
  return best_trial(experiment_id, BestTrialQuery{});
}

std::optional<TrialRow> SqliteStore::best_trial(std::int64_t experiment_id,
                                                const BestTrialQuery& query) const {
  std::string sql = std::string("SELECT ") + kTrialColumns + " FROM trials";
  if (!query.metric.empty()) {
    sql += " JOIN trial_metrics ON trial_metrics.trial_id = trials.id AND trial_metrics.name = ?";
  }
  sql += " WHERE experiment_id = ? AND status = 'completed'";
  if (query.max_params) sql += " AND params > 0 AND params <= ?";
  if (query.max_flops) sql += " AND flops > 0 AND flops <= ?";
  sql += std::string(" ORDER BY epochs DESC, ") +
         (query.metric.empty() ? "val_accuracy" : "trial_metrics.value") +
         " DESC, ordinal ASC LIMIT 1";
  Statement s(connection_, sql);
  int next = 1;
  if (!query.metric.empty()) s.bind(next++, query.metric);
  s.bind(next++, experiment_id);
  if (query.max_params) s.bind(next++, *query.max_params);
  if (query.max_flops) s.bind(next++, *query.max_flops);
  if (!s.step()) return std::nullopt;
  auto row = read_trial(s);
  read_metrics(row);
  return row;
}

std::vector<TrialRow> SqliteStore::pareto_front(std::int64_t experiment_id,
                                                const std::string& cost) const {
  const bool column = cost == "params" || cost == "flops";
  // Sorted by cost, then accuracy (highest first), then ordinal: a trial is on the front exactly
  // when its accuracy beats every trial before it.
  std::string sql = "SELECT " + std::string(kTrialColumns) + ", " +
                    (column ? cost : std::string("trial_metrics.value")) + " AS cost FROM trials";
  if (!column) {
    sql += " JOIN trial_metrics ON trial_metrics.trial_id = trials.id AND trial_metrics.name = ?";
  }
  sql +=
      " WHERE experiment_id = ? AND status = 'completed' AND cost > 0 "
      "ORDER BY cost ASC, val_accuracy DESC, ordinal ASC";
  Statement s(connection_, sql);
  int next = 1;
  if (!column) s.bind(next++, cost);
  s.bind(next, experiment_id);
  std::vector<TrialRow> front;
  while (s.step()) {
    auto row = read_trial(s);
    if (front.empty() || row.result.val_accuracy > front.back().result.val_accuracy) {
      front.push_back(std::move(row));
    }
  }
  for (auto& row : front) read_metrics(row);
  return front;
}

std::vector<EpochRecord> SqliteStore::epochs(std::int64_t trial_id) const {
  Statement s(connection_,
              "SELECT epoch, train_loss, train_accuracy, val_loss, val_accuracy, learning_rate, "
              "seconds, loss_scale, skipped_steps FROM epochs WHERE trial_id = ? ORDER BY epoch");
  s.bind(1, trial_id);
  std::vector<EpochRecord> rows;
  while (s.step()) {
    rows.push_back({static_cast<int>(s.column_int(0)), s.column_double(1), s.column_double(2),
                    s.column_double(3), s.column_double(4), s.column_double(5), s.column_double(6),
                    s.column_double(7), s.column_int(8)});
  }
  return rows;
}

void SqliteStore::read_metrics(TrialRow& row) const {
  Statement s(connection_, "SELECT name, value FROM trial_metrics WHERE trial_id = ?");
  s.bind(1, row.id);
  while (s.step()) row.result.metrics[s.column_text(0)] = s.column_double(1);
}

void SqliteStore::record_hparam_change(const HparamChange& change) { write_hparam_change(change); }

void SqliteStore::write_hparam_change(const HparamChange& change) {
  Statement s(connection_,
              "INSERT INTO hyperparams (experiment_id, trial_id, epoch, name, value, reason, "
              "recorded_at) VALUES ((SELECT COALESCE((SELECT experiment_id FROM trials WHERE id = "
              "?1), (SELECT min(id) FROM experiments))), NULLIF(?1, 0), ?2, ?3, ?4, ?5, ?6)");
  s.bind(1, change.trial_id)
      .bind(2, change.epoch)
      .bind(3, change.name)
      .bind(4, change.value)
      .bind(5, change.reason)
      .bind(6, now_seconds())
      .run();
}

std::vector<HparamChange> SqliteStore::hparam_changes(std::int64_t experiment_id) const {
  Statement s(connection_,
              "SELECT COALESCE(trial_id, 0), epoch, name, value, reason FROM hyperparams "
              "WHERE experiment_id = ? ORDER BY id");
  s.bind(1, experiment_id);
  std::vector<HparamChange> rows;
  while (s.step()) {
    rows.push_back({s.column_int(0), static_cast<int>(s.column_int(1)), s.column_text(2),
                    s.column_double(3), s.column_text(4)});
  }
  return rows;
}

void SqliteStore::write_controller_state(std::int64_t experiment_id,
                                         const ControllerSnapshot& snapshot) {
  Statement s(connection_,
              "INSERT INTO controller_state (experiment_id, step, state, updated_at) "
              "VALUES (?, ?, ?, ?) ON CONFLICT(experiment_id) DO UPDATE SET "
              "step = excluded.step, state = excluded.state, updated_at = excluded.updated_at");
  s.bind(1, experiment_id)
      .bind(2, snapshot.step)
      .bind_blob(3, snapshot.cbor)
      .bind(4, now_seconds())
      .run();
}

void SqliteStore::save_controller_state(std::int64_t experiment_id,
                                        const ControllerSnapshot& snapshot) {
  Transaction transaction(connection_);
  write_controller_state(experiment_id, snapshot);
  transaction.commit();
}

std::optional<ControllerSnapshot> SqliteStore::controller_state(std::int64_t experiment_id) const {
  Statement s(connection_, "SELECT step, state FROM controller_state WHERE experiment_id = ?");
  s.bind(1, experiment_id);
  if (!s.step()) return std::nullopt;
  return ControllerSnapshot{s.column_int(0), s.column_blob(1)};
}

}  // namespace nasforge::store
