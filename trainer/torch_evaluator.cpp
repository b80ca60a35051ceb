#include "trainer/torch_evaluator.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/util/Exception.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/utils.h>

#include <chrono>
#include <filesystem>
#include <mutex>

#include "common/errors.h"
#include "trainer/training_loop.h"

namespace nasforge::trainer {

TorchEvaluator::TorchEvaluator(const space::SearchSpace& space,
                               std::shared_ptr<const DataSplits> data, TrainConfig config)
    : space_(space), data_(std::move(data)), config_(std::move(config)) {
  if (config_.threads > 0) at::set_num_threads(config_.threads);
}

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Parameter initialisation draws from LibTorch's global generator: trials that run side by side
// seed and build under this lock, so each network starts from its own seed alone.
std::mutex g_build_mutex;

}  // namespace

TrialResult TorchEvaluator::evaluate(const space::Architecture& arch, const TrialContext& context) {
  const auto started = std::chrono::steady_clock::now();
  TrialResult result;
  const auto device = resolve_device(context.device.empty() ? config_.device : context.device);
  try {
    const auto config = config_.with_overrides(context.hparams, "trial hparams");
    std::shared_ptr<space::Network> network;
    {
      std::lock_guard lock(g_build_mutex);
      torch::manual_seed(context.seed);
      network = space::build_network(space_, arch, data_->shape, data_->num_classes);
    }
    if (config.start_epoch > 0 && context.init_weights_path.empty()) {
      throw InternalError("a trial starting at epoch " + std::to_string(config.start_epoch + 1) +
                          " needs the weights it continues from");
    }
    if (!context.init_weights_path.empty()) {
      try {
        load_weights(*network, context.init_weights_path);
      } catch (const DataError& e) {
        // The trial fails and the search goes on (a resume would fail the same way again).
        throw TrainingError(std::string("cannot continue training: ") + e.what());
      }
    }
    result.params = network->parameter_count();
    result.flops = network->flops();
    const auto outcome =
        train_network(*network, *data_, config, device, context.seed, context.on_epoch);
    fill_result(result, outcome);
    if (!context.weights_path.empty() && result.status == TrialStatus::kCompleted) {
      save_weights(*network, context.weights_path);
    }
  } catch (const TrainingError& e) {
    result.status = TrialStatus::kFailed;
    result.error = e.what();
  } catch (const c10::OutOfMemoryError& e) {
    result.status = TrialStatus::kFailed;
    result.error =
        "out of memory on " + device.str() + ": " + first_line(e.what_without_backtrace());
  } catch (const c10::Error& e) {
    result.status = TrialStatus::kFailed;
    result.error = "LibTorch error: " + first_line(e.what_without_backtrace());
  }
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

void fill_result(TrialResult& result, const TrainingOutcome& outcome) {
  const auto& last = outcome.epochs.back();
  result.status = outcome.stopped_early ? TrialStatus::kPruned : TrialStatus::kCompleted;
  result.val_accuracy = last.val_accuracy;
  result.val_loss = last.val_loss;
  result.train_loss = last.train_loss;
  result.epochs = last.epoch;
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
