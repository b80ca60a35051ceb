#pragma once
// Data-parallel training of one trial: every rank builds the same network, trains on its part of
// each global batch, and gradients are all-reduced in buckets after backward. BatchNorm
// statistics stay local to each rank (as DDP without SyncBatchNorm); validation metrics are
// summed over ranks, so every rank returns the same result. Only rank 0 saves weights.
#include <memory>
#include <optional>

#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/distributed/gradient_sync.h"
#include "trainer/distributed/process_group.h"
#include "trainer/distributed/sampler.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"
#include "trainer/training_loop.h"

namespace nasforge::trainer::distributed {

struct DataParallelOptions {
  Partition partition = Partition::kContiguous;
  std::size_t bucket_bytes = kDefaultBucketBytes;
  // Start bucket all-reduces from gradient hooks during backward. Unset: on CUDA devices (where
  // NCCL runs on its own stream, as DDP), off on the CPU, where Gloo's threads compete with
  // backward for the same cores (scaling_bench on 2 cores: 0.95x of the all-reduce after it).
  std::optional<bool> overlap;
};

// The training loop's DataParallel hooks on a DistributedContext.
class DataParallelHooks : public DataParallel {
 public:
  // Makes every rank's parameters and buffers rank 0's, so all ranks start identical.
  DataParallelHooks(DistributedContext& context, space::Network& network, std::uint64_t seed,
                    const DataParallelOptions& options = {});

  at::Tensor local_positions(const at::Tensor& batch_indices) override;
  void before_backward(std::int64_t local_size, std::int64_t global_size) override;
  void after_backward(space::Network& network, std::int64_t local_size,
                      std::int64_t global_size) override;
  void all_reduce_sum(at::Tensor& values) override;
  EvalMetrics validate(
      std::int64_t size,
      const std::function<EvalMetrics(std::int64_t, std::int64_t)>& evaluate_range) override;
  const GradientSync& gradient_sync() const { return sync_; }

 private:
  DistributedContext& context_;
  DistributedSampler sampler_;
  GradientSync sync_;
};

// Copies rank 0's parameters and buffers into every rank's `network`.
void broadcast_state(DistributedContext& context, space::Network& network);

// An Evaluator that trains data-parallel. Every rank must call evaluate() with the same
// architecture and context (seed, hparams); rank 0's on_epoch decides whether to stop early and
// the decision is broadcast. Dead peers are not a trial's failure: CollectiveError goes through.
class DataParallelEvaluator final : public Evaluator {
 public:
  DataParallelEvaluator(DistributedContext& context, const space::SearchSpace& space,
                        std::shared_ptr<const DataSplits> data, TrainConfig config,
                        DataParallelOptions options = {});

  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) override;

 private:
  DistributedContext& context_;
  const space::SearchSpace& space_;
  std::shared_ptr<const DataSplits> data_;
  TrainConfig config_;
  DataParallelOptions options_;
};

}  // namespace nasforge::trainer::distributed
