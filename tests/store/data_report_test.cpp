#include <sqlite3.h>
#include "tests/nasforge_catch.h"

#include <filesystem>

#include "store/sqlite_store.h"

using namespace nasforge;
using nasforge::store::SqliteStore;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("nasforge-store-data-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("an experiment's data report is recorded, replaced on resume, and read back", "[store]") {
  Dir dir;
  auto store = SqliteStore::create(dir.file("a.db"));
  const auto exp = store.create_experiment("demo", nlohmann::json::object());
  CHECK_FALSE(store.data_report(exp).has_value());
  store::DataReportRow row;
  row.skipped_files = 3;
  row.duplicates_dropped = 12;
  row.leakage = 2;
  row.details = {{"skipped", {{{"file", "cats/x.jpg"}, {"reason", "truncated JPEG"}}}}};
  store.record_data_report(exp, row);
  auto back = store.data_report(exp);
  REQUIRE(back.has_value());
  CHECK(back->skipped_files == 3);
  CHECK(back->duplicates_dropped == 12);
  CHECK(back->leakage == 2);
  CHECK(back->details.at("skipped")[0].at("reason") == "truncated JPEG");
  CHECK(back->recorded_at > 0);
  row.skipped_files = 0;
  store.record_data_report(exp, row);
  CHECK(store.data_report(exp)->skipped_files == 0);
}

TEST_CASE("a schema v1 database opens, migrated to record data reports", "[store]") {
  Dir dir;
  const auto path = dir.file("old.db");
  {
    auto store = SqliteStore::create(path);
    store.create_experiment("old", nlohmann::json{{"name", "old"}});
  }
  // What nasforge before schema v2 left: no experiment_data table, user_version 1.
  sql(path, "DROP TABLE experiment_data; PRAGMA user_version = 1;");
  auto store = SqliteStore::open(path);
  CHECK(store.schema_version() == SqliteStore::kSchemaVersion);
  const auto exp = store.experiment().id;
  CHECK(store.experiment().name == "old");
  CHECK_FALSE(store.data_report(exp).has_value());
  store.record_data_report(exp, {1, 2, 3, nlohmann::json::object(), 0});
  CHECK(store.data_report(exp)->leakage == 3);
}
