#include "trainer/distributed/pipeline_evaluator.h"

#include "trainer/trial_runner.h"

namespace nasforge::trainer::distributed {

PipelineEvaluator::PipelineEvaluator(DistributedContext& context, const space::SearchSpace& space,
                                     std::shared_ptr<const DataSplits> data, TrainConfig config,
                                     PipelineTraining options)
    : context_(context),
      space_(space),
      data_(std::move(data)),
      config_(std::move(config)),
      options_(options) {}

TrialResult PipelineEvaluator::evaluate(const space::Architecture& arch,
                                        const TrialContext& context) {
  TrialRun run;
  run.device = context_.device();
  run.train = [&](space::Network& network, const TrainConfig& config) {
    return train_pipelined(context_, network, *data_, config, context.seed, options_,
                           context_.is_main() ? context.on_epoch : nullptr, context.on_batch);
  };
  run.saves_weights = context_.is_main();
  run.label = "rank " + std::to_string(context_.rank());
  run.local_failure_stops_all = context_.world_size() > 1;
  run.extra["world_size"] = context_.world_size();
  run.extra["pipeline"] = {{"stages", context_.world_size()},
                           {"micro_batches", options_.micro_batches},
                           {"balance", to_string(options_.balance)}};
  return run_trial(space_, *data_, config_, arch, context, run);
}

}  // namespace nasforge::trainer::distributed
