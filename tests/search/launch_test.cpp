#include "tests/nasforge_catch.h"

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;

TEST_CASE("launch --nproc 2 runs one data-parallel search and records each trial once",
          "[search][distributed]") {
  TempDir dir("cli-launch");
  const auto config = write_json(dir, "tiny.json", tiny_fashion_experiment(2, 1));
  const auto db = dir.file("launch.db");
  const auto result = run_cli("launch --nproc 2 " + config + " --db " + db);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("data-parallel over 2 ranks"));
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(store.epochs(t.id).size() == 1);
  }
  // Only rank 0 wrote: a second rank writing would have duplicated or failed the ordinals.
  CHECK(trials[0].ordinal == 0);
  CHECK(trials[1].ordinal == 1);
}

TEST_CASE("launch fails with the rank named when the input is bad", "[search][distributed]") {
  TempDir dir("cli-launch-bad");
  const auto result =
      run_cli("launch --nproc 2 " + dir.file("missing.json") + " --db " + dir.file("x.db"));
  CHECK(result.exit_code != 0);
  CHECK_THAT(result.output, Catch::Contains("rank 0"));
}
