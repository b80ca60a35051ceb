// Numbered schema migrations. PRAGMA application_id marks a database as nasforge's; PRAGMA
// user_version holds the schema version.
#include <array>

#include "common/errors.h"
#include "store/sqlite_store.h"

namespace nasforge::store {
namespace {

constexpr std::int64_t kApplicationId = 0x4E534647;  // "NSFG"

// Migration i takes the schema from version i to i + 1.
constexpr std::array<const char*, SqliteStore::kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE experiments (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'running',
  created_at REAL NOT NULL
);
CREATE TABLE trials (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  ordinal INTEGER NOT NULL,
  arch_canonical TEXT NOT NULL,
  arch_hash TEXT NOT NULL,
  arch TEXT NOT NULL,
  hparams TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('pending','running','completed','failed','pruned')),
  val_accuracy REAL,
  val_loss REAL,
  train_loss REAL,
  params INTEGER,
  flops INTEGER,
  epochs INTEGER,
  wall_seconds REAL,
  error TEXT,
  weights_path TEXT,
  extra TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL,
  started_at REAL,
  finished_at REAL,
  UNIQUE (experiment_id, ordinal)
);
CREATE INDEX trials_by_status ON trials(experiment_id, status);
CREATE TABLE epochs (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  epoch INTEGER NOT NULL,
  train_loss REAL, train_accuracy REAL, val_loss REAL, val_accuracy REAL,
  learning_rate REAL, seconds REAL, loss_scale REAL, skipped_steps INTEGER,
  PRIMARY KEY (trial_id, epoch)
);
CREATE TABLE hyperparams (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  trial_id INTEGER,
  epoch INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  reason TEXT NOT NULL,
  recorded_at REAL NOT NULL
);
CREATE TABLE controller_state (
  experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id),
  step INTEGER NOT NULL,
  state BLOB NOT NULL,
  updated_at REAL NOT NULL
);
)sql",
    // v2: what loading the data found (skipped files, duplicates dropped, train/test leakage).
    R"sql(
CREATE TABLE experiment_data (
  experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id),
  skipped_files INTEGER NOT NULL,
  duplicates_dropped INTEGER NOT NULL,
  leakage INTEGER NOT NULL,
  report TEXT NOT NULL,
  recorded_at REAL NOT NULL
);
)sql",
    // v3: a trial's kind (new, promotion, extension) and lineage as columns, and named per-trial
    // metrics one row each. Older rows get their kind from the hyperparameter changes that
    // created them ("promote: ..., trial P's architecture ...", "extend: ...").
    R"sql(
ALTER TABLE trials ADD COLUMN kind TEXT NOT NULL DEFAULT 'new'
  CHECK (kind IN ('new','promotion','extension'));
ALTER TABLE trials ADD COLUMN parent_ordinal INTEGER;
CREATE TABLE writer_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at REAL NOT NULL,
  heartbeat_at REAL NOT NULL
);
CREATE TABLE trial_metrics (
  trial_id INTEGER NOT NULL REFERENCES trials(id),
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (trial_id, name)
);
UPDATE trials SET kind = 'promotion', parent_ordinal = (
    SELECT CAST(substr(h.reason, instr(h.reason, ', trial ') + 8) AS INTEGER) FROM hyperparams h
    WHERE h.trial_id = trials.id AND h.reason LIKE 'promote:%' LIMIT 1)
  WHERE EXISTS (SELECT 1 FROM hyperparams h
                WHERE h.trial_id = trials.id AND h.reason LIKE 'promote:%');
UPDATE trials SET kind = 'extension', parent_ordinal = json_extract(hparams, '$.continue_from')
  WHERE EXISTS (SELECT 1 FROM hyperparams h
                WHERE h.trial_id = trials.id AND h.reason LIKE 'extend:%');
)sql",
    // v4: compression runs (pruning, distillation) of recorded trials.
    R"sql(
CREATE TABLE compressions (
  id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments(id),
  parent_ordinal INTEGER NOT NULL,
  method TEXT NOT NULL,
  settings TEXT NOT NULL DEFAULT '{}',
  params INTEGER NOT NULL,
  flops INTEGER NOT NULL,
  model_bytes INTEGER NOT NULL,
  val_accuracy REAL NOT NULL,
  test_accuracy REAL,
  latency_ms REAL NOT NULL,
  out_dir TEXT NOT NULL,
  created_at REAL NOT NULL
);
)sql",
};

std::int64_t pragma_int(detail::Connection& connection, const char* pragma) {
  detail::Statement statement(connection, std::string("PRAGMA ") + pragma);
  return statement.step() ? statement.column_int(0) : 0;
}

bool is_empty(detail::Connection& connection) {
  detail::Statement statement(connection, "SELECT count(*) FROM sqlite_master");
  return !statement.step() || statement.column_int(0) == 0;
}

}  // namespace

void migrate(detail::Connection& connection) {
  std::int64_t app_id = 0;
  try {
    app_id = pragma_int(connection, "application_id");
  } catch (const StoreError&) {
    throw StoreError(connection.path() + ": not a nasforge database (not an SQLite file)");
  }
  std::int64_t version = pragma_int(connection, "user_version");
  if (app_id != kApplicationId) {
    if (!is_empty(connection)) {
      throw StoreError(connection.path() +
                       ": not a nasforge database (an SQLite file made by another program)");
    }
    version = 0;
  }
  if (version > SqliteStore::kSchemaVersion) {
    throw StoreError(connection.path() + ": database schema v" + std::to_string(version) +
                     " is newer than this nasforge reads (v" +
                     std::to_string(SqliteStore::kSchemaVersion) + "); upgrade nasforge");
  }
  for (auto v = version; v < SqliteStore::kSchemaVersion; ++v) {
    detail::Transaction transaction(connection);
    connection.execute(kMigrations[static_cast<size_t>(v)]);
    connection.execute("PRAGMA application_id = " + std::to_string(kApplicationId));
    connection.execute("PRAGMA user_version = " + std::to_string(v + 1));
    transaction.commit();
  }
}

}  // namespace nasforge::store
