#pragma once
// Gradient all-reduce in buckets, as PyTorch's DDP does (Li et al. 2020, "PyTorch Distributed"):
// gradients are flattened into buckets of about 25 MB (in reverse parameter order, the order in
// which backward produces them), one all-reduce per bucket. With overlap on (the default), a
// hook on each parameter's gradient accumulator starts a bucket's all-reduce as soon as backward
// has produced all of its gradients, so communication runs while backward computes the rest;
// buckets start in order on every rank (bucket b only after buckets 0..b-1), so the ranks' c10d
// collectives match. Without overlap, every bucket starts after backward.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/distributed/process_group.h"

namespace torch::autograd {
struct Node;
}

namespace nasforge::trainer::distributed {

constexpr std::size_t kDefaultBucketBytes = 25u << 20;

class GradientSync {
 public:
  // Buckets hold parameters of one dtype and device and at most `bucket_bytes` (a larger
  // parameter gets a bucket of its own).
  GradientSync(DistributedContext& context, std::vector<at::Tensor> parameters,
               std::size_t bucket_bytes = kDefaultBucketBytes, bool overlap = true);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before backward, with the weight sync() will get: lets the hooks start buckets during it.
  void prepare(double weight);
  // Every rank's gradients become sum over ranks of (weight_r * grad_r). With weight
  // local_size / global_size this is the gradient of the mean loss over the global batch;
  // with 1 / world_size on every rank, the plain average. A parameter without a gradient counts
  // as zero (and gets one), so ranks whose shard did not reach it stay in step. Starts the
  // buckets the hooks have not started, waits for all, and writes the sums back.
  void sync(double weight);

  // Parameter indices (into the constructor's list) of each bucket.
  const std::vector<std::vector<std::size_t>>& buckets() const { return buckets_; }
  // Bucket all-reduces started by the hooks while backward was still running, and by sync()
  // after it, since construction.
  std::int64_t started_in_backward() const { return started_in_backward_; }
  std::int64_t started_after_backward() const { return started_after_backward_; }

 private:
  void on_gradient_ready(std::size_t parameter);
  // Starts every bucket from next_bucket_ on whose gradients are all ready (all of them when
  // `all`); the caller holds mutex_.
  void start_ready_buckets(bool all);
  void reset_step();

  DistributedContext& context_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::vector<std::size_t>> buckets_;
  std::vector<std::size_t> bucket_of_;  // per parameter; npos when it has no gradient

  std::mutex mutex_;  // the hooks run on autograd's threads
  bool armed_ = false;
  double weight_ = 1;
  std::vector<bool> ready_;               // per parameter, this step
  std::vector<std::size_t> missing_;      // per bucket: gradients not ready yet
  std::vector<at::Tensor> flat_;          // per bucket: the started all-reduce's buffer
  std::size_t next_bucket_ = 0;           // buckets before it have started
  std::int64_t started_in_backward_ = 0;  // counts for tests and benches
  std::int64_t started_after_backward_ = 0;
  // The accumulators carrying our hooks, kept alive (a parameter holds its accumulator only
  // weakly), and the hooks' keys, removed on destruction.
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, std::uintptr_t>> hooks_;
};

}  // namespace nasforge::trainer::distributed
