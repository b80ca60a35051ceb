// The compressions table (schema v4): one row per `nasforge compress` run.

#include "store/sqlite_store.h"

namespace nasforge::store {

using detail::Statement;

std::int64_t SqliteStore::record_compression(const CompressionRow& row) {
  const double now = detail::now_seconds();
  Statement s(connection_,
              "INSERT INTO compressions (experiment_id, parent_ordinal, method, settings, params, "
              "flops, model_bytes, val_accuracy, test_accuracy, latency_ms, out_dir, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, row.experiment_id)
      .bind(2, row.parent_ordinal)
      .bind(3, row.method)
      .bind(4, row.settings.dump())
      .bind(5, row.params)
      .bind(6, row.flops)
      .bind(7, row.model_bytes)
      .bind(8, row.val_accuracy);
  if (row.test_accuracy) {
    s.bind(9, *row.test_accuracy);
  } else {
    s.bind_null(9);
  }
  s.bind(10, row.latency_ms)
      .bind(11, row.out_dir)
      .bind(12, row.created_at > 0 ? row.created_at : now);
  s.run();
  return connection_.last_insert_id();
}

std::vector<CompressionRow> SqliteStore::compressions(std::int64_t experiment_id) const {
  Statement s(connection_,
              "SELECT id, experiment_id, parent_ordinal, method, settings, params, flops, "
              "model_bytes, val_accuracy, test_accuracy, latency_ms, out_dir, created_at "
              "FROM compressions WHERE experiment_id = ? ORDER BY id");
  s.bind(1, experiment_id);
  std::vector<CompressionRow> rows;
  while (s.step()) {
    CompressionRow row;
    row.id = s.column_int(0);
    row.experiment_id = s.column_int(1);
    row.parent_ordinal = s.column_int(2);
    row.method = s.column_text(3);
    row.settings = nlohmann::json::parse(s.column_text(4));
    row.params = s.column_int(5);
    row.flops = s.column_int(6);
    row.model_bytes = s.column_int(7);
    row.val_accuracy = s.column_double(8);
    if (!s.is_null(9)) row.test_accuracy = s.column_double(9);
    row.latency_ms = s.column_double(10);
    row.out_dir = s.column_text(11);
    row.created_at = s.column_double(12);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace nasforge::store
