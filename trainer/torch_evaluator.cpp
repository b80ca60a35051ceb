#include "trainer/torch_evaluator.h"

#include <ATen/Parallel.h>

#include "trainer/trial_runner.h"

namespace nasforge::trainer {

TorchEvaluator::TorchEvaluator(const space::SearchSpace& space,
                               std::shared_ptr<const DataSplits> data, TrainConfig config)
    : space_(space), data_(std::move(data)), config_(std::move(config)) {
  if (config_.threads > 0) at::set_num_threads(config_.threads);
  resolve_device(config_.device);  // a GPU this machine lacks: refused before any trial runs
}

TrialResult TorchEvaluator::evaluate(const space::Architecture& arch, const TrialContext& context) {
  TrialRun run;
  run.device = resolve_device(context.device.empty() ? config_.device : context.device);
  run.on_epoch = context.on_epoch;
  return run_trial(space_, *data_, config_, arch, context, run);
}

}  // namespace nasforge::trainer
