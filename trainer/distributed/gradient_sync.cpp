#include "trainer/distributed/gradient_sync.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <limits>

namespace nasforge::trainer::distributed {

namespace {
constexpr auto kNoBucket = std::numeric_limits<std::size_t>::max();
}

GradientSync::GradientSync(DistributedContext& context, std::vector<at::Tensor> parameters,
                           std::size_t bucket_bytes, bool overlap)
    : context_(context),
      parameters_(std::move(parameters)),
      bucket_of_(parameters_.size(), kNoBucket),
      ready_(parameters_.size(), false) {
  std::vector<std::size_t> current;
  std::size_t bytes = 0;
  for (std::size_t k = parameters_.size(); k-- > 0;) {
    const auto& p = parameters_[k];
    if (!p.requires_grad()) continue;
    const auto size = static_cast<std::size_t>(p.numel()) * p.element_size();
    const bool compatible =
        current.empty() || (parameters_[current.front()].scalar_type() == p.scalar_type() &&
                            parameters_[current.front()].device() == p.device());
    if (!current.empty() && (!compatible || bytes + size > bucket_bytes)) {
      buckets_.push_back(std::move(current));
      current.clear();
      bytes = 0;
    }
    current.push_back(k);
    bytes += size;
  }
  if (!current.empty()) buckets_.push_back(std::move(current));
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    for (auto k : buckets_[b]) bucket_of_[k] = b;
  }
  flat_.resize(buckets_.size());
  reset_step();
  if (!overlap || context_.world_size() == 1) return;
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    if (bucket_of_[k] == kNoBucket) continue;
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
    if (!accumulator) continue;  // not a leaf: sync() starts its bucket after backward
    const auto key =
        accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, k](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list& /*inputs*/) {
              on_gradient_ready(k);
              return outputs;
            }));
    hooks_.emplace_back(std::move(accumulator), key);
  }
}

GradientSync::~GradientSync() {
  for (auto& [accumulator, key] : hooks_) accumulator->del_post_hook(key);
}

void GradientSync::reset_step() {
  armed_ = false;
  next_bucket_ = 0;
  std::fill(ready_.begin(), ready_.end(), false);
  missing_.assign(buckets_.size(), 0);
  for (std::size_t b = 0; b < buckets_.size(); ++b) missing_[b] = buckets_[b].size();
}

void GradientSync::prepare(double weight) {
  const std::lock_guard lock(mutex_);
  weight_ = weight;
  armed_ = !hooks_.empty();
}

void GradientSync::on_gradient_ready(std::size_t parameter) {
  const std::lock_guard lock(mutex_);
  if (!armed_ || ready_[parameter]) return;
  ready_[parameter] = true;
  --missing_[bucket_of_[parameter]];
  start_ready_buckets(false);
}

void GradientSync::start_ready_buckets(bool all) {
  for (; next_bucket_ < buckets_.size() && (all || missing_[next_bucket_] == 0); ++next_bucket_) {
    std::vector<at::Tensor> pieces;
    pieces.reserve(buckets_[next_bucket_].size());
    for (auto k : buckets_[next_bucket_]) {
      auto& p = parameters_[k];
      if (!p.mutable_grad().defined()) p.mutable_grad() = at::zeros_like(p);
      pieces.push_back(p.mutable_grad().reshape({-1}));
    }
    flat_[next_bucket_] = at::cat(pieces).mul_(weight_);
    context_.start_all_reduce_sum(flat_[next_bucket_]);
    ++(all ? started_after_backward_ : started_in_backward_);
  }
}

void GradientSync::sync(double weight) {
  if (context_.world_size() == 1) return;
  {
    const std::lock_guard lock(mutex_);
    weight_ = weight;
    start_ready_buckets(true);
  }
  context_.wait_started();
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    std::int64_t offset = 0;
    for (auto k : buckets_[b]) {
      auto& grad = parameters_[k].mutable_grad();
      grad.copy_(flat_[b].narrow(0, offset, grad.numel()).view_as(grad));
      offset += grad.numel();
    }
    flat_[b] = at::Tensor();
  }
  const std::lock_guard lock(mutex_);
  reset_step();
}

}  // namespace nasforge::trainer::distributed
