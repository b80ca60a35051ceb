// `nasforge status --watch`: prints until the search ends, and at once for one that has.
#include "tests/nasforge_catch.h"

#include <chrono>
#include <future>
#include <thread>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"
#include "tests/search/trials_table_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;

namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("status --watch on a search that has ended prints once and returns at once", "[search]") {
  TempDir dir("watch-ended");
  make_hand_store(dir.file("h.db"), "x");
  store::SqliteStore::open(dir.file("h.db")).set_experiment_status(1, "completed");
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_cli("status --db " + dir.file("h.db") + " --watch --interval 60");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(seconds < 30);  // not one interval
  CHECK(count(result.output, "experiment: hand (completed)") == 1);
  CHECK(count(result.output, "refreshing") == 0);
}

TEST_CASE("status --watch prints again until the search is completed", "[search]") {
  TempDir dir("watch-running");
  make_hand_store(dir.file("h.db"), "x");  // its experiment is running
  auto watch = std::async(std::launch::async, [&] {
    return run_cli("status --db " + dir.file("h.db") + " --watch --interval 0.2");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(watch.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  store::SqliteStore::open(dir.file("h.db")).set_experiment_status(1, "completed");
  REQUIRE(watch.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  const auto result = watch.get();
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(count(result.output, "experiment: hand (running)") >= 2);
  CHECK(count(result.output, "refreshing every 0.2 s") ==
        count(result.output, "experiment: hand (running)"));
  // The last print says it ended; off a terminal the screen is never cleared.
  CHECK_THAT(result.output, Catch::EndsWith("trials: 4 of 4\n"));
  CHECK(count(result.output, "experiment: hand (completed)") == 1);
  CHECK(count(result.output, "\x1b[2J") == 0);
}
