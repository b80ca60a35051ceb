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

// Which pieces each stage holds: the network's pieces (block_network_pieces) grouped into
// context.world_size() stages of balanced cost; stages + 1 boundaries. Throws ConfigError when
// the network has fewer pieces than there are stages.
std::vector<int> pipeline_bounds(const std::vector<PipelinePiece>& pieces,
                                 const PipelineTraining& options, const space::InputShape& input,
                                 int stages);

// Trains `network` (built from the same seed on every rank, on context.device()) with `config`
// as context.world_size() pipeline stages; every rank calls it with the same arguments. Rank 0's
// `on_epoch` decides whether to go on (the others may pass null); its decision is broadcast, so
// every rank stops after the same epoch. When training ends without an error, every stage's
// parameters and buffers are broadcast from the rank that trained them, so that every rank holds
// the whole trained network (to save it or measure it). Throws TrainingError when the loss
// diverges (every rank sees the same loss) or the network has fewer pieces than there are
// stages, ConfigError for what a pipeline does not train (fp16/bf16, a network that is not a
// block network).
TrainingOutcome train_pipelined(DistributedContext& context, space::Network& network,
                                const DataSplits& data, const TrainConfig& config,
                                std::uint64_t seed, const PipelineTraining& options,
                                const std::function<bool(const EpochRecord&)>& on_epoch,
                                const std::function<void(const BatchProgress&)>& on_batch = {});

}  // namespace nasforge::trainer::distributed
