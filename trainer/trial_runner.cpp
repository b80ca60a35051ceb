#include "trainer/trial_runner.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/Exception.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "common/errors.h"
#include "common/first_line.h"

namespace nasforge::trainer {
namespace {

// Parameter initialisation draws from LibTorch's global generator: trials that run side by side
// seed and build under this lock, so each network starts from its own seed alone.
std::mutex g_build_mutex;

[[noreturn]] void throw_rank_failure(const std::string& error) {
  throw CollectiveError(error +
                        "; a data-parallel trial cannot go on without this rank, so it stops "
                        "(resume the run to retry the trial)");
}

std::shared_ptr<space::Network> build_seeded(const space::SearchSpace& space,
                                             const space::Architecture& arch,
                                             const DataSplits& data, std::uint64_t seed) {
  std::lock_guard lock(g_build_mutex);
  torch::manual_seed(seed);
  return space::build_network(space, arch, data.shape, data.num_classes);
}

void load_initial_weights(space::Network& network, const TrainConfig& config,
                          const TrialContext& context) {
  if (config.start_epoch > 0 && context.init_weights_path.empty()) {
    throw InternalError("a trial starting at epoch " + std::to_string(config.start_epoch + 1) +
                        " needs the weights it continues from");
  }
  if (context.init_weights_path.empty()) return;
  try {
    load_weights(network, context.init_weights_path);
  } catch (const DataError& e) {
    // The trial fails and the search goes on (a resume would fail the same way again).
    throw TrainingError(std::string("cannot continue training: ") + e.what());
  }
}

}  // namespace

TrialResult run_trial(const space::SearchSpace& space, const DataSplits& data,
                      const TrainConfig& base_config, const space::Architecture& arch,
                      const TrialContext& context, const TrialRun& run) {
  const auto started = std::chrono::steady_clock::now();
  const std::string on_whom = run.label.empty() ? "" : " on " + run.label;
  TrialResult result;
  // On a GPU, each trial runs on its device (not the thread's current one, GPU 0 by default) and
  // on a stream of its own, so trials side by side on one GPU are not serialised on one stream.
  std::optional<c10::cuda::CUDAGuard> device_guard;
  std::optional<c10::cuda::CUDAStreamGuard> stream_guard;
  if (run.device.is_cuda()) {
    device_guard.emplace(run.device.index());
    stream_guard.emplace(
        c10::cuda::getStreamFromPool(/*isHighPriority=*/false, run.device.index()));
  }
  try {
    const auto config = base_config.with_overrides(context.hparams, "trial hparams");
    const auto network = build_seeded(space, arch, data, context.seed);
    load_initial_weights(*network, config, context);
    result.params = network->parameter_count();
    result.flops = network->flops();
    // On the device before the data-parallel hooks see it: they broadcast rank 0's weights.
    network->to(run.device);
    const auto data_parallel = run.data_parallel ? run.data_parallel(*network) : nullptr;
    // Progress needs no agreement between ranks: a data-parallel follower's context has none.
    const auto outcome =
        run.train ? run.train(*network, config)
                  : train_network(*network, data, config, run.device, context.seed, run.on_epoch,
                                  DeviceTuning{}, data_parallel.get(), context.on_batch);
    fill_result(result, outcome);
    result.extra.update(run.extra);
    if (context.measure_latency && result.state != TrialState::kFailed) {
      result.metrics["latency_ms"] = measure_cpu_latency_ms(*network, data.shape);
    }
    if (run.saves_weights && !context.weights_path.empty() &&
        result.state == TrialState::kCompleted) {
      save_weights(*network, context.weights_path);
    }
  } catch (const TrainingError& e) {
    result.state = TrialState::kFailed;
    result.error = e.what();
  } catch (const c10::OutOfMemoryError& e) {
    result.state = TrialState::kFailed;
    result.error = "out of memory on " + run.device.str() +
                   (run.label.empty() ? "" : " (" + run.label + ")") + ": " +
                   first_line(e.what_without_backtrace());
    if (run.local_failure_stops_all) throw_rank_failure(result.error);
    // What the failed trial held goes back to the device, not to the allocator's cache. Only
    // here: emptyCache synchronises every device, which after every trial would stall trials
    // running side by side; a finished trial's blocks are reused from the cache by the next.
    if (run.device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
  } catch (const c10::Error& e) {
    result.state = TrialState::kFailed;
    result.error = "LibTorch error" + on_whom + ": " + first_line(e.what_without_backtrace());
    if (run.local_failure_stops_all) throw_rank_failure(result.error);
  }
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

void fill_result(TrialResult& result, const TrainingOutcome& outcome) {
  const auto& last = outcome.epochs.back();
  result.state = outcome.stopped_early ? TrialState::kPruned : TrialState::kCompleted;
  result.val_accuracy = last.val_accuracy;
  result.val_loss = last.val_loss;
  result.train_loss = last.train_loss;
  result.epochs = last.epoch;
  result.metrics["train_accuracy"] = last.train_accuracy;
}

double measure_cpu_latency_ms(space::Network& network, const space::InputShape& input,
                              int repeats) {
  if (repeats < 1) throw InternalError("measure_cpu_latency_ms: repeats < 1");
  network.to(at::kCPU);
  network.eval();
  torch::NoGradGuard no_grad;
  const auto x = at::zeros({1, input.channels, input.height, input.width});
  network.forward(x);  // the first pass allocates; it is not measured
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    network.forward(x);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::nth_element(ms.begin(), ms.begin() + repeats / 2, ms.end());
  return ms[static_cast<size_t>(repeats / 2)];
}

void save_weights(space::Network& network, const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  torch::serialize::OutputArchive archive;
  network.to(at::kCPU);
  network.save(archive);
  const auto tmp = path + ".tmp";
  archive.save_to(tmp);
  std::filesystem::rename(tmp, path);
}

void load_weights(space::Network& network, const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(path + ": weights file not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
    network.load(archive);
  } catch (const c10::Error& e) {
    throw DataError(path + ": cannot load weights (" + first_line(e.what_without_backtrace()) +
                    ")");
  }
}

}  // namespace nasforge::trainer
