#include "tests/nasforge_catch.h"

#include "store/sqlite_store.h"
#include "tests/store/scratch_database.h"

using namespace nasforge;
using nasforge::store::SqliteStore;
using nasforge::testing::Dir;

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
