#include "trainer/distributed/pipeline_training.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/errors.h"
#include "trainer/augment.h"
#include "trainer/distributed/pipeline_stage.h"
#include "trainer/sgd.h"
#include "trainer/training_inputs.h"

namespace nasforge::trainer::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// Every stage's parameters and buffers from the rank that trained them, to every rank.
void share_stages(DistributedContext& context, const std::vector<PipelinePiece>& pieces,
                  const std::vector<int>& bounds) {
  const at::NoGradGuard no_grad;
  for (int stage = 0; stage + 1 < static_cast<int>(bounds.size()); ++stage) {
    for (int i = bounds[stage]; i < bounds[stage + 1]; ++i) {
      for (const auto& module : pieces[i].modules) {
        for (auto tensor : module->parameters()) context.broadcast(tensor, stage);
        for (auto tensor : module->buffers()) context.broadcast(tensor, stage);
      }
    }
  }
}

class PipelineEpochs {
 public:
  PipelineEpochs(space::Network& network, const DataSplits& data, const TrainConfig& config,
                 std::uint64_t seed, PipelineStage& stage, c10::Device device)
      : network_(network),
        data_(data),
        config_(config),
        stage_(stage),
        device_(device),
        padding_(effective_crop_padding(config, data)),
        flip_(effective_flip(config, data)),
        augment_(effective_augmentation(config.augment, data.shape.channels)),
        normalizer_(data.mean, data.std, device_),
        gen_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        n_(data.train.size()),
        sgd_(stage.parameters(),
             SgdOptions{config.momentum, config.nesterov, config.weight_decay}) {
    steps_per_epoch_ = (n_ + config_.batch_size - 1) / config_.batch_size;
    total_steps_ = steps_per_epoch_ * config_.epochs;
    warmup_steps_ = steps_per_epoch_ * config_.warmup_epochs;
  }

  EpochRecord run_epoch(int epoch, const std::function<void(const BatchProgress&)>& on_batch) {
    const auto started = Clock::now();
    network_.train();
    // The training loop's draws, in its order, so a seed shuffles and augments the same.
    const auto order = at::randperm(n_, gen_, at::kLong);
    const auto draws = draw_augmentation(n_, padding_, flip_, gen_);
    const auto params =
        draw_image_augmentation(n_, augment_, data_.shape.height, data_.shape.width, gen_);
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t position = 0; position < n_; position += config_.batch_size) {
      const auto len = std::min<std::int64_t>(config_.batch_size, n_ - position);
      const auto index = order.narrow(0, position, len);
      at::Tensor images;
      if (stage_.is_first()) {
        auto part = [&](const at::Tensor& t) {
          return t.defined() ? t.narrow(0, position, len).to(device_) : t;
        };
        images = augmented_batch(normalizer_, data_.train.images.index_select(0, index).to(device_),
                                 augment_, padding_, part(draws.offsets), part(draws.flips),
                                 part(params));
      }
      lr_ = learning_rate_at(config_, step_, total_steps_, warmup_steps_);
      sgd_.zero_grad();
      const auto result = stage_.train_step(images, data_.train.labels.index_select(0, index));
      // Every stage has the same loss (the last one broadcasts it), so all stop together.
      if (!std::isfinite(result.loss)) {
        throw TrainingError("training diverged: loss is " + std::to_string(result.loss) +
                            " in epoch " + std::to_string(epoch) + " (try a lower learning_rate)");
      }
      sgd_.step(lr_);
      loss_sum += result.loss * static_cast<double>(len);
      correct += result.correct;
      ++step_;
      if (on_batch) {
        BatchProgress progress;
        progress.epoch = epoch;
        progress.epochs = config_.epochs;
        progress.batch = position / config_.batch_size + 1;
        progress.batches = steps_per_epoch_;
        progress.images = position + len;
        progress.total_images = n_;
        progress.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        on_batch(progress);
      }
    }
    EpochRecord record;
    record.epoch = epoch;
    const double n = static_cast<double>(std::max<std::int64_t>(1, n_));
    record.train_loss = loss_sum / n;
    record.train_accuracy = static_cast<double>(correct) / n;
    validate(record);
    record.learning_rate = lr_;
    record.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return record;
  }

 private:
  void validate(EpochRecord& record) {
    network_.eval();
    const auto& val = data_.validation;
    const auto n = val.size();
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t start = 0; start < n; start += config_.eval_batch_size) {
      const auto len = std::min<std::int64_t>(config_.eval_batch_size, n - start);
      const auto images = stage_.is_first()
                              ? normalizer_.apply(val.images.narrow(0, start, len).to(device_))
                              : at::Tensor();
      const auto result = stage_.evaluate(images, val.labels.narrow(0, start, len));
      loss_sum += result.loss * static_cast<double>(len);
      correct += result.correct;
    }
    network_.train();
    const double total = static_cast<double>(std::max<std::int64_t>(1, n));
    record.val_loss = loss_sum / total;
    record.val_accuracy = static_cast<double>(correct) / total;
  }

  space::Network& network_;
  const DataSplits& data_;
  TrainConfig config_;
  PipelineStage& stage_;
  c10::Device device_;
  int padding_;
  bool flip_;
  Augmentation augment_;
  PixelNormalizer normalizer_;
  at::Generator gen_;
  std::int64_t n_;
  FusedSgd sgd_;
  std::int64_t steps_per_epoch_ = 0, total_steps_ = 0, warmup_steps_ = 0, step_ = 0;
  double lr_ = 0;
};

}  // namespace

std::vector<int> pipeline_bounds(const std::vector<PipelinePiece>& pieces,
                                 const PipelineTraining& options, const space::InputShape& input,
                                 int stages) {
  return partition_balanced(piece_costs(pieces, options.balance, input), stages);
}

TrainingOutcome train_pipelined(DistributedContext& context, space::Network& network,
                                const DataSplits& data, const TrainConfig& config,
                                std::uint64_t seed, const PipelineTraining& options,
                                const std::function<bool(const EpochRecord&)>& on_epoch,
                                const std::function<void(const BatchProgress&)>& on_batch) {
  if (config.precision != Precision::kFp32) {
    throw ConfigError("pipeline stages train in fp32 only, not " + to_string(config.precision));
  }
  if (config.start_epoch != 0) {
    throw InternalError("a pipelined trial cannot continue from saved weights");
  }
  auto pieces = block_network_pieces(network);
  std::vector<int> bounds;
  try {
    bounds = pipeline_bounds(pieces, options, data.shape, context.world_size());
  } catch (const ConfigError& e) {
    // This architecture's own limit (too few blocks), the same on every rank: the trial fails.
    throw TrainingError(std::string("cannot cut the network into pipeline stages: ") + e.what());
  }
  PipelineOptions stage_options;
  stage_options.micro_batches = options.micro_batches;
  stage_options.label_smoothing = config.label_smoothing;
  PipelineStage stage(context, pieces, bounds, stage_options);
  PipelineEpochs epochs(network, data, config, seed, stage, context.device());
  TrainingOutcome outcome;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    outcome.epochs.push_back(epochs.run_epoch(epoch, on_batch));
    const bool goes_on = !on_epoch || on_epoch(outcome.epochs.back());
    if (!rank0_decides(context, goes_on)) {
      outcome.stopped_early = epoch < config.epochs;
      break;
    }
  }
  share_stages(context, pieces, bounds);
  return outcome;
}

}  // namespace nasforge::trainer::distributed
