#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <filesystem>

#include "trainer/torch_evaluator.h"
#include "trainer/trial_runner.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;

TEST_CASE("a trained trial stores the last epoch's train accuracy among its metrics", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.epochs = 2;
  trainer::TorchEvaluator evaluator(space, data, config);
  std::vector<EpochRecord> seen;
  trainer::TrialContext context;
  context.seed = 5;
  context.on_epoch = [&](const EpochRecord& e) {
    seen.push_back(e);
    return true;
  };
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), context);
  REQUIRE(result.state == TrialState::kCompleted);
  REQUIRE(seen.size() == 2);
  REQUIRE(result.metrics.count("train_accuracy") == 1);
  CHECK(result.metrics.at("train_accuracy") == seen.back().train_accuracy);
  CHECK(result.metrics.at("train_accuracy") > 0);
}

TEST_CASE("a process that does not save weights writes no file and adds the extra it is given",
          "[trainer]") {
  // A data-parallel rank other than 0: it trains the trial with the others but rank 0 saves.
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  const auto dir = fs::temp_directory_path() / ("nasforge-runner-" + std::to_string(::getpid()));
  trainer::TrialContext context;
  context.seed = 2;
  context.weights_path = (dir / "w.pt").string();
  trainer::TrialRun run;
  run.saves_weights = false;
  run.label = "rank 1";
  run.extra = {{"world_size", 2}};
  const auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  const auto result = trainer::run_trial(space, *data, config, arch, context, run);
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK_FALSE(fs::exists(context.weights_path));
  CHECK(result.extra.at("world_size") == 2);

  run.saves_weights = true;
  CHECK(trainer::run_trial(space, *data, config, arch, context, run).state ==
        TrialState::kCompleted);
  CHECK(fs::exists(context.weights_path));
  fs::remove_all(dir);
}

TEST_CASE("a LibTorch error in a trial is a failed result that names who ran it", "[trainer]") {
  // One output class for labels up to 9: the loss's target is out of range.
  auto data = synthetic_splits();
  data->num_classes = 1;
  auto space = small_space();
  trainer::TrialRun run;
  run.label = "rank 3";
  const auto result = trainer::run_trial(space, *data, quick_config(),
                                         space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), {}, run);
  CHECK(result.state == TrialState::kFailed);
  CHECK_THAT(result.error, Catch::StartsWith("LibTorch error on rank 3: "));
}
