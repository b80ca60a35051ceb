#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/errors.h"
#include "tests/distributed/rank_files.h"
#include "tests/distributed/rank_workers.h"
#include "tests/trainer/fixtures.h"
#include "trainer/distributed/launcher.h"
#include "trainer/distributed/pipeline_evaluator.h"
#include "trainer/trial_runner.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace dist = nasforge::trainer::distributed;
namespace fs = std::filesystem;

namespace {

std::vector<std::vector<double>> read_rows(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(f, line);) {
    std::istringstream in(line);
    std::vector<double> row;
    for (double v; in >> v;) row.push_back(v);
    rows.push_back(row);
  }
  return rows;
}

// Runs `nproc` pipeline_trial_worker ranks writing under dir/rankR; throws naming a failed rank.
void run_trial_workers(int nproc, const fs::path& dir, const std::vector<std::string>& extra) {
  const auto exits = launch_rank_workers(NASFORGE_PIPELINE_TRIAL_WORKER, nproc, dir, extra);
  std::string errors;
  for (int r = 0; r < nproc; ++r)
    errors += read_text(dir / ("rank" + std::to_string(r) + ".error"));
  INFO(errors);
  REQUIRE_NOTHROW(dist::check_ranks(exits));
}

}  // namespace

TEST_CASE("a trial trained as two pipeline stages matches one stage, epoch by epoch",
          "[distributed]") {
  // 2 epochs of SGD with the cosine schedule, random crops, batch norm on micro-batch
  // statistics, a last batch smaller than the others: the curve and the weights of two Gloo
  // ranks as two stages are those of one process running the same micro-batches, bit for bit.
  const auto one = scratch("pipeline_trial_one");
  const auto two = scratch("pipeline_trial_two");
  run_trial_workers(1, one, {"--micro-batches", "4"});
  run_trial_workers(2, two, {"--micro-batches", "4"});
  const auto reference = read_rows(one / "rank0.epochs");
  REQUIRE(reference.size() == 2);
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    const auto rows = read_rows(two / ("rank" + std::to_string(r) + ".epochs"));
    REQUIRE(rows.size() == reference.size());
    for (size_t e = 0; e < rows.size(); ++e) {
      REQUIRE(rows[e].size() == 5);
      CHECK(rows[e][0] == reference[e][0]);
      // The same operations on the same values, whichever rank runs them: bit for bit.
      for (size_t c = 1; c < 5; ++c) CHECK(rows[e][c] == reference[e][c]);
    }
  }
  CHECK(reference[1][1] < reference[0][1]);  // it learned: the training loss went down
  // After training every rank holds the whole network: each stage's weights were shared.
  const auto rank0 = read_floats(two / "rank0.weights");
  const auto rank1 = read_floats(two / "rank1.weights");
  CHECK(rank0 == rank1);
  CHECK(rank0 == read_floats(one / "rank0.weights"));
  CHECK(read_text(two / "rank1.outcome") == "2 0\n");
}

TEST_CASE("two replicas of two stages train as one pipeline over the whole batch",
          "[distributed]") {
  // 4 ranks as 2 stages x 2 replicas, each replica's half of every batch of 48 in 2
  // micro-batches of 12, against 2 ranks as 2 stages with 4 micro-batches of 12: the same
  // micro-batches through the same stages (batch norm included), the replicas' gradients summed
  // by all-reduce instead of accumulated: the same training curve and parameters up to rounding.
  // Validation differs: each replica keeps its own batch-norm running statistics, as in data
  // parallelism.
  const auto pipeline = scratch("pipeline_trial_pipeline");
  const auto replicas = scratch("pipeline_trial_replicas");
  run_trial_workers(2, pipeline, {"--batch", "48", "--micro-batches", "4"});
  run_trial_workers(4, replicas, {"--batch", "48", "--micro-batches", "2", "--stages", "2"});
  const auto reference = read_rows(pipeline / "rank0.epochs");
  REQUIRE(reference.size() == 2);
  for (int r = 0; r < 4; ++r) {
    INFO("rank " << r);
    const auto rows = read_rows(replicas / ("rank" + std::to_string(r) + ".epochs"));
    REQUIRE(rows.size() == reference.size());
    for (size_t e = 0; e < rows.size(); ++e) {
      CHECK(rows[e][1] == Approx(reference[e][1]).epsilon(1e-6));  // training loss
      CHECK(rows[e][2] == reference[e][2]);                        // training accuracy
      // Validation is summed over the replicas: every rank reports the same.
      CHECK(rows[e] == read_rows(replicas / "rank0.epochs")[e]);
    }
  }
  // Within a replica every rank holds its whole network; across replicas the parameters agree.
  CHECK(read_floats(replicas / "rank0.weights") == read_floats(replicas / "rank1.weights"));
  const auto whole = read_floats(pipeline / "rank0.params");
  CHECK(max_relative_difference(read_floats(replicas / "rank0.params"), whole) < 1e-4);
  CHECK(max_relative_difference(read_floats(replicas / "rank2.params"), whole) < 1e-4);
  CHECK(max_relative_difference(read_floats(replicas / "rank2.params"),
                                read_floats(replicas / "rank0.params")) < 1e-6);
}

