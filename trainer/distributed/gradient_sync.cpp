#include "trainer/distributed/gradient_sync.h"

#include <ATen/ATen.h>

namespace nasforge::trainer::distributed {

GradientSync::GradientSync(DistributedContext& context, std::vector<at::Tensor> parameters,
                           std::size_t bucket_bytes)
    : context_(context), parameters_(std::move(parameters)) {
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
}

void GradientSync::sync(double weight) {
  if (context_.world_size() == 1) return;
  std::vector<at::Tensor> flat;
  flat.reserve(buckets_.size());
  for (const auto& bucket : buckets_) {
    std::vector<at::Tensor> pieces;
    pieces.reserve(bucket.size());
    for (auto k : bucket) {
      auto& p = parameters_[k];
      if (!p.mutable_grad().defined()) p.mutable_grad() = at::zeros_like(p);
      pieces.push_back(p.mutable_grad().reshape({-1}));
    }
    flat.push_back(at::cat(pieces).mul_(weight));
  }
  context_.all_reduce_sum(flat);
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    std::int64_t offset = 0;
    for (auto k : buckets_[b]) {
      auto& grad = parameters_[k].mutable_grad();
      grad.copy_(flat[b].narrow(0, offset, grad.numel()).view_as(grad));
      offset += grad.numel();
    }
  }
}

}  // namespace nasforge::trainer::distributed
