#pragma once
// One trial from start to end, for every evaluator that trains: build the network from the
// trial's seed, continue from saved weights if asked, train, fill the result, save the weights.
// The single-process evaluator and each rank of a data-parallel one call run_trial; what differs
// between them is said by a TrialRun (as Optuna's sequential and parallel loops share _run_trial).
#include <functional>
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"
#include "trainer/training_loop.h"

namespace nasforge::trainer {

// How this process takes part in a trial.
struct TrialRun {
  c10::Device device = c10::Device(c10::kCPU);
  // Called after every epoch; false stops the trial (it ends as pruned). One process: the
  // context's on_epoch; a data-parallel rank: rank 0's decision, broadcast, so that every rank
  // stops at the same epoch. Null: never stop early.
  std::function<bool(const EpochRecord&)> on_epoch;
  // Makes the data-parallel hooks for the built network (already on the device); null: one
  // process. Every rank calls it at the same point, so it may communicate.
  std::function<std::unique_ptr<DataParallel>(space::Network&)> data_parallel;
  // Trains the built network (on the device) with the trial's config instead of train_network:
  // a pipeline's stages (trainer/distributed/pipeline_training.h). It must leave the whole
  // trained network in `network` where weights are saved or latency measured. Null:
  // train_network, with the data-parallel hooks when set.
  std::function<TrainingOutcome(space::Network& network, const TrainConfig& config)> train;
  // Whether this process writes the context's weights_path (data-parallel: rank 0 only).
  bool saves_weights = true;
  // Who ran the trial, for its error messages ("rank 3"); empty: one process.
  std::string label;
  // Merged into the extra of a trial that trained (e.g. {"world_size": 4}).
  nlohmann::json extra = nlohmann::json::object();
  // A data-parallel rank: a failure of this process alone (out of memory, a LibTorch error) is
  // thrown as a CollectiveError instead of becoming a failed result. The other ranks are inside a
  // collective waiting for this one; reporting the trial failed here alone would leave them
  // hanging or mismatch every collective after it. Thrown, this process stops, and its peers
  // stop at their next collective with an error naming it. (Divergence is agreed by every rank,
  // from the all-reduced loss, and stays a failed result.)
  bool local_failure_stops_all = false;
};

// Runs one trial of `arch` with `config` overridden by the context's hparams. The network is
// built under a process-wide lock right after torch::manual_seed(context.seed), so its initial
// weights depend on the seed alone even when trials run side by side. A trial's own failure
// (divergence, out of memory, another LibTorch error, unreadable weights) is a kFailed result
// with the reason; errors that are not the trial's (a dead peer's CollectiveError) go through.
TrialResult run_trial(const space::SearchSpace& space, const DataSplits& data,
                      const TrainConfig& config, const space::Architecture& arch,
                      const TrialContext& context, const TrialRun& run);

// Fills a result from a finished training run: completed, or pruned when it stopped early, with
// the last epoch's metrics. A new per-trial metric is one more line here.
void fill_result(TrialResult& result, const TrainingOutcome& outcome);

// The median wall-clock time of `repeats` batch-1 forward passes of `network` on the CPU in eval
// mode without gradients, in milliseconds, after one unmeasured pass (the network is moved to the
// CPU and left there, in eval mode). Threads are LibTorch's current setting.
double measure_cpu_latency_ms(space::Network& network, const space::InputShape& input,
                              int repeats = 7);

// Saves / loads a network's weights (LibTorch archive format). load_weights throws DataError
// when the file is missing or does not fit the network.
void save_weights(space::Network& network, const std::string& path);
void load_weights(space::Network& network, const std::string& path);

}  // namespace nasforge::trainer
