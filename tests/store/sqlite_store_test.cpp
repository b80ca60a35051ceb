#include <sqlite3.h>
#include "tests/nasforge_catch.h"

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "store/sqlite_store.h"

using namespace nasforge;
using nasforge::store::SqliteStore;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("nasforge-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  static inline int counter = 0;
};

store::NewTrial new_trial(std::int64_t ordinal) {
  return {ordinal,
          "arch-" + std::to_string(ordinal),
          "hash" + std::to_string(ordinal),
          {{"decisions", {{"x", ordinal}}}},
          {{"learning_rate", 0.1}},
          TrialKind::kNew,
          std::nullopt};
}

store::ControllerSnapshot snapshot(std::int64_t step) {
  return {step, nlohmann::json::to_cbor(nlohmann::json{{"step", step}})};
}

void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("a new database records an experiment and its trials", "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  CHECK(store.schema_version() == SqliteStore::kSchemaVersion);
  const auto exp = store.create_experiment("demo", {{"name", "demo"}, {"budget", {{"trials", 3}}}});
  const auto t0 = store.create_trial(exp, new_trial(0), snapshot(0));
  store.start_trial(t0);
  store.append_epoch(t0, {1, 0.9, 0.6, 0.8, 0.65, 0.1, 1.5, 0, 0});
  store.append_epoch(t0, {2, 0.5, 0.8, 0.6, 0.75, 0.05, 1.4, 0, 0});
  TrialResult done;
  done.state = TrialState::kCompleted;
  done.val_accuracy = 0.75;
  done.params = 1234;
  done.epochs = 2;
  store.finish_trial(t0, done, snapshot(1));
  const auto t1 = store.create_trial(exp, new_trial(1), snapshot(1));
  store.start_trial(t1);
  TrialResult failed;
  failed.state = TrialState::kFailed;
  failed.error = "training diverged";
  store.finish_trial(t1, failed, snapshot(2));

  const auto trials = store.trials(exp);
  REQUIRE(trials.size() == 2);
  CHECK(trials[0].state == TrialState::kCompleted);
  CHECK(trials[0].result.val_accuracy == Approx(0.75));
  CHECK(trials[0].hparams.at("learning_rate") == 0.1);
  CHECK(trials[1].state == TrialState::kFailed);
  CHECK(trials[1].result.error == "training diverged");
  CHECK(store.epochs(t0).size() == 2);
  CHECK(store.epochs(t0)[1].val_accuracy == Approx(0.75));
  const auto best = store.best_trial(exp);
  REQUIRE(best);
  CHECK(best->id == t0);
  const auto state = store.controller_state(exp);
  REQUIRE(state);
  CHECK(state->step == 2);
  CHECK(nlohmann::json::from_cbor(state->cbor).at("step") == 2);
  CHECK(store.experiment().name == "demo");
}

TEST_CASE("a finished trial is never changed", "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  const auto t = store.create_trial(exp, new_trial(0), snapshot(0));
  TrialResult done;
  done.state = TrialState::kCompleted;
  store.finish_trial(t, done, snapshot(1));
  CHECK_THROWS_WITH(store.finish_trial(t, done, snapshot(2)), Catch::Contains("already completed"));
  CHECK_THROWS_AS(store.reset_trial(t), StoreError);
  // The failed transaction left the controller state as it was.
  CHECK(store.controller_state(exp)->step == 1);
}

TEST_CASE("an ordinal is recorded once per experiment", "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  store.create_trial(exp, new_trial(0), snapshot(0));
  CHECK_THROWS_AS(store.create_trial(exp, new_trial(0), snapshot(5)), StoreError);
  CHECK(store.trials(exp).size() == 1);
  CHECK(store.controller_state(exp)->step == 0);  // rolled back with the insert
}

TEST_CASE("resetting an interrupted trial drops its partial curve", "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  const auto t = store.create_trial(exp, new_trial(0), snapshot(0),
                                    {{0, 0, "learning_rate", 0.1, "pbt: sampled"}});
  store.start_trial(t);
  store.append_epoch(t, {1, 0.9, 0.6, 0.8, 0.65, 0.1, 1.5, 0, 0});
  store.record_hparam_change({t, 1, "learning_rate", 0.05, "plateau"});
  store.reset_trial(t);
  CHECK(store.trial(t)->state == TrialState::kPending);
  CHECK(store.epochs(t).empty());
  // The change made while it trained is dropped; the one it was created with stays.
  const auto changes = store.hparam_changes(exp);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].trial_id == t);
  CHECK(changes[0].reason == "pbt: sampled");
}

TEST_CASE("hyperparameter changes are recorded with step and reason", "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  const auto t = store.create_trial(exp, new_trial(0), snapshot(0));
  store.record_hparam_change({t, 3, "learning_rate", 0.01, "plateau for 2 epochs"});
  store.record_hparam_change({0, 0, "batch_size", 256, "population exploit"});
  const auto changes = store.hparam_changes(exp);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].trial_id == t);
  CHECK(changes[0].epoch == 3);
  CHECK(changes[0].reason == "plateau for 2 epochs");
  CHECK(changes[1].trial_id == 0);
  CHECK(changes[1].value == 256);
}

TEST_CASE("the store reopens what it wrote", "[store]") {
  TempDir dir;
  const auto path = dir.file("a.db");
  {
    auto store = SqliteStore::create(path);
    const auto exp = store.create_experiment("persist", {{"k", 1}});
    store.create_trial(exp, new_trial(0), snapshot(7));
  }
  auto store = SqliteStore::open(path);
  CHECK(store.experiment().config.at("k") == 1);
  CHECK(store.trials(store.experiment().id).size() == 1);
  CHECK(store.controller_state(store.experiment().id)->step == 7);
}

TEST_CASE("the store refuses files that are not its databases", "[store]") {
  TempDir dir;
  CHECK_THROWS_WITH(SqliteStore::open(dir.file("missing.db")), Catch::Contains("no such database"));

  const auto text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text that is long enough to matter\n";
  CHECK_THROWS_WITH(SqliteStore::open(text), Catch::Contains("not a nasforge database"));

  const auto other = dir.file("other.db");
  raw_sql(other, "CREATE TABLE people (name TEXT)");
  CHECK_THROWS_WITH(SqliteStore::open(other), Catch::Contains("made by another program"));

  const auto newer = dir.file("newer.db");
  { SqliteStore::create(newer); }
  raw_sql(newer, "PRAGMA user_version = 99");
  CHECK_THROWS_WITH(SqliteStore::open(newer), Catch::Contains("newer than this nasforge reads"));

  const auto existing = dir.file("existing.db");
  { SqliteStore::create(existing); }
  CHECK_THROWS_WITH(SqliteStore::create(existing), Catch::Contains("already exists"));
}

TEST_CASE("a trial's hyperparameter changes are recorded in the trial's own transaction",
          "[store]") {
  TempDir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  const std::vector<store::HparamChange> changes = {{0, 0, "learning_rate", 0.2, "explore"},
                                                    {0, 0, "epochs", 12, "rung 12 epochs"}};
  const auto t = store.create_trial(exp, new_trial(0), snapshot(0), changes);
  auto recorded = store.hparam_changes(exp);
  REQUIRE(recorded.size() == 2);
  CHECK(recorded[0].trial_id == t);
  CHECK(recorded[1].name == "epochs");
  // A trial that cannot be recorded (duplicate ordinal) leaves no orphan changes behind.
  CHECK_THROWS_AS(store.create_trial(exp, new_trial(0), snapshot(1), changes), StoreError);
  CHECK(store.hparam_changes(exp).size() == 2);
}
