#pragma once
// Knowledge distillation (Hinton et al. 2015): the student learns the teacher's softened outputs
// beside the labels, loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
// + (1 - alpha) * cross-entropy. The teacher's logits are computed on the fly, in eval mode and
// without gradients, on the student's device and from the same augmented batch.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "space/modules/network.h"
#include "trainer/dataset.h"
#include "trainer/train_config.h"
#include "trainer/training_loop.h"

namespace nasforge::compress {

struct DistillOptions {
  double alpha = 0.9;
  double temperature = 4.0;
};

// Throws ConfigError unless alpha is in [0, 1] and the temperature is above 0.
void check_distill_options(const DistillOptions& options);

// The mean over the batch; logits [N, classes] (float), labels [N] (int64).
at::Tensor distillation_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const at::Tensor& labels, const DistillOptions& options);

// Throws ConfigError naming both when the teacher was trained for other inputs or classes.
void check_teacher_fits(const space::InputShape& teacher_shape, int teacher_classes,
                        const space::InputShape& student_shape, int student_classes);

// What fine-tuning adds to the cross-entropy of the labels.
struct FineTuneOptions {
  // Distillation from this teacher (any network with the student's input and classes); null:
  // cross-entropy alone.
  std::shared_ptr<space::Network> teacher;
  DistillOptions distill;
  // Network slimming: sparsity * sum |scale| over the BatchNorm scales this returns (views of
  // the student's parameters, e.g. compress::ranked_batchnorm_scales). Called at every step: the
  // loop may move the parameters' data (device, memory format), which would leave views stale.
  double sparsity = 0;
  std::function<std::vector<at::Tensor>()> sparse_scales;
};

// Trains `network` in place for config.epochs with the trainer's loop (augmentation, schedule,
// precision) and this loss; returns the epochs' records.
trainer::TrainingOutcome fine_tune(space::Network& network, const trainer::DataSplits& data,
                                   const trainer::TrainConfig& config, c10::Device device,
                                   std::uint64_t seed, const FineTuneOptions& options);

}  // namespace nasforge::compress