TEST_CASE("rank 0 asking to stop after an epoch stops every pipeline stage there",
          "[distributed]") {
  // Only rank 0's on_epoch counts: rank 1's says go on, yet both stop after epoch 1.
  const auto dir = scratch("pipeline_trial_stop");
  dist::LaunchSpec spec;
  spec.program = NASFORGE_PIPELINE_TRIAL_WORKER;
  spec.nproc = 2;
  spec.per_rank_args = {{"--stop-after", "1", "--out", (dir / "rank0").string()},
                        {"--out", (dir / "rank1").string()}};
  spec.grace = std::chrono::seconds(60);
  const auto exits = dist::launch_local(spec);
  INFO(read_text(dir / "rank0.error") + read_text(dir / "rank1.error"));
  REQUIRE_NOTHROW(dist::check_ranks(exits));
  CHECK(read_text(dir / "rank0.outcome") == "1 1\n");
  CHECK(read_text(dir / "rank1.outcome") == "1 1\n");
}

TEST_CASE("three pipeline stages balanced by parameters train the same trial", "[distributed]") {
  const auto one = scratch("pipeline_trial_one_p");
  const auto three = scratch("pipeline_trial_three");
  run_trial_workers(1, one, {"--balance", "parameters", "--micro-batches", "3"});
  run_trial_workers(3, three, {"--balance", "parameters", "--micro-batches", "3"});
  const auto reference = read_rows(one / "rank0.epochs");
  const auto rows = read_rows(three / "rank2.epochs");
  REQUIRE(rows.size() == reference.size());
  for (size_t e = 0; e < rows.size(); ++e) {
    CHECK(rows[e] == reference[e]);
  }
  CHECK(read_floats(three / "rank0.weights") == read_floats(three / "rank2.weights"));
}

TEST_CASE("the pipeline evaluator in a world of one records the trial and saves its weights",
          "[distributed]") {
  const auto data = synthetic_splits();
  const auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  dist::DistributedContext world(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  dist::PipelineTraining options;
  options.micro_batches = 2;
  dist::PipelineEvaluator evaluator(dist::PipelineRanks::whole(world), space, data, config,
                                    options);
  trainer::TrialContext context;
  context.seed = 4;
  context.weights_path = (scratch("pipeline_evaluator") / "trial.pt").string();
  int epochs_seen = 0;
  context.on_epoch = [&](const EpochRecord&) { return ++epochs_seen > 0; };
  const auto result = evaluator.evaluate(arch, context);
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(epochs_seen == 1);
  CHECK(result.epochs == 1);
  CHECK(result.val_accuracy > 0);
  CHECK(result.params > 0);
  CHECK(result.extra.at("pipeline").at("stages") == 1);
  CHECK(result.extra.at("pipeline").at("micro_batches") == 2);
  CHECK(result.extra.at("pipeline").at("balance") == "flops");
  REQUIRE(fs::exists(context.weights_path));
  // The saved weights are the trained network's: loaded into a fresh one, they give the same
  // validation accuracy as the trial reported.
  auto network = space::build_network(space, arch, data->shape, data->num_classes);
  trainer::load_weights(*network, context.weights_path);
  trainer::Normalization norm{data->mean, data->std};
  const auto metrics = trainer::evaluate_network(*network, data->validation, norm,
                                                 c10::Device(c10::kCPU), config.eval_batch_size);
  CHECK(metrics.accuracy == Approx(result.val_accuracy).epsilon(1e-6));
}

TEST_CASE("a pipelined trial that diverges is recorded failed, with the reason", "[distributed]") {
  // A zero standard deviation turns every input into inf/NaN: the loss cannot be finite.
  const auto data = synthetic_splits();
  data->std = {0.0f};
  const auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  dist::DistributedContext world(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  dist::PipelineEvaluator evaluator(dist::PipelineRanks::whole(world), space, data, config,
                                    dist::PipelineTraining{});
  trainer::TrialContext context;
  context.seed = 4;
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), context);
  CHECK(result.state == TrialState::kFailed);
  CHECK_THAT(result.error, Catch::Contains("diverged"));
}

