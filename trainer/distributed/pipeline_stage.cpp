#include "trainer/distributed/pipeline_stage.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/errors.h"

namespace nasforge::trainer::distributed {
namespace {

// An activation's shape and dtype go ahead of it: a stage cannot know them before its
// predecessor has run (a block network's last micro-batch may be smaller, the widths vary).
constexpr int kHeader = 8;  // dim, dtype, up to 6 sizes
constexpr int kMaxDims = kHeader - 2;

int tag(int micro, int which) { return 4 * micro + which; }  // 0 header, 1 activation, 2 gradient

}  // namespace

std::vector<std::int64_t> micro_batch_sizes(std::int64_t batch, int micro_batches) {
  if (micro_batches < 1 || micro_batches > batch) {
    throw ConfigError("pipeline: " + std::to_string(micro_batches) +
                      " micro-batches for a batch of " + std::to_string(batch) +
                      "; use between 1 and the batch size");
  }
  std::vector<std::int64_t> sizes(micro_batches, batch / micro_batches);
  for (std::int64_t i = 0; i < batch % micro_batches; ++i) ++sizes[i];
  return sizes;
}

PipelineStage::PipelineStage(DistributedContext& context, std::vector<PipelinePiece> pieces,
                             const std::vector<int>& bounds, PipelineOptions options)
    : context_(context), options_(options), stage_(context.rank()), stages_(context.world_size()) {
  if (static_cast<int>(bounds.size()) != stages_ + 1 || bounds.front() != 0 ||
      bounds.back() != static_cast<int>(pieces.size())) {
    throw InternalError("pipeline: " + std::to_string(bounds.size()) + " bounds over " +
                        std::to_string(pieces.size()) + " pieces for " + std::to_string(stages_) +
                        " stages");
  }
  if (bounds[stage_] >= bounds[stage_ + 1]) {
    throw InternalError("pipeline: stage " + std::to_string(stage_) + " has no piece");
  }
  for (int i = bounds[stage_]; i < bounds[stage_ + 1]; ++i) pieces_.push_back(pieces[i]);
}

std::vector<at::Tensor> PipelineStage::parameters() const {
  std::vector<at::Tensor> all;
  for (const auto& piece : pieces_) {
    for (auto& p : piece.parameters()) all.push_back(p);
  }
  return all;
}

at::Tensor PipelineStage::run_pieces(const at::Tensor& x) {
  auto y = x;
  for (const auto& piece : pieces_) y = piece.forward(y);
  return y;
}

at::Tensor PipelineStage::receive_activation(int micro, const c10::Device& device) {
  auto header = at::empty({kHeader}, at::TensorOptions().dtype(at::kLong).device(device));
  context_.recv(header, stage_ - 1, tag(micro, 0));
  const auto h = header.cpu();
  const auto* v = h.data_ptr<std::int64_t>();
  if (v[0] < 1 || v[0] > kMaxDims) {
    throw InternalError("pipeline: activation header with " + std::to_string(v[0]) + " dims");
  }
  std::vector<std::int64_t> sizes(v + 2, v + 2 + v[0]);
  auto x =
      at::empty(sizes, at::TensorOptions().dtype(static_cast<at::ScalarType>(v[1])).device(device));
  context_.recv(x, stage_ - 1, tag(micro, 1));
  return x;
}

int PipelineStage::micro_batches_for(std::int64_t batch) const {
  return static_cast<int>(std::min<std::int64_t>(options_.micro_batches, batch));
}

PipelineStepResult PipelineStage::train_step(const at::Tensor& images, const at::Tensor& labels) {
  const std::int64_t batch = labels.size(0);
  const auto sizes = micro_batch_sizes(batch, micro_batches_for(batch));
  const int micro = static_cast<int>(sizes.size());
  const auto device = context_.device();
  if (is_first() && (!images.defined() || images.size(0) != batch)) {
    throw InternalError("pipeline: the first stage needs the batch's images");
  }

  std::vector<at::Tensor> inputs(micro), outputs(micro), losses(micro);
  auto correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  // Forwards, micro-batch after micro-batch; each output leaves for the next stage at once.
  std::int64_t offset = 0;
  for (int m = 0; m < micro; ++m) {
    at::Tensor x;
    if (is_first()) {
      x = images.narrow(0, offset, sizes[m]);
    } else {
      x = receive_activation(m, device).requires_grad_(true);
    }
    inputs[m] = x;
    auto y = run_pieces(x);
    if (is_last()) {
      const auto target = labels.narrow(0, offset, sizes[m]).to(device);
      // Each micro-batch's mean weighted by its share: the sum is the batch's mean loss, and
      // the accumulated gradients are the batch's.
      losses[m] = at::cross_entropy_loss(y, target, {}, at::Reduction::Mean, -100,
                                         options_.label_smoothing) *
                  (static_cast<double>(sizes[m]) / static_cast<double>(batch));
      correct += y.detach().argmax(1).eq(target).sum();
    } else {
      send_activation(y, m);
      outputs[m] = y;
    }
    offset += sizes[m];
  }
  // Backwards, last micro-batch first (the last stage finished it last); each input's gradient
  // goes back to the previous stage at once.
  for (int m = micro - 1; m >= 0; --m) {
    if (is_last()) {
      losses[m].backward();
    } else {
      auto grad = at::empty_like(outputs[m], at::MemoryFormat::Contiguous);
      context_.recv(grad, stage_ + 1, tag(m, 2));
      outputs[m].backward(grad);
      outputs[m] = at::Tensor();  // frees this micro-batch's graph
    }
    if (!is_first()) context_.send(inputs[m].grad(), stage_ - 1, tag(m, 2));
    inputs[m] = at::Tensor();
  }
  context_.wait_sends();

  double loss = 0;
  if (is_last()) {
    for (const auto& l : losses) loss += l.detach().item<double>();
  }
  return gather_result(loss, correct, batch);
}

PipelineStepResult PipelineStage::evaluate(const at::Tensor& images, const at::Tensor& labels) {
  const at::NoGradGuard no_grad;
  const std::int64_t batch = labels.size(0);
  const auto sizes = micro_batch_sizes(batch, micro_batches_for(batch));
  const auto device = context_.device();
  if (is_first() && (!images.defined() || images.size(0) != batch)) {
    throw InternalError("pipeline: the first stage needs the batch's images");
  }
  auto loss = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
  auto correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
  std::int64_t offset = 0;
  for (int m = 0; m < static_cast<int>(sizes.size()); ++m) {
    const auto x = is_first() ? images.narrow(0, offset, sizes[m]) : receive_activation(m, device);
    const auto y = run_pieces(x);
    if (is_last()) {
      const auto target = labels.narrow(0, offset, sizes[m]).to(device);
      loss += at::cross_entropy_loss(y, target, {}, at::Reduction::Sum).to(at::kDouble);
      correct += y.argmax(1).eq(target).sum();
    } else {
      send_activation(y, m);
    }
    offset += sizes[m];
  }
  context_.wait_sends();
  return gather_result(is_last() ? loss.item<double>() / static_cast<double>(batch) : 0.0, correct,
                       batch);
}

void PipelineStage::send_activation(const at::Tensor& y, int micro) {
  if (y.dim() > kMaxDims) throw InternalError("pipeline: activation of more than 6 dims");
  auto header = at::zeros({kHeader}, at::TensorOptions().dtype(at::kLong));
  auto* h = header.data_ptr<std::int64_t>();
  h[0] = y.dim();
  h[1] = static_cast<std::int64_t>(y.scalar_type());
  for (std::int64_t d = 0; d < y.dim(); ++d) h[2 + d] = y.size(d);
  context_.send(header.to(context_.device()), stage_ + 1, tag(micro, 0));
  context_.send(y.detach(), stage_ + 1, tag(micro, 1));
}

PipelineStepResult PipelineStage::gather_result(double loss, const at::Tensor& correct,
                                                std::int64_t batch) {
  // The loss and the count are known to the last stage: every stage returns them.
  auto totals = at::zeros({2}, at::TensorOptions().dtype(at::kDouble));
  if (is_last()) {
    totals[0] = loss;
    totals[1] = static_cast<double>(correct.item<std::int64_t>());
  }
  auto on_device = totals.to(context_.device());
  context_.broadcast(on_device, stages_ - 1);
  totals = on_device.cpu();
  PipelineStepResult result;
  result.loss = totals[0].item<double>();
  result.correct = static_cast<std::int64_t>(totals[1].item<double>());
  result.examples = batch;
  return result;
}

}  // namespace nasforge::trainer::distributed
