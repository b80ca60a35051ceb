#pragma once
// An Evaluator that trains each trial as pipeline stages over the ranks of a context (all ranks
// of a job, or one trial group), possibly as several replicas of the pipeline:
// trainer/distributed/pipeline_training.h. Every rank must call
// evaluate() with the same architecture and context (seed, hparams); rank 0's on_epoch decides
// whether to stop early. Rank 0 saves the weights (every rank holds the whole trained network at
// the end). A rank's own failure (out of memory, a LibTorch error) stops it with a
// CollectiveError, as in data parallelism: its peers then stop at their next send or receive.
#include <memory>

#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/distributed/pipeline_training.h"
#include "trainer/distributed/process_group.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"

namespace nasforge::trainer::distributed {

class PipelineEvaluator final : public Evaluator {
 public:
  // `ranks` (and the contexts it points to) must outlive the evaluator.
  PipelineEvaluator(PipelineRanks ranks, const space::SearchSpace& space,
                    std::shared_ptr<const DataSplits> data, TrainConfig config,
                    PipelineTraining options);

  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) override;

 private:
  PipelineRanks ranks_;
  const space::SearchSpace& space_;
  std::shared_ptr<const DataSplits> data_;
  TrainConfig config_;
  PipelineTraining options_;
};

}  // namespace nasforge::trainer::distributed
