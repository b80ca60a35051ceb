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
                 std::uint64_t seed, PipelineStage& stage, DistributedContext* replicas,
                 c10::Device device)
      : network_(network),
        data_(data),
        config_(config),
        stage_(stage),
        replicas_(replicas),
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
      // This replica's share of the global batch (all of it without replicas).
      const auto [begin, count] = share(len);
      const auto index = order.narrow(0, position + begin, count);
      lr_ = learning_rate_at(config_, step_, total_steps_, warmup_steps_);
      sgd_.zero_grad();
      PipelineStepResult result;
      if (count > 0) {
        at::Tensor images;
        if (stage_.is_first()) {
          auto part = [&](const at::Tensor& t) {
            return t.defined() ? t.narrow(0, position + begin, count).to(device_) : t;
          };
          images = augmented_batch(normalizer_,
                                   data_.train.images.index_select(0, index).to(device_), augment_,
                                   padding_, part(draws.offsets), part(draws.flips), part(params));
        }
        result = stage_.train_step(images, data_.train.labels.index_select(0, index));
      }
      const auto [batch_loss, batch_correct] = combine_replicas(result, count, len);
      // Every stage has the same loss (the last one broadcasts it, the replicas sum it), so all
      // stop together.
      if (!std::isfinite(batch_loss)) {
        throw TrainingError("training diverged: loss is " + std::to_string(batch_loss) +
                            " in epoch " + std::to_string(epoch) + " (try a lower learning_rate)");
      }
      sgd_.step(lr_);
      loss_sum += batch_loss * static_cast<double>(len);
      correct += batch_correct;
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
  // [begin, begin + count) of `len` positions: this replica's contiguous share, the shares
  // differing by at most one (the larger first).
  std::pair<std::int64_t, std::int64_t> share(std::int64_t len) const {
    if (!replicas_) return {0, len};
    const std::int64_t r = replicas_->rank(), replicas = replicas_->world_size();
    const auto base = len / replicas, extra = len % replicas;
    return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
  }

  // The global batch's mean loss and correct count from this replica's (over `count` of `len`
  // images); with replicas, also turns this stage's gradients into those of the global batch's
  // mean loss: each replica's weighted by its share, summed over the replicas.
  std::pair<double, std::int64_t> combine_replicas(const PipelineStepResult& result,
                                                   std::int64_t count, std::int64_t len) {
    if (!replicas_) return {result.loss, result.correct};
    const double weight = static_cast<double>(count) / static_cast<double>(len);
    std::vector<at::Tensor> gradients;
    for (auto p : stage_.parameters()) {
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);  // an empty share
      gradients.push_back(p.grad().mul_(weight));
    }
    replicas_->all_reduce_sum(gradients);
    auto totals =
        at::tensor({result.loss * static_cast<double>(count), static_cast<double>(result.correct)},
                   at::TensorOptions().dtype(at::kDouble))
            .to(device_);
    replicas_->all_reduce_sum(totals);
    totals = totals.cpu();
    return {totals[0].item<double>() / static_cast<double>(len),
            static_cast<std::int64_t>(totals[1].item<double>())};
  }

  void validate(EpochRecord& record) {
    network_.eval();
    const auto& val = data_.validation;
    const auto [begin, n] = share(val.size());
    double loss_sum = 0;
    std::int64_t correct = 0;
    for (std::int64_t offset = 0; offset < n; offset += config_.eval_batch_size) {
      const auto start = begin + offset;
      const auto len = std::min<std::int64_t>(config_.eval_batch_size, n - offset);
      const auto images = stage_.is_first()
                              ? normalizer_.apply(val.images.narrow(0, start, len).to(device_))
                              : at::Tensor();
      const auto result = stage_.evaluate(images, val.labels.narrow(0, start, len));
      loss_sum += result.loss * static_cast<double>(len);
      correct += result.correct;
    }
    network_.train();
    if (replicas_) {
      auto totals = at::tensor({loss_sum, static_cast<double>(correct)},
                               at::TensorOptions().dtype(at::kDouble))
                        .to(device_);
      replicas_->all_reduce_sum(totals);
      totals = totals.cpu();
      loss_sum = totals[0].item<double>();
      correct = static_cast<std::int64_t>(totals[1].item<double>());
    }
    const double total = static_cast<double>(std::max<std::int64_t>(1, val.size()));
    record.val_loss = loss_sum / total;
    record.val_accuracy = static_cast<double>(correct) / total;
  }

  space::Network& network_;
  const DataSplits& data_;
  TrainConfig config_;
  PipelineStage& stage_;
  DistributedContext* replicas_;  // null: one replica
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

PipelineGroups make_pipeline_groups(const DistributedContext& world,
                                    const std::vector<int>& trial_ranks, int stages) {
  const int ranks = static_cast<int>(trial_ranks.size());
  if (stages < 2 || ranks % stages != 0) {
    throw ConfigError("parallel.pipeline.stages: " + std::to_string(stages) + " stages over " +
                      std::to_string(ranks) +
                      " ranks per trial; use at least 2 that divide the ranks");
  }
  if (stages == ranks) throw InternalError("make_pipeline_groups: one replica");
  const auto here = std::find(trial_ranks.begin(), trial_ranks.end(), world.global_rank());
  if (here == trial_ranks.end())
    throw InternalError("make_pipeline_groups: not a rank of the trial");
  const int position = static_cast<int>(here - trial_ranks.begin());
  const int replica = position / stages, stage = position % stages;
  std::vector<int> pipeline, replicas;
  for (int s = 0; s < stages; ++s) pipeline.push_back(trial_ranks[replica * stages + s]);
  for (int r = 0; r < ranks / stages; ++r) replicas.push_back(trial_ranks[r * stages + stage]);
  PipelineGroups groups;
  groups.stages = world.new_group(pipeline);
  groups.replicas = world.new_group(replicas);
  return groups;
}

TrainingOutcome train_pipelined(const PipelineRanks& ranks, space::Network& network,
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
    bounds = pipeline_bounds(pieces, options, data.shape, ranks.stages->world_size());
  } catch (const ConfigError& e) {
    // This architecture's own limit (too few blocks), the same on every rank: the trial fails.
    throw TrainingError(std::string("cannot cut the network into pipeline stages: ") + e.what());
  }
  PipelineOptions stage_options;
  stage_options.micro_batches = options.micro_batches;
  stage_options.label_smoothing = config.label_smoothing;
  PipelineStage stage(*ranks.stages, pieces, bounds, stage_options);
  PipelineEpochs epochs(network, data, config, seed, stage, ranks.replicas, ranks.stages->device());
  TrainingOutcome outcome;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    outcome.epochs.push_back(epochs.run_epoch(epoch, on_batch));
    const bool goes_on = !on_epoch || on_epoch(outcome.epochs.back());
    if (!rank0_decides(*ranks.trial, goes_on)) {
      outcome.stopped_early = epoch < config.epochs;
      break;
    }
  }
  share_stages(*ranks.stages, pieces, bounds);
  return outcome;
}

}  // namespace nasforge::trainer::distributed
