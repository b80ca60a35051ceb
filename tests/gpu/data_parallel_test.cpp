// Data parallelism over NCCL with fp16 through the real binary: `nasforge launch --nproc 2` on two
// GPUs. On a machine with one GPU the test says so and checks nothing (NCCL needs one GPU a rank).
#include "tests/nasforge_catch.h"

#include <torch/cuda.h>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;

TEST_CASE("launch --nproc 2 trains fp16 trials data-parallel over NCCL", "[gpu][distributed]") {
  if (torch::cuda::device_count() < 2) {
    WARN("needs 2 GPUs, this machine has " << torch::cuda::device_count() << ": not checked");
    return;
  }
  TempDir dir("gpu-launch");
  auto experiment = tiny_fashion_experiment(2, 2);
  experiment["training"]["device"] = "cuda";
  experiment["training"]["precision"] = "fp16";
  const auto config = write_json(dir, "tiny.json", experiment);
  const auto db = dir.file("launch.db");
  const auto result = run_cli("launch --nproc 2 " + config + " --db " + db);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    CHECK(t.state == TrialState::kCompleted);
    CHECK(t.result.val_accuracy > 0.5);
  }
}
