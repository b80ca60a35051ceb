// The compressions table (schema v4): rows written and read back, and a v3 database migrated
// with its rows kept.
#include "tests/nasforge_catch.h"

#include "store/sqlite_store.h"
#include "tests/store/scratch_database.h"

using namespace nasforge;
using namespace nasforge::testing;
using nasforge::store::SqliteStore;

namespace {

store::CompressionRow compression(std::int64_t experiment, std::int64_t parent) {
  store::CompressionRow row;
  row.experiment_id = experiment;
  row.parent_ordinal = parent;
  row.method = "prune+distill";
  row.settings = {{"prune_ratio", 0.5}, {"teacher", 0}};
  row.params = 1234;
  row.flops = 56789;
  row.model_bytes = 5000;
  row.val_accuracy = 0.875;
  row.test_accuracy = 0.8125;
  row.latency_ms = 0.25;
  row.out_dir = "/tmp/out";
  return row;
}

}  // namespace

TEST_CASE("compression runs are recorded one row each and read back in order", "[store]") {
  Dir dir;
  auto store = SqliteStore::create(dir.file("c.db"));
  const auto exp = store.create_experiment("c", nlohmann::json{{"name", "c"}});
  CHECK(store.compressions(exp).empty());
  store.record_compression(compression(exp, 3));
  auto second = compression(exp, 1);
  second.method = "prune";
  second.test_accuracy.reset();
  store.record_compression(second);
  const auto rows = store.compressions(exp);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].parent_ordinal == 3);
  CHECK(rows[0].method == "prune+distill");
  CHECK(rows[0].settings.at("prune_ratio") == 0.5);
  CHECK(rows[0].params == 1234);
  CHECK(rows[0].flops == 56789);
  CHECK(rows[0].model_bytes == 5000);
  CHECK(rows[0].val_accuracy == 0.875);
  CHECK(rows[0].test_accuracy == std::optional<double>(0.8125));
  CHECK(rows[0].latency_ms == 0.25);
  CHECK(rows[0].out_dir == "/tmp/out");
  CHECK(rows[0].created_at > 0);
  CHECK(rows[1].method == "prune");
  CHECK_FALSE(rows[1].test_accuracy);
}

TEST_CASE("a schema v3 database keeps its trials and metrics and gains compressions", "[store]") {
  Dir dir;
  const auto path = dir.file("v3.db");
  {
    auto store = SqliteStore::create(path);
    const auto exp = store.create_experiment("old", nlohmann::json{{"name", "old"}});
    const store::ControllerSnapshot state{0, {0xa0}};
    for (int i = 0; i < 2; ++i) {
      const auto id =
          store.create_trial(exp,
                             {i, "arch" + std::to_string(i), "h", nlohmann::json::object(),
                              nlohmann::json::object(), TrialKind::kNew, std::nullopt},
                             state);
      store.start_trial(id);
      TrialResult result;
      result.state = TrialState::kCompleted;
      result.val_accuracy = 0.5 + 0.25 * i;
      result.params = 100 + i;
      result.metrics["train_accuracy"] = 0.9;
      store.finish_trial(id, result, state);
    }
  }
  // What nasforge with schema v3 left: no compressions table, user_version 3.
  sql(path, std::string(kDropSchemaV4) + " PRAGMA user_version = 3;");
  auto store = SqliteStore::open(path);
  CHECK(store.schema_version() == 4);
  const auto exp = store.experiment().id;
  CHECK(store.experiment().name == "old");
  const auto trials = store.trials(exp);
  REQUIRE(trials.size() == 2);
  CHECK(trials[1].arch_canonical == "arch1");
  CHECK(trials[1].result.val_accuracy == 0.75);
  CHECK(trials[1].result.params == 101);
  CHECK(trials[1].result.metrics.at("train_accuracy") == 0.9);
  CHECK(store.best_trial(exp)->ordinal == 1);
  CHECK(store.compressions(exp).empty());
  store.record_compression(compression(exp, 1));
  CHECK(store.compressions(exp).size() == 1);
}
