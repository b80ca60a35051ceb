#pragma once
// Prefetching of training batches for data that stays on the host (a set too large for the
// device, or a trainer asked not to copy it there): oneTBB tasks gather the next `depth` batches'
// uint8 images and labels from the host tensors, each straight into a fresh pinned buffer when
// the batches go to a GPU, while the device works on the current one. The training thread then
// only issues the non-blocking copy; PyTorch's pinned-memory cache keeps each buffer alive until
// its copy has completed, so no buffer is overwritten while a copy reads it.
//
// Augmentation (crop, flip) stays on the device: one gather kernel there is cheaper than the
// same work on the host, and the trainer draws it per sample, independent of where the batch was
// gathered. Batches come out in order and equal to index_select of the host tensors, so a seed
// trains the same with or without the prefetcher.
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

namespace nasforge::trainer {

struct HostBatch {
  at::Tensor images;  // uint8 [B, C, H, W], pinned when the prefetcher pins
  at::Tensor labels;  // int64 [B]
};

class BatchPrefetcher {
 public:
  // `images` and `labels` on the host; `depth` batches are gathered ahead by up to `workers`
  // threads; `pin`: gather into page-locked memory (needs CUDA).
  BatchPrefetcher(at::Tensor images, at::Tensor labels, int depth, int workers, bool pin);
  // Waits for nothing: a batch still being gathered keeps what it reads alive, and tasks that
  // have not started by then find the prefetcher gone and do nothing.
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // Starts an epoch: one int64 host tensor of sample indices per batch, in order. Batches of the
  // previous epoch not yet taken are dropped.
  void start_epoch(std::vector<at::Tensor> batch_indices);
  // The next batch of the epoch: gathered ahead by a worker (waits for it to finish), or here
  // when no worker has started it. Rethrows the gather's error.
  HostBatch next();
  bool exhausted() const { return taken_ == batch_indices_.size(); }

 private:
  struct Pending;
  struct Source;   // the host tensors, shared with the tasks gathering from them
  struct Workers;  // a oneTBB arena (kept out of this header)
  void submit(size_t batch);

  std::shared_ptr<const Source> source_;
  size_t depth_;
  std::unique_ptr<Workers> workers_;
  std::vector<at::Tensor> batch_indices_;
  std::deque<std::shared_ptr<Pending>> pending_;  // submitted, not yet taken, in order
  size_t submitted_ = 0, taken_ = 0;
};

}  // namespace nasforge::trainer
