#include "trainer/distributed/data_parallel.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "common/log.h"
#include "trainer/trial_runner.h"

namespace nasforge::trainer::distributed {

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
      sync_(context, network.parameters(), options.bucket_bytes,
            options.overlap.value_or(context.device().is_cuda())) {
  broadcast_state(context, network);
}

at::Tensor DataParallelHooks::local_positions(const at::Tensor& batch_indices) {
  return sampler_.local_positions(batch_indices);
}

void DataParallelHooks::before_backward(std::int64_t local_size, std::int64_t global_size) {
  sync_.prepare(static_cast<double>(local_size) / static_cast<double>(global_size));
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
  const auto device = context_.device();
  TrialRun run;
  run.device = device;
  // Rank 0 decides whether to go on; every rank must stop at the same epoch.
  run.on_epoch = [&](const EpochRecord& record) {
    return rank0_decides(context_,
                         context_.is_main() && (!context.on_epoch || context.on_epoch(record)));
  };
  run.data_parallel = [&](space::Network& network) -> std::unique_ptr<DataParallel> {
    return std::make_unique<DataParallelHooks>(context_, network, context.seed, options_);
  };
  run.saves_weights = context_.is_main();
  run.label = "rank " + std::to_string(context_.rank());
  run.local_failure_stops_all = context_.world_size() > 1;
  run.extra["world_size"] = context_.world_size();
  return run_trial(space_, *data_, config_, arch, context, run);
}

}  // namespace nasforge::trainer::distributed
