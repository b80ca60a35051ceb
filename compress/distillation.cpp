#include "compress/distillation.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <string>

#include "common/errors.h"

namespace nasforge::compress {

void check_distill_options(const DistillOptions& options) {
  if (!(options.alpha >= 0 && options.alpha <= 1)) {
    throw ConfigError("--alpha " + std::to_string(options.alpha) + ": expected a number in [0, 1]");
  }
  if (!(options.temperature > 0)) {
    throw ConfigError("--temperature " + std::to_string(options.temperature) +
                      ": expected a number above 0");
  }
}

at::Tensor distillation_loss(const at::Tensor& student_logits, const at::Tensor& teacher_logits,
                             const at::Tensor& labels, const DistillOptions& options) {
  const double t = options.temperature;
  const auto log_student = at::log_softmax(student_logits / t, 1);
  const auto log_teacher = at::log_softmax(teacher_logits / t, 1);
  // KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch.
  const auto kl = (log_teacher.exp() * (log_teacher - log_student)).sum(1).mean();
  const auto ce = at::cross_entropy_loss(student_logits, labels);
  return options.alpha * t * t * kl + (1.0 - options.alpha) * ce;
}

void check_teacher_fits(const space::InputShape& teacher_shape, int teacher_classes,
                        const space::InputShape& student_shape, int student_classes) {
  auto shape = [](const space::InputShape& s) {
    return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
           std::to_string(s.width);
  };
  if (teacher_classes != student_classes) {
    throw ConfigError("teacher has " + std::to_string(teacher_classes) + " classes, the student " +
                      std::to_string(student_classes) + "; choose a teacher of the same data set");
  }
  if (shape(teacher_shape) != shape(student_shape)) {
    throw ConfigError("teacher takes " + shape(teacher_shape) + " inputs, the student " +
                      shape(student_shape) + "; choose a teacher of the same data set");
  }
}

trainer::TrainingOutcome fine_tune(space::Network& network, const trainer::DataSplits& data,
                                   const trainer::TrainConfig& config, c10::Device device,
                                   std::uint64_t seed, const FineTuneOptions& options) {
  if (options.teacher) {
    check_distill_options(options.distill);
    options.teacher->to(device);
    options.teacher->eval();
  }
  trainer::TrainingSession session(network, data, config, device, seed);
  if (options.teacher || options.sparsity > 0) {
    const auto teacher = options.teacher;
    const auto distill = options.distill;
    const double sparsity = options.sparsity;
    const auto scales = options.sparse_scales;
    const double smoothing = config.label_smoothing;
    session.set_loss(
        [=](const at::Tensor& inputs, const at::Tensor& logits, const at::Tensor& labels) {
          at::Tensor loss;
          if (teacher) {
            at::Tensor teacher_logits;
            {
              at::NoGradGuard no_grad;
              teacher_logits = teacher->forward(inputs).to(at::kFloat);
            }
            loss = distillation_loss(logits, teacher_logits, labels, distill);
          } else {
            loss = at::cross_entropy_loss(logits, labels, {}, at::Reduction::Mean, -100, smoothing);
          }
          if (sparsity > 0 && scales) {
            for (const auto& scale : scales()) loss = loss + sparsity * scale.abs().sum();
          }
          return loss;
        });
  }
  trainer::TrainingOutcome outcome;
  for (int epoch = config.start_epoch + 1; epoch <= config.epochs; ++epoch) {
    outcome.epochs.push_back(session.run_epoch());
  }
  return outcome;
}

}  // namespace nasforge::compress