TEST_CASE("pipeline training refuses fp16: its stages train in fp32 only", "[distributed]") {
  const auto data = synthetic_splits();
  const auto space = small_space();
  auto config = quick_config();
  config.precision = trainer::Precision::kFp16;
  dist::DistributedContext world(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  auto network = space::build_network(space, space.parse("basic-d1-w8-k3/basic-d1-w16-k3"),
                                      data->shape, data->num_classes);
  CHECK_THROWS_WITH(dist::train_pipelined(dist::PipelineRanks::whole(world), *network, *data,
                                          config, 1, dist::PipelineTraining{}, {}),
                    Catch::Contains("fp32 only"));
}

TEST_CASE("one pipeline stage of one micro-batch trains as the training loop does",
          "[distributed]") {
  // The pipeline's epoch is the training loop's: the same shuffling, crop, flip, rotation,
  // cutout and jitter draws, normalisation, warm-up and cosine schedule, label smoothing, SGD
  // with Nesterov momentum and weight decay, and validation. Whole batches through one stage
  // leave nothing to differ: the curves match, and so do the weights.
  const auto data = synthetic_splits();
  const auto space = small_space();
  auto config = quick_config();
  config.epochs = 2;
  config.batch_size = 48;
  config.warmup_epochs = 1;
  config.label_smoothing = 0.1;
  config.flip = 1;
  config.augment.rotation = 10;
  config.augment.cutout = 4;
  config.augment.brightness = 0.2;
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  auto build = [&] {
    torch::manual_seed(3);
    return space::build_network(space, arch, data->shape, data->num_classes);
  };
  const auto looped = build();
  const auto reference = trainer::train_network(*looped, *data, config, c10::Device(c10::kCPU), 3,
                                                nullptr, trainer::DeviceTuning{});
  const auto staged = build();
  dist::DistributedContext world(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  dist::PipelineTraining whole_batches;
  whole_batches.micro_batches = 1;
  const auto outcome = dist::train_pipelined(dist::PipelineRanks::whole(world), *staged, *data,
                                             config, 3, whole_batches, nullptr);
  REQUIRE(outcome.epochs.size() == reference.epochs.size());
  for (size_t e = 0; e < outcome.epochs.size(); ++e) {
    INFO("epoch " << e + 1);
    const auto& a = outcome.epochs[e];
    const auto& b = reference.epochs[e];
    CHECK(a.train_loss == Approx(b.train_loss).epsilon(1e-9));
    CHECK(a.train_accuracy == b.train_accuracy);
    CHECK(a.val_loss == Approx(b.val_loss).epsilon(1e-9));
    CHECK(a.val_accuracy == b.val_accuracy);
    CHECK(a.learning_rate == b.learning_rate);
  }
  std::vector<at::Tensor> mine, theirs;
  for (const auto& p : staged->parameters()) mine.push_back(p.detach().reshape({-1}));
  for (const auto& p : looped->parameters()) theirs.push_back(p.detach().reshape({-1}));
  CHECK(at::allclose(at::cat(mine), at::cat(theirs), 1e-6, 1e-7));
}
