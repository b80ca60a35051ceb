#pragma once
// `nasforge trials`: a search's trials as a table for pandas and spreadsheets, one row per trial
// (or per trial and epoch), every hyperparameter, metric and evaluator detail in its own column.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "app/table_output.h"
#include "store/sqlite_store.h"

namespace nasforge::app {

// One row per trial, by ordinal: ordinal, state, kind, parent, arch_hash, architecture, then
// hp_<name> for each hyperparameter any trial has, the result (val_accuracy, val_loss,
// train_loss, params, flops, epochs, wall_seconds, error, weights_path: null until the trial
// finishes), metric_<name> for each trial metric, extra_<name> for each evaluator detail, and
// created_at, started_at, finished_at (ISO 8601 UTC; null when not yet).
Table trials_table(const store::SqliteStore& store, std::int64_t experiment_id);
// One row per trial and recorded epoch: ordinal, state, epoch, train_loss, train_accuracy,
// val_loss, val_accuracy, learning_rate, seconds, loss_scale, skipped_steps.
Table epochs_table(const store::SqliteStore& store, std::int64_t experiment_id);

// Writes the trials (per epoch when `per_epoch`) of the database as `format` ("csv" or "json")
// to `out_path`, or to `out` when it is empty. Safe while the search runs.
void write_trials(const std::string& db_path, const std::string& format, bool per_epoch,
                  const std::string& out_path, std::ostream& out);

// Unix seconds as "2024-05-01T12:00:00.250Z".
std::string iso_utc(double unix_seconds);

}  // namespace nasforge::app
