// Older databases open and are migrated to the current schema.
#include "tests/nasforge_catch.h"

#include "store/sqlite_store.h"
#include "tests/store/scratch_database.h"

using namespace nasforge;
using namespace nasforge::testing;
using nasforge::store::SqliteStore;

TEST_CASE("a schema v1 database opens, migrated to record data reports", "[store]") {
  Dir dir;
  const auto path = dir.file("old.db");
  {
    auto store = SqliteStore::create(path);
    store.create_experiment("old", nlohmann::json{{"name", "old"}});
  }
  // What nasforge before schema v2 left: no experiment_data table, user_version 1.
  sql(path, std::string(kDropSchemaV3) + " DROP TABLE experiment_data; PRAGMA user_version = 1;");
  auto store = SqliteStore::open(path);
  CHECK(store.schema_version() == SqliteStore::kSchemaVersion);
  const auto exp = store.experiment().id;
  CHECK(store.experiment().name == "old");
  CHECK_FALSE(store.data_report(exp).has_value());
  store.record_data_report(exp, {1, 2, 3, nlohmann::json::object(), 0});
  CHECK(store.data_report(exp)->leakage == 3);
}

TEST_CASE("a schema v2 database gets each trial's kind and parent from its changes", "[store]") {
  Dir dir;
  const auto path = dir.file("v2.db");
  {
    auto store = SqliteStore::create(path);
    const auto exp = store.create_experiment("old", nlohmann::json{{"name", "old"}});
    const store::ControllerSnapshot state{0, {0xa0}};
    for (int i = 0; i < 3; ++i) {
      std::vector<store::HparamChange> changes;
      if (i == 1) {
        changes.push_back({0, 0, "epochs", 3,
                           "promote: rank 1 of 3 at 1 epochs in bracket 0, "
                           "trial 0's architecture and hyperparameters"});
      }
      if (i == 2) changes.push_back({0, 0, "epochs", 6, "extend: 10 s left; trial 1, the best"});
      nlohmann::json hparams = {{"epochs", 1 + 2 * i}};
      if (i == 2) hparams["continue_from"] = 1;
      store.create_trial(exp,
                         {i, std::to_string(i), "h", nlohmann::json::object(), hparams,
                          TrialKind::kNew, std::nullopt},
                         state, changes);
    }
  }
  sql(path, std::string(kDropSchemaV3) + " PRAGMA user_version = 2;");
  auto store = SqliteStore::open(path);
  CHECK(store.schema_version() == SqliteStore::kSchemaVersion);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 3);
  CHECK(trials[0].kind == TrialKind::kNew);
  CHECK_FALSE(trials[0].parent);
  CHECK(trials[1].kind == TrialKind::kPromotion);
  CHECK(trials[1].parent == std::optional<std::int64_t>(0));
  CHECK(trials[2].kind == TrialKind::kExtension);
  CHECK(trials[2].parent == std::optional<std::int64_t>(1));
}

TEST_CASE("a trial's named metrics are stored one row each and read back", "[store]") {
  Dir dir;
  auto store = SqliteStore::create(dir.file("m.db"));
  const auto exp = store.create_experiment("m", nlohmann::json::object());
  const auto id = store.create_trial(exp,
                                     {0, "a", "h", nlohmann::json::object(),
                                      nlohmann::json::object(), TrialKind::kNew, std::nullopt},
                                     {0, {0xa0}});
  TrialResult result;
  result.state = TrialState::kCompleted;
  result.metrics = {{"train_accuracy", 0.75}, {"latency_ms", 3.5}};
  store.finish_trial(id, result, {1, {0xa0}});
  const auto row = store.trial(id);
  REQUIRE(row);
  CHECK(row->result.metrics.size() == 2);
  CHECK(row->result.metrics.at("train_accuracy") == Approx(0.75));
  CHECK(row->result.metrics.at("latency_ms") == Approx(3.5));
  CHECK(store.trials(exp).at(0).result.metrics.at("latency_ms") == Approx(3.5));
}
