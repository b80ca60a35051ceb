// One writer per database: a second one is refused, a dead one's lease is taken over.
#include "tests/nasforge_catch.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/errors.h"
#include "store/sqlite_store.h"
#include "store/writer_lease.h"
#include "tests/store/scratch_database.h"

using namespace nasforge;
using namespace nasforge::testing;
using nasforge::store::SqliteStore;
using nasforge::store::WriterLease;

namespace {

std::string new_database(const Dir& dir) {
  const auto path = dir.file("lease.db");
  auto store = SqliteStore::create(path);
  store.create_experiment("lease", nlohmann::json::object());
  return path;
}

// A lease row as another writer would have left it.
void plant_lease(const std::string& path, long long pid, const std::string& host,
                 double heartbeat_age) {
  const auto now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  sql(path, "INSERT OR REPLACE INTO writer_lease VALUES (1, " + std::to_string(pid) + ", '" + host +
                "', " + std::to_string(now - 100) + ", " + std::to_string(now - heartbeat_age) +
                ")");
}

double heartbeat_of(const std::string& path) {
  double value = 0;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT heartbeat_at FROM writer_lease", -1, &s, nullptr) ==
          SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW) value = sqlite3_column_double(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return value;
}

}  // namespace

TEST_CASE("a second writer is refused with the owner named, and gets in once it is gone",
          "[store]") {
  Dir dir;
  const auto path = new_database(dir);
  {
    WriterLease first(path);
    CHECK_THROWS_WITH(WriterLease(path),
                      Catch::Contains("another nasforge is writing this database (pid " +
                                      std::to_string(::getpid()) + " on " + store::host_name()));
    // Readers are not writers: the store still opens and reads.
    CHECK(SqliteStore::open(path).experiment().name == "lease");
  }
  CHECK_NOTHROW(WriterLease(path));
}

TEST_CASE("a dead owner's lease is taken over, a live one on another host is not", "[store]") {
  Dir dir;
  const auto path = new_database(dir);
  // Same host, process gone: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  ::waitpid(child, nullptr, 0);
  plant_lease(path, child, store::host_name(), 0);
  CHECK_NOTHROW(WriterLease(path));
  // Another host with a fresh heartbeat: alive as far as anyone here can tell.
  plant_lease(path, 1, "elsewhere", 2);
  CHECK_THROWS_AS(WriterLease(path), StoreError);
  // Another host whose heartbeat stopped long ago: dead.
  plant_lease(path, 1, "elsewhere", 3600);
  CHECK_NOTHROW(WriterLease(path));
}

TEST_CASE("a held lease's heartbeat moves on", "[store]") {
  Dir dir;
  const auto path = new_database(dir);
  store::LeaseOptions options;
  options.heartbeat_seconds = 0.05;
  WriterLease lease(path, options);
  const double first = heartbeat_of(path);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(heartbeat_of(path) > first);
}
