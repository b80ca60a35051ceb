#include "trainer/distributed/sampler.h"

#include <ATen/ATen.h>

#include "common/errors.h"

namespace nasforge::trainer::distributed {
namespace {

// SplitMix64's finaliser: a well-mixed 64-bit hash, identical on every platform.
std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

DistributedSampler::DistributedSampler(int rank, int world_size, std::uint64_t seed,
                                       Partition partition)
    : rank_(rank), world_size_(world_size), seed_(seed), partition_(partition) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    throw ConfigError("sampler: rank " + std::to_string(rank) + " is outside the world of " +
                      std::to_string(world_size));
  }
}

std::pair<std::int64_t, std::int64_t> DistributedSampler::local_range(std::int64_t size) const {
  return {size * rank_ / world_size_, size * (rank_ + 1) / world_size_};
}

at::Tensor DistributedSampler::local_positions(const at::Tensor& batch_indices) const {
  const auto len = batch_indices.size(0);
  const auto on_host = at::TensorOptions().dtype(at::kLong);
  if (partition_ == Partition::kContiguous) {
    const auto [begin, end] = local_range(len);
    return at::arange(begin, end, on_host);
  }
  auto cpu = batch_indices.to(at::kCPU).to(at::kLong).contiguous();
  const auto* index = cpu.data_ptr<std::int64_t>();
  const auto salt = mix64(seed_);
  std::vector<std::int64_t> mine;
  for (std::int64_t i = 0; i < len; ++i) {
    const auto owner = mix64(static_cast<std::uint64_t>(index[i]) ^ salt) %
                       static_cast<std::uint64_t>(world_size_);
    if (owner == static_cast<std::uint64_t>(rank_)) mine.push_back(i);
  }
  return at::tensor(mine, on_host);
}

}  // namespace nasforge::trainer::distributed
