#pragma once
// Training one trial as a pipeline (trainer/distributed/pipeline_stage.h): the ranks of a
// context each hold consecutive stages of the network, and every batch goes through them as
// micro-batches (GPipe). The epoch is the training loop's (training_loop.h): the same shuffling,
// augmentation draws, normalisation and learning-rate schedule from the trial's seed, SGD with
// momentum on each stage's parameters, a validation pass per epoch; what differs is that each
// batch's gradients are accumulated over its micro-batches (batch normalisation sees
// micro-batches, as in GPipe), and training is fp32 only.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "space/modules/network.h"
#include "trainer/dataset.h"
#include "trainer/distributed/pipeline_partition.h"
#include "trainer/distributed/process_group.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"
#include "trainer/training_loop.h"

namespace nasforge::trainer::distributed {

struct PipelineTraining {
  int micro_batches = 4;  // per batch (at most the batch size)
  StageBalance balance = StageBalance::kFlops;
};

// The ranks that train one trial as pipeline stages: one pipeline over all of them, or R copies
// of it side by side (replicas, data-parallel over each global batch), R x S ranks where rank g
// holds stage g % S of replica g / S.
struct PipelineRanks {
  DistributedContext* trial = nullptr;   // every rank of the trial; its rank 0 decides to stop
  DistributedContext* stages = nullptr;  // this replica's stages (rank = stage)
  DistributedContext* replicas =
      nullptr;  // this stage in every replica (rank = replica); null: one
  // One pipeline over every rank of `trial`.
  static PipelineRanks whole(DistributedContext& trial) { return {&trial, &trial, nullptr}; }
};

// The subgroups behind PipelineRanks for `stages` stages over `trial_ranks` (global ranks of
// `world`, ascending, this rank among them): this rank's pipeline and its stage's replicas.
// Every rank of the trial calls it with the same arguments. Throws ConfigError unless `stages`
// divides the trial's ranks and is at least 2, and InternalError when it leaves one replica (use
// PipelineRanks::whole).
struct PipelineGroups {
  std::unique_ptr<DistributedContext> stages;
  std::unique_ptr<DistributedContext> replicas;
};
PipelineGroups make_pipeline_groups(const DistributedContext& world,
                                    const std::vector<int>& trial_ranks, int stages);

// Which pieces each stage holds: the network's pieces (block_network_pieces) grouped into
// `stages` stages of balanced cost; stages + 1 boundaries. Throws ConfigError when the network
// has fewer pieces than there are stages.
std::vector<int> pipeline_bounds(const std::vector<PipelinePiece>& pieces,
                                 const PipelineTraining& options, const space::InputShape& input,
                                 int stages);

// Trains `network` (built from the same seed on every rank, on the ranks' device) with `config`
// as ranks.stages->world_size() pipeline stages; every rank of the trial calls it with the same
// arguments. With replicas, each replica trains on its contiguous share of every global batch
// (of config.batch_size) in micro-batches, and each stage's gradients are those of the global
// batch's mean loss (weighted by the shares, summed over the replicas); validation is shared the
// same way. The trial's rank 0's `on_epoch` decides whether to go on (the others may pass null);
// its decision is broadcast, so every rank stops after the same epoch. When training ends
// without an error, every stage's parameters and buffers are broadcast from the rank that
// trained them within each replica, so that every rank holds the whole trained network (its
// replica's batch-norm statistics). Throws TrainingError when the loss diverges (every rank sees
// the same loss) or the network has fewer pieces than there are stages, ConfigError for what a
// pipeline does not train (fp16/bf16, a network that is not a block network).
TrainingOutcome train_pipelined(const PipelineRanks& ranks, space::Network& network,
                                const DataSplits& data, const TrainConfig& config,
                                std::uint64_t seed, const PipelineTraining& options,
                                const std::function<bool(const EpochRecord&)>& on_epoch,
                                const std::function<void(const BatchProgress&)>& on_batch = {});

}  // namespace nasforge::trainer::distributed
