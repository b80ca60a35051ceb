#pragma once
// Gradient all-reduce in buckets, as PyTorch's DDP does (Li et al. 2020, "PyTorch Distributed"):
// gradients are flattened into buckets of about 25 MB (in reverse parameter order, the order in
// which backward produces them), one all-reduce per bucket, all in flight at once.
#include <cstddef>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/distributed/process_group.h"

namespace nasforge::trainer::distributed {

constexpr std::size_t kDefaultBucketBytes = 25u << 20;

class GradientSync {
 public:
  // Buckets hold parameters of one dtype and device and at most `bucket_bytes` (a larger
  // parameter gets a bucket of its own).
  GradientSync(DistributedContext& context, std::vector<at::Tensor> parameters,
               std::size_t bucket_bytes = kDefaultBucketBytes);

  // Every rank's gradients become sum over ranks of (weight_r * grad_r). With weight
  // local_size / global_size this is the gradient of the mean loss over the global batch;
  // with 1 / world_size on every rank, the plain average. A parameter without a gradient counts
  // as zero (and gets one), so ranks whose shard did not reach it stay in step.
  void sync(double weight);

  // Parameter indices (into the constructor's list) of each bucket.
  const std::vector<std::vector<std::size_t>>& buckets() const { return buckets_; }

 private:
  DistributedContext& context_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::vector<std::size_t>> buckets_;
};

}  // namespace nasforge::trainer::distributed
