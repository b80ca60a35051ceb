#include "trainer/distributed/data_parallel.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>

#include "common/log.h"
#include "trainer/torch_evaluator.h"

namespace nasforge::trainer::distributed {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

void broadcast_state(DistributedContext& context, space::Network& network) {
  if (context.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  for (auto& p : network.parameters()) {
    auto data = p.data();
    context.broadcast(data);
  }
  for (auto& b : network.buffers()) {
    auto data = b.data();
    context.broadcast(data);
  }
}

DataParallelHooks::DataParallelHooks(DistributedContext& context, space::Network& network,
                                     std::uint64_t seed, const DataParallelOptions& options)
    : context_(context),
      sampler_(context.rank(), context.world_size(), seed, options.partition),
      sync_(context, network.parameters(), options.bucket_bytes) {
  broadcast_state(context, network);
}

at::Tensor DataParallelHooks::local_positions(const at::Tensor& batch_indices) {
  return sampler_.local_positions(batch_indices);
}

void DataParallelHooks::after_backward(space::Network& /*network*/, std::int64_t local_size,
                                       std::int64_t global_size) {
  sync_.sync(static_cast<double>(local_size) / static_cast<double>(global_size));
}

void DataParallelHooks::all_reduce_sum(at::Tensor& values) { context_.all_reduce_sum(values); }

EvalMetrics DataParallelHooks::validate(
    std::int64_t size,
    const std::function<EvalMetrics(std::int64_t, std::int64_t)>& evaluate_range) {
  const auto [begin, end] = sampler_.local_range(size);
  const auto count = static_cast<double>(end - begin);
  const auto local = end > begin ? evaluate_range(begin, end - begin) : EvalMetrics{};
  // Sums of losses and of correct answers (a mean times its count is exact enough in double).
  auto sums = at::tensor({local.loss * count, std::round(local.accuracy * count)},
                         at::TensorOptions().dtype(at::kDouble))
                  .to(context_.device());
  context_.all_reduce_sum(sums);
  sums = sums.cpu();
  const double total = static_cast<double>(std::max<std::int64_t>(1, size));
  return {sums[0].item<double>() / total, sums[1].item<double>() / total};
}

DataParallelEvaluator::DataParallelEvaluator(DistributedContext& context,
                                             const space::SearchSpace& space,
                                             std::shared_ptr<const DataSplits> data,
                                             TrainConfig config, DataParallelOptions options)
    : context_(context),
      space_(space),
      data_(std::move(data)),
      config_(std::move(config)),
      options_(options) {}

TrialResult DataParallelEvaluator::evaluate(const space::Architecture& arch,
                                            const TrialContext& context) {
  const auto started = std::chrono::steady_clock::now();
  TrialResult result;
  const auto device = context_.device();
  try {
    const auto config = config_.with_overrides(context.hparams, "trial hparams");
    torch::manual_seed(context.seed);
    auto network = space::build_network(space_, arch, data_->shape, data_->num_classes);
    network->to(device);
    result.params = network->parameter_count();
    result.flops = network->flops();
    DataParallelHooks hooks(context_, *network, context.seed, options_);
    // Rank 0 decides whether to go on; every rank must stop at the same epoch.
    auto on_epoch = [&](const EpochRecord& record) {
      auto go_on = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(device));
      if (context_.is_main()) go_on.fill_(!context.on_epoch || context.on_epoch(record) ? 1 : 0);
      context_.broadcast(go_on);
      return go_on.cpu().item<float>() > 0.5f;
    };
    const auto outcome = train_network(*network, *data_, config, device, context.seed, on_epoch,
                                       DeviceTuning{}, &hooks);
    fill_result(result, outcome);
    result.extra["world_size"] = context_.world_size();
    if (context_.is_main() && !context.weights_path.empty() &&
        result.status == TrialStatus::kCompleted) {
      save_weights(*network, context.weights_path);
    }
  } catch (const TrainingError& e) {
    result.status = TrialStatus::kFailed;
    result.error = e.what();
  } catch (const c10::Error& e) {
    result.status = TrialStatus::kFailed;
    result.error = "LibTorch error on rank " + std::to_string(context_.rank()) + ": " +
                   first_line(e.what_without_backtrace());
  }
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

TrialLeader::TrialLeader(DistributedContext& context, const space::SearchSpace& space,
                         DataParallelEvaluator& evaluator)
    : context_(context), space_(space), evaluator_(evaluator) {
  if (!context.is_main())
    throw InternalError("TrialLeader on rank " + std::to_string(context.rank()));
}

TrialLeader::~TrialLeader() {
  try {
    finish();
  } catch (const std::exception& e) {
    log::warn(std::string("could not tell the other ranks that the search is over: ") + e.what());
  }
}

TrialResult TrialLeader::evaluate(const space::Architecture& arch, const TrialContext& context) {
  // Checked before the other ranks are told anything, so that they never start a trial that rank
  // 0 refuses (the search refuses "fidelity.continue" for data-parallel runs up front).
  if (!context.init_weights_path.empty()) {
    throw InternalError("data-parallel trials cannot continue from saved weights");
  }
  const nlohmann::json message = {{"version", 1},
                                  {"architecture", space_.to_json(arch)},
                                  {"trial_id", context.trial_id},
                                  {"seed", context.seed},
                                  {"hparams", context.hparams}};
  context_.broadcast_string(message.dump());
  return evaluator_.evaluate(arch, context);
}

void TrialLeader::finish() {
  if (finished_) return;
  finished_ = true;
  context_.broadcast_string(nlohmann::json{{"version", 1}, {"done", true}}.dump());
}

int follow_trials(DistributedContext& context, const space::SearchSpace& space,
                  DataParallelEvaluator& evaluator) {
  int count = 0;
  for (;;) {
    const auto message = nlohmann::json::parse(context.broadcast_string(""));
    if (message.at("version").get<int>() != 1) {
      throw InternalError("rank 0 sent a trial message of version " + message.at("version").dump());
    }
    if (message.value("done", false)) return count;
    TrialContext trial;
    trial.trial_id = message.at("trial_id").get<std::int64_t>();
    trial.seed = message.at("seed").get<std::uint64_t>();
    trial.hparams = message.at("hparams");
    evaluator.evaluate(space.from_json(message.at("architecture")), trial);
    ++count;
  }
}

}  // namespace nasforge::trainer::distributed
