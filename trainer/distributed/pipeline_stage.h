#pragma once
// Model parallelism by pipeline stages (GPipe, Huang et al. 2019), the second half: this rank's
// stage of a network and the GPipe schedule. A batch is cut into micro-batches; every stage runs
// the forward pass of all of them (stage s receives each activation from stage s - 1 and sends
// its output on at once, so stages work on different micro-batches at the same time), then the
// backward pass of all of them in reverse order (gradients of activations go back the same way),
// accumulating the parameters' gradients; the caller then takes one optimizer step per stage.
// Activations and gradients travel by c10d send/recv (DistributedContext), Gloo on CPU tensors.
//
// Stage s is rank s of the context: a job of P ranks is one network in P stages. Every rank
// builds the whole network from the same seed and keeps only its stage's pieces.
//
// Equal to training the whole network on one process with the same micro-batches and gradient
// accumulation (each micro-batch's mean loss weighted by its share of the batch), also with
// batch normalisation: each stage's batch norm sees the same micro-batches in the same order. It
// is not equal to one pass over the whole batch when batch norm is trained (statistics per
// micro-batch, as in GPipe).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/distributed/pipeline_partition.h"
#include "trainer/distributed/process_group.h"

namespace nasforge::trainer::distributed {

struct PipelineOptions {
  // Per batch; a batch smaller than this (an epoch's last) is cut into one image each. The
  // last micro-batches may be one image smaller than the first.
  int micro_batches = 4;
  double label_smoothing = 0;  // of the training loss (evaluate's stays plain cross-entropy)
};

struct PipelineStepResult {
  double loss = 0;            // the batch's mean cross-entropy (every rank)
  std::int64_t correct = 0;   // images classified right (every rank)
  std::int64_t examples = 0;  // the batch size
};

// How a batch of `batch` images is cut into `micro_batches` consecutive micro-batches: sizes
// differ by at most one, the larger first. Throws ConfigError when micro_batches is not in
// [1, batch].
std::vector<std::int64_t> micro_batch_sizes(std::int64_t batch, int micro_batches);

class PipelineStage {
 public:
  // `pieces`: the whole network's, in order; `bounds`: partition_balanced's (world_size + 1
  // entries). This rank runs pieces [bounds[rank], bounds[rank + 1]).
  PipelineStage(DistributedContext& context, std::vector<PipelinePiece> pieces,
                const std::vector<int>& bounds, PipelineOptions options);

  int stage() const { return stage_; }
  int stages() const { return stages_; }
  bool is_first() const { return stage_ == 0; }
  bool is_last() const { return stage_ + 1 == stages_; }
  // This stage's pieces and the parameters they hold (the ones this rank's optimizer steps).
  const std::vector<PipelinePiece>& pieces() const { return pieces_; }
  std::vector<at::Tensor> parameters() const;

  // One GPipe step over a batch: forwards of every micro-batch, then backwards; the gradients
  // accumulate into this stage's parameters (zero them before, step after). Only the first stage
  // reads `images` (the others may pass an undefined tensor); every stage passes `labels`, whose
  // length is the batch size, and only the last reads their values. Collective: every stage
  // calls it with the same batch size.
  PipelineStepResult train_step(const at::Tensor& images, const at::Tensor& labels);
  // The forward passes only (no gradients kept, the modules in whatever mode they are: call
  // eval() on the network for validation): the batch's mean loss and correct count on every
  // rank. Collective, as train_step.
  PipelineStepResult evaluate(const at::Tensor& images, const at::Tensor& labels);

 private:
  int micro_batches_for(std::int64_t batch) const;
  at::Tensor run_pieces(const at::Tensor& x);
  at::Tensor receive_activation(int micro, const c10::Device& device);
  void send_activation(const at::Tensor& y, int micro);
  PipelineStepResult gather_result(double loss, const at::Tensor& correct, std::int64_t batch);

  DistributedContext& context_;
  std::vector<PipelinePiece> pieces_;
  PipelineOptions options_;
  int stage_;
  int stages_;
};

}  // namespace nasforge::trainer::distributed
