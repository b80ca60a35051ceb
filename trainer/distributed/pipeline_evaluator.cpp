#include "trainer/distributed/pipeline_evaluator.h"

#include "trainer/trial_runner.h"

namespace nasforge::trainer::distributed {

PipelineEvaluator::PipelineEvaluator(PipelineRanks ranks, const space::SearchSpace& space,
                                     std::shared_ptr<const DataSplits> data, TrainConfig config,
                                     PipelineTraining options)
    : ranks_(ranks),
      space_(space),
      data_(std::move(data)),
      config_(std::move(config)),
      options_(options) {}

TrialResult PipelineEvaluator::evaluate(const space::Architecture& arch,
                                        const TrialContext& context) {
  DistributedContext& trial = *ranks_.trial;
  TrialRun run;
  run.device = trial.device();
  run.train = [&](space::Network& network, const TrainConfig& config) {
    return train_pipelined(ranks_, network, *data_, config, context.seed, options_,
                           trial.is_main() ? context.on_epoch : nullptr, context.on_batch);
  };
  run.saves_weights = trial.is_main();
  run.label = "rank " + std::to_string(trial.rank());
  run.local_failure_stops_all = trial.world_size() > 1;
  run.extra["world_size"] = trial.world_size();
  run.extra["pipeline"] = {{"stages", ranks_.stages->world_size()},
                           {"replicas", ranks_.replicas ? ranks_.replicas->world_size() : 1},
                           {"micro_batches", options_.micro_batches},
                           {"balance", to_string(options_.balance)}};
  return run_trial(space_, *data_, config_, arch, context, run);
}

}  // namespace nasforge::trainer::distributed
