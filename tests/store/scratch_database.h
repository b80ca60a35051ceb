#pragma once
// A scratch folder for store tests, and raw SQL on a database file (to make one look older).
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/nasforge_catch.h"

namespace nasforge::testing {

struct Dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("nasforge-store-data-" + std::to_string(::getpid()));
  Dir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// What schema v4 added; a database without it is what nasforge v3 left.
inline const char* kDropSchemaV4 = "DROP TABLE compressions;";

// What schemas v3 and v4 added; a database without it is what nasforge v2 left.
inline const char* kDropSchemaV3 =
    "DROP TABLE compressions; DROP TABLE trial_metrics; DROP TABLE writer_lease; "
    "ALTER TABLE trials DROP COLUMN kind; ALTER TABLE trials DROP COLUMN parent_ordinal;";

}  // namespace nasforge::testing
