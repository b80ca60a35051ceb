#pragma once
// Which samples each rank trains on. Every rank shuffles the training set the same way each epoch
// (the training loop's permutation, from the same seed on every rank) and takes its disjoint part
// of each global batch, so the ranks together see exactly the batches a single process would.
#include <cstdint>
#include <utility>

#include <ATen/core/Tensor.h>

namespace nasforge::trainer::distributed {

enum class Partition {
  kContiguous,  // rank r takes the r-th of world_size near-equal slices of each global batch
  kHash,        // a sample always goes to the rank its index hashes to (sizes vary per batch)
};

class DistributedSampler {
 public:
  // Throws ConfigError for a rank outside [0, world_size).
  DistributedSampler(int rank, int world_size, std::uint64_t seed,
                     Partition partition = Partition::kContiguous);

  // This rank's part of a global batch whose sample indices are `batch_indices` (int64): the
  // positions in the batch, ascending, int64 on the host; may be empty.
  at::Tensor local_positions(const at::Tensor& batch_indices) const;
  // This rank's contiguous slice [begin, end) of `size` items (for sharding an evaluation set).
  std::pair<std::int64_t, std::int64_t> local_range(std::int64_t size) const;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

 private:
  int rank_;
  int world_size_;
  std::uint64_t seed_;
  Partition partition_;
};

}  // namespace nasforge::trainer::distributed
